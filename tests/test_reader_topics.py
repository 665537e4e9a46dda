"""Topics and threads as places: `/subscribe <what> topic new` opens a Telegram forum topic
(or, `thread new`, a Discord thread) named after it and posts there; a topic or thread that
is closed, archived or deleted falls back to its chat's general place, which is told.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.errors import UsageError
from handlers.subscriptions import Start, split_suffixes
from tests.factories import add_piece, open_core
from tests.test_discord_adapter import answer, bot
from tests.test_discord_adapter import fake as discord_fake  # noqa: F401
from tests.test_telegram_e2e import fake as telegram_fake  # noqa: F401
from tests.test_telegram_e2e import running


def test_suffixes_in_either_order() -> None:
    assert split_suffixes("demo") == ("demo", None, False)
    assert split_suffixes("demo topic new") == ("demo", None, True)
    assert split_suffixes("author Jane Roe topic new last 3") == ("author Jane Roe", Start(3), True)
    assert split_suffixes("demo last 2 thread new") == ("demo", Start(2), True)
    assert split_suffixes("demo new only") == ("demo", Start(0), False)
    with pytest.raises(UsageError):
        split_suffixes("demo topic new last 99")


async def test_fall_back_moves_subscriptions_and_waiting_posts(store) -> None:
    source = await store.add_source("views", "https://views.example/feed.xml")
    general = await store.ensure_chat("telegram", "-100", kind="group")
    topic = await store.ensure_chat("telegram", "-100", kind="thread", thread_id="7")
    other_topic = await store.ensure_chat("telegram", "-100", kind="thread", thread_id="8")
    await store.add_subscription(topic.id, "source", "views", source_id=source.id)
    await store.add_subscription(topic.id, "author", "Ada Writer")
    await store.add_subscription(general.id, "author", "ada writer")  # already there
    from tests.test_storage_backends import draft

    piece = (await store.save_piece(draft(source_id=source.id))).piece_id
    sub = (await store.list_subscriptions(topic.id))[0]
    assert await store.queue_backfill(topic.id, sub.id, [piece]) == 1
    moved = await store.fall_back(topic.id, general.id, "TOPIC_CLOSED")
    assert moved == ["source views"]
    assert sorted(s.target for s in await store.list_subscriptions(general.id)) == [
        "ada writer",
        "views",
    ]
    assert await store.list_subscriptions(topic.id) == []
    [(delivery, chat)] = await store.claim_due("telegram")
    assert (delivery.piece_id, chat.id) == (piece, general.id)
    gone = await store.get_chat_by_id(topic.id)
    assert not gone.active and gone.inactive_reason == "TOPIC_CLOSED"
    # Only that topic: the group and its other topics keep posting.
    assert (await store.get_chat_by_id(general.id)).active
    assert (await store.get_chat_by_id(other_topic.id)).active


async def test_terminal_chat_has_no_topics(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("views", "https://views.example/feed.xml")
        out = io.StringIO()
        console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
        await console.chat()
        await console.answer("/subscribe views topic new")
        await console.answer("/subscriptions")
    assert (
        "! Topics are for Telegram forum groups and threads for Discord channels" in out.getvalue()
    )
    assert "This chat follows nothing yet" in out.getvalue()


async def test_telegram_topic_per_source_and_fallback(tmp_path: Path, telegram_fake) -> None:  # noqa: F811
    fake = telegram_fake
    admin = fake.add_user(20, "Admin")
    forum = fake.add_group(-100800, "Forum", forum=True, admins=(20,), bot_status="administrator")
    plain = fake.add_group(-100900, "Plain", admins=(20,), bot_status="administrator")
    async with running(tmp_path, fake) as (_, core):
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        fake.push_command(plain, admin, "/subscribe demo topic new")
        [refused] = await fake.wait_sent(1, chat_id=-100900)
        forum.bot_can_manage_topics = False
        fake.push_command(forum, admin, "/subscribe demo topic new")
        [no_right] = await fake.wait_sent(1, chat_id=-100800)
        forum.bot_can_manage_topics = True
        fake.push_command(forum, admin, "/subscribe demo topic new")
        ack = (await fake.wait_sent(2, chat_id=-100800))[1]
        [(thread_id, state)] = forum.topics.items()
        await add_piece(core, title="Into the topic", source="demo")
        post = (await fake.wait_sent(3, chat_id=-100800))[2]
        # An admin closes the topic: the next post goes to the general place, with a note
        # (a few seconds apart: the worker keeps to Telegram's 20 posts a minute in a group).
        fake.close_topic(forum, thread_id)
        await add_piece(core, title="After the close", source="demo")
        await fake.wait_until(
            lambda: any("After the close" in m.plain for m in fake.messages(-100800)), 20
        )
        await fake.wait_until(lambda: any("closed" in m.plain for m in fake.messages(-100800)), 20)
        later = [m for m in fake.messages(-100800)[3:]]
        general = await core.services.store.get_chat("telegram", "-100800")
        subs = await core.services.store.list_subscriptions(general.id)
    assert "This group has no topics" in refused.plain
    assert "make me an administrator with the right to manage topics" in no_right.plain
    assert "to the new topic “demo”" in ack.plain and ack.thread_id is None
    assert state == "open" and post.thread_id == thread_id and "Into the topic" in post.plain
    moved = next(m for m in later if "After the close" in m.plain)
    note = next(m for m in later if "closed" in m.plain)
    assert moved.thread_id is None and note.thread_id is None
    assert "the topic “demo” is closed, archived or deleted" in note.plain
    assert "source demo" in note.plain
    assert [s.target for s in subs] == ["demo"]


async def test_discord_thread_per_source_and_fallback(tmp_path: Path, discord_fake) -> None:  # noqa: F811
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        iid = await fake.slash(
            channel, "subscribe", {"what": "demo", "place": "thread new"}, admin=True
        )
        [ack] = await answer(fake, iid)
        [thread] = guild.threads
        await add_piece(core, title="Into the thread", source="demo")
        await fake.wait_for(lambda: len(fake.messages(thread["id"])) >= 1)
        fake.archive_thread(thread)
        await add_piece(core, title="After archiving", source="demo")
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 2)
        in_channel = fake.messages(channel["id"])
        # A thread someone else made: subscribing in it remembers its channel, so deleting
        # it brings its posts back to the channel too.
        user_thread = fake.add_thread(guild, channel, "talk")
        iid = await fake.slash(user_thread, "subscribe", {"what": "author Test Author"}, admin=True)
        await answer(fake, iid)
        fake.delete_thread(user_thread)
        await add_piece(core, title="After deleting", source="other", authors=["Test Author"])
        await fake.wait_for(
            lambda: any(
                "After deleting" in e.get("title", "")
                for m in fake.messages(channel["id"])
                for e in m.embeds
            )
        )
    assert not ack.ephemeral and "to the new thread “demo”" in ack.content
    assert thread["name"] == "demo" and thread["parent_id"] == channel["id"]
    assert fake.messages(thread["id"])[0].embeds[0]["title"] == "Into the thread"
    titles = [e.get("title") for m in in_channel for e in m.embeds]
    assert "After archiving" in titles
    assert any("the thread “demo” is closed, archived or deleted" in m.content for m in in_channel)
