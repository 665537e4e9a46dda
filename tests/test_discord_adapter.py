"""The Discord adapter end to end: the real discord.py against the local fake of Discord.

Each test runs a Core on a temp database (tests.factories.open_core), the adapter pointed at
tests.fakes.discord_api.FakeDiscord through DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL, and
injects interactions as Discord would send them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord import DiscordAdapter
from handlers.registry import command_table, load_all
from tests.factories import add_piece, open_core
from tests.fakes.discord_api import (
    ALL_PERMISSIONS,
    MEMBER_PERMISSIONS,
    FakeDiscord,
    Recorded,
    RestError,
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gsecret.discord-test-token-do-not-log"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with FakeDiscord(token=TOKEN, heartbeat_ms=45_000) as server:
        yield server
    # The adapter restores these itself; a failing test must not leak them either.
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@asynccontextmanager
async def running(core: Any, *, defer_after: float | None = None) -> AsyncIterator[DiscordAdapter]:
    adapter = DiscordAdapter(core, command_table(), guild_ready_timeout=0.05)
    if defer_after is not None:
        adapter.defer_after = defer_after
    await adapter.start()
    try:
        await adapter.wait_ready(5)
        yield adapter
    finally:
        await adapter.stop()


@asynccontextmanager
async def bot(
    tmp_path: Path, fake: FakeDiscord, **overrides: Any
) -> AsyncIterator[tuple[Any, DiscordAdapter]]:
    settings = {
        "discord_bot_token": TOKEN,
        "discord_api_base_url": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
        "commentary_owners": f"discord:{fake.owner_user['id']}",
        **overrides,
    }
    async with open_core(tmp_path, **settings) as core, running(core) as adapter:
        await demo_source(core)
        yield core, adapter


async def demo_source(core: Any, name: str = "demo") -> None:
    """The source the tests subscribe to (add_piece would create it, but only later)."""
    if await core.services.store.get_source(name) is None:
        await core.services.store.add_source(name, f"https://{name}.example/feed.xml")


async def answer(fake: FakeDiscord, interaction_id: str, count: int = 1) -> list[Recorded]:
    return await fake.wait_answers(interaction_id, count)


def text_of(items: list[Recorded]) -> str:
    parts = []
    for item in items:
        parts.append(item.content)
        for embed in item.embeds:
            parts.append(embed.get("title") or "")
            parts.append(embed.get("description") or "")
    return "\n".join(parts)


async def subscribe(fake: FakeDiscord, channel: dict[str, Any], source: str = "demo") -> None:
    iid = await fake.slash(channel, "subscribe", {"what": source}, admin=True)
    [reply] = await answer(fake, iid)
    assert not reply.ephemeral, reply.content


# --------------------------------------------------------------------------- start and sync


async def test_commands_sync_globally_with_types_permissions_and_menus(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    fake.add_guild()
    async with bot(tmp_path, fake) as (_core, adapter):
        assert adapter.synced_to == "global"
        commands = {c["name"]: c for c in fake.commands[None]}
        registry = load_all()
        for name, spec in registry.items():
            assert name in commands, name
            if spec.scope in ("chat_admin", "owner"):
                assert str(commands[name]["default_member_permissions"]) == str(
                    1 << 5
                )  # manage_guild
            else:
                assert commands[name].get("default_member_permissions") is None
        count = {o["name"]: o for o in commands["latest"]["options"]}["count"]
        assert count["type"] == 4 and count["min_value"] == 1 and count["max_value"] == 10
        source = commands["subscribe"]["options"][0]
        assert source["autocomplete"] is True
        for name, spec in registry.items():
            if spec.reply_action:
                [post] = commands[name]["options"]
                assert post["name"] == "post" and post["required"], name
        menus = [c["name"] for c in fake.commands[None] if c["type"] == 3]
        assert menus == ["More", "Full text", "Quote", "Author", "Similar"]


async def test_guild_id_syncs_to_that_guild_only(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    async with bot(tmp_path, fake, discord_guild_id=int(guild.id)) as (_core, adapter):
        assert adapter.synced_to == guild.id
        assert fake.sync_calls[-1] == guild.id
        assert "latest" in {c["name"] for c in fake.commands[guild.id]}


async def test_token_never_reaches_logs_or_messages(
    tmp_path: Path, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        await add_piece(core, title="Tokens", authors=["Ada"], text="Text. " * 50, source="demo")
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 1)
        iid = await fake.slash(channel, "latest", {"count": 1})
        await answer(fake, iid)
    assert caplog.records
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(r.body) for r in fake.recorded)


# --------------------------------------------------------------------------- slash commands


FIXTURES = Path(__file__).parent / "fixtures"


async def test_every_slash_command_answers_through_the_core(
    tmp_path: Path, fake: FakeDiscord, http_server: Any
) -> None:
    """Each registered command, run with sensible values, gets its real answer (not an error)."""
    http_server.add(
        "/feed.xml",
        (FIXTURES / "sources" / "empty_rss.xml").read_bytes(),
        headers={"Content-Type": "application/rss+xml"},
    )
    http_server.add(
        "/article",
        (FIXTURES / "pipeline" / "news_plain.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        piece_id = await add_piece(
            core,
            title="Every command",
            authors=["Ada"],
            text="Body of the piece. " * 80,
            source="demo",
            url="https://example.com/every-command",
            pull_quotes=["A quotable line about the body."],
        )
        post = f"#{piece_id}"
        steps: list[tuple[str, dict[str, Any], str]] = [
            ("start", {}, "opinion writing"),
            ("help", {}, "/latest"),
            ("help", {"arguments": "latest"}, "latest"),
            ("sources", {}, "demo"),
            ("authors", {"prefix": "Ad"}, "Ada"),
            ("latest", {"count": 1}, "Every command"),
            ("search", {"query": "body"}, "Every command"),
            ("subscribe", {"what": "demo"}, "demo"),
            ("subscribe", {"what": "author Ada"}, "Ada"),
            ("subscriptions", {}, "demo"),
            ("filter", {"id": 1, "terms": "-sport"}, "sport"),
            ("unsubscribe", {"which": "author Ada"}, "Ada"),
            ("settings", {"setting": "length", "value": "short"}, "short"),
            ("settings", {}, "mode"),
            ("digest", {}, "digest"),
            ("more", {"post": post}, "Every command"),
            ("full", {"post": post}, "Body of the piece"),
            ("quote", {"post": post}, "quotable"),
            ("author", {"post": post}, "Ada"),
            ("similar", {"post": post}, ""),
            ("source", {"post": post}, "example.com/every-command"),
            ("follow", {"post": post}, "Ada"),
            ("save", {"post": post}, "Saved"),
            ("saved", {}, "Every command"),
            ("unsave", {"post": post}, "Removed"),
            ("original", {"post": post}, "Every command"),
            ("like", {"post": post}, "👍 noted"),
            ("dislike", {"post": post}, "👎 noted"),
            ("why", {"url": "https://example.com/every-command"}, ""),
            ("summary", {"url": http_server.url("/article")}, "library"),
            ("addsource", {"url": http_server.url("/feed.xml"), "name": "spare"}, "spare"),
            ("interval", {"source": "spare", "duration": "2h"}, "2h"),
            ("pausesource", {"name": "spare"}, "Paused"),
            ("resumesource", {"name": "spare"}, "spare"),
            ("poll", {"source": "spare"}, "Polled 1 source"),
            ("limits", {}, "subscriptions"),
            ("status", {}, "Up"),
            ("admins", {}, "you"),
            ("removesource", {"name": "spare"}, "Removed spare"),
        ]
        assert {name for name, _, _ in steps} == set(load_all()), "a command has no step here"
        for name, options, expected in steps:
            iid = await fake.slash(channel, name, options, admin=True)
            replies = await answer(fake, iid)
            first = replies[0]
            assert first.kind == "callback" and first.callback_type in (4, 5), name
            if first.callback_type == 5:  # deferred: the answer is the edit that follows
                replies = await answer(fake, iid, 2)
            said = text_of(replies)
            assert any(r.content or r.embeds for r in replies), name
            # Errors are private, and the answers that are for the asker alone (read later).
            assert replies[-1].ephemeral == (name in ("save", "saved")), (name, said)
            assert expected.lower() in said.lower(), (name, said)
            answers = replies[1:] if first.callback_type == 5 else replies  # not the "thinking…"
            assert all(r.data.get("allowed_mentions") == {"parse": []} for r in answers), name


async def test_latest_renders_cards_with_buttons_and_records_them(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        piece_id = await add_piece(
            core,
            title="@everyone **Bold** claims",
            authors=["Ada"],
            text="A long text. " * 80,
            source="demo",
            url="https://example.com/bold",
        )
        iid = await fake.slash(channel, "latest", {"count": 1})
        replies = await answer(fake, iid)
        embeds = [e for r in replies for e in r.embeds]
        assert embeds, text_of(replies)
        title = embeds[0]["title"]
        assert "@everyone" not in title and "\\*\\*Bold\\*\\*" in title
        assert embeds[0]["url"] == "https://example.com/bold"
        ids = [cid for r in replies for cid in r.custom_ids]
        assert f"cb:more:{piece_id}" in ids
        assert all(r.data.get("allowed_mentions") == {"parse": []} for r in replies)
        # The answer was recorded: a context menu on it acts on its piece.
        card = next(r for r in replies if r.embeds)
        iid = await fake.message_command(channel, "Author", fake.messages_by_id[card.message_id])
        replies = await answer(fake, iid)
        assert not replies[0].ephemeral and "Ada" in text_of(replies)


async def test_out_of_range_count_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    async with bot(tmp_path, fake) as (_core, _adapter):
        iid = await fake.slash(guild.channels[0], "latest", {"count": 99})
        [reply] = await answer(fake, iid)
        # The adapter answers (the core is never asked): Discord's client checks ranges, a
        # crafted interaction may not have been.
        assert reply.ephemeral and reply.content == "count must be between 1 and 10."


async def test_admin_and_owner_commands_refused_for_members(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    member = fake.user("member")
    async with bot(tmp_path, fake) as (core, _adapter):
        iid = await fake.slash(channel, "subscribe", {"what": "demo"}, user=member)
        [reply] = await answer(fake, iid)
        assert reply.ephemeral
        assert "administrators" in reply.content
        chat = await core_chat(core, channel["id"])
        assert chat is None or not await core.services.store.list_subscriptions(chat.id)
        # A member with Manage Server is the chat's admin ...
        iid = await fake.slash(channel, "subscribe", {"what": "demo"}, user=member, admin=True)
        [reply] = await answer(fake, iid)
        assert not reply.ephemeral
        # ... but not the bot's owner (COMMENTARY_OWNERS).
        iid = await fake.slash(channel, "removesource", {"name": "demo"}, user=member, admin=True)
        [reply] = await answer(fake, iid)
        assert reply.ephemeral and "owners only" in reply.content
        assert await core.services.store.get_source("demo") is not None


async def test_slow_command_is_deferred_then_edited(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    settings = {
        "discord_bot_token": TOKEN,
        "discord_api_base_url": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
    }
    async with open_core(tmp_path, **settings) as core:
        real_handle = core.handle

        async def slow_handle(request: Any) -> Any:
            await asyncio.sleep(0.3)
            return await real_handle(request)

        core.handle = slow_handle  # type: ignore[method-assign]
        async with running(core, defer_after=0.05):
            iid = await fake.slash(guild.channels[0], "help")
            first, second = await answer(fake, iid, 2)
            assert first.callback_type == 5  # deferred "thinking"
            assert second.kind == "edit_original" and second.content
            # A slow error cannot turn the public placeholder private: it is replaced.
            iid = await fake.slash(guild.channels[0], "subscribe", {"what": "nosuch"}, admin=True)
            replies = await answer(fake, iid, 3)
            assert [r.kind for r in replies] == ["callback", "delete_original", "followup"]
            assert replies[0].callback_type == 5 and not replies[0].ephemeral
            assert replies[2].ephemeral and "nosuch" in replies[2].content


async def test_expired_interaction_is_logged_not_retried(
    tmp_path: Path, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    guild = fake.add_guild()
    async with bot(tmp_path, fake) as (_core, _adapter):
        fake.next_callback_error = RestError(404, 10062, "Unknown interaction")
        iid = await fake.slash(guild.channels[0], "help")
        await answer(fake, iid)
        await asyncio.sleep(0.2)
        assert [r.kind for r in fake.answers(iid)] == ["refused_callback"]
        assert "expired" in caplog.text


# --------------------------------------------------------------------------- autocomplete


async def test_autocomplete_sources_authors_and_junk(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await add_piece(core, title="A", authors=["Ada Lovelace"], text="x " * 50, source="demo")
        iid = await fake.autocomplete(channel, "subscribe", "what", "de")
        [reply] = await answer(fake, iid)
        assert reply.body["type"] == 8
        assert "demo" in [c["value"] for c in reply.body["data"]["choices"]]
        # /subscribe's option also takes "author <name>": suggested in that form.
        iid = await fake.autocomplete(channel, "subscribe", "what", "author ada")
        [reply] = await answer(fake, iid)
        assert [c["value"] for c in reply.body["data"]["choices"]] == ["author Ada Lovelace"]
        iid = await fake.autocomplete(channel, "removesource", "name", "DE")
        [reply] = await answer(fake, iid)
        assert [c["value"] for c in reply.body["data"]["choices"]] == ["demo"]
        iid = await fake.autocomplete(channel, "authors", "prefix", "Ada")
        [reply] = await answer(fake, iid)
        assert "Ada Lovelace" in [c["value"] for c in reply.body["data"]["choices"]]
        for junk in ["\x00\x01\x02", "' OR 1=1 --", "*" * 500, "🙂" * 50, ""]:
            iid = await fake.autocomplete(channel, "subscribe", "what", junk)
            [reply] = await answer(fake, iid)
            assert reply.body["type"] == 8
            assert len(reply.body["data"]["choices"]) <= 25


# --------------------------------------------------------------------------- posts, buttons


async def test_posts_to_channel_and_thread_with_persistent_buttons(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    thread = fake.add_thread(guild, channel, "opinions")
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        await subscribe(fake, thread)
        piece_id = await add_piece(
            core,
            title="Why **threads** matter @here",
            authors=["Grace Hopper"],
            text="Threads keep talk tidy. " * 40,
            source="demo",
            url="https://example.com/threads",
        )
        await fake.wait_for(
            lambda: fake.messages(channel["id"]) and fake.messages(thread["id"]), timeout=10
        )
        for where in (channel, thread):
            [post] = fake.messages(where["id"])
            embed = post.embeds[0]
            assert embed["url"] == "https://example.com/threads"
            assert embed["author"]["name"] == "Grace Hopper"
            assert "@here" not in embed["title"]
            assert post.body["allowed_mentions"] == {"parse": []}
            assert f"cb:more:{piece_id}" in post.custom_ids
        # On Discord a thread is a channel: its own id is the chat id.
        chat = await core_chat(core, thread["id"])
        assert chat.kind == "thread" and not chat.thread_id
        assert await core.services.store.count_deliveries(piece_id, "sent") == 2


async def test_buttons_keep_working_after_a_restart(tmp_path: Path, fake: FakeDiscord) -> None:
    """A post's buttons are answered by a new Core and adapter on the same database."""
    guild = fake.add_guild()
    channel = guild.channels[0]
    settings = {
        "discord_bot_token": TOKEN,
        "discord_api_base_url": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
    }
    async with open_core(tmp_path, **settings) as core:
        await demo_source(core)
        async with running(core):
            await subscribe(fake, channel)
            piece_id = await add_piece(
                core, title="Restart", authors=["Ada"], text="Persist. " * 60, source="demo"
            )
            await fake.wait_for(lambda: fake.messages(channel["id"]), timeout=10)
            await wait_for_delivery(core, piece_id, "sent", 1)
    post = fake.messages(channel["id"])[0]
    message = fake.messages_by_id[post.message_id]
    assert {f"cb:{a}:{piece_id}" for a in ("more", "full", "author")} <= set(post.custom_ids)
    async with open_core(tmp_path, **settings) as core, running(core):
        # Nothing in memory survives: a new Core, a new client, the same database file.
        iid = await fake.press(channel, f"cb:more:{piece_id}", message)
        replies = await answer(fake, iid)
        assert replies[0].ephemeral  # button answers go to the presser only
        assert "Restart" in text_of(replies)
        # A context menu on the old post maps back to its piece through the stored message id.
        iid = await fake.message_command(channel, "Author", message)
        replies = await answer(fake, iid)
        assert not replies[0].ephemeral and "Ada" in text_of(replies)
        assert len(fake.messages(channel["id"])) == 1  # the restart re-sent nothing


async def test_stale_and_forged_buttons_are_refused(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (_core, _adapter):
        for custom_id in ["cb:more:99999", "cb:delete:1", "cb:more:abc", "cb:more:" + "9" * 40]:
            message = fake._message_payload(
                channel["id"],
                {
                    "components": [
                        {
                            "type": 1,
                            "components": [
                                {"type": 2, "style": 2, "label": "x", "custom_id": custom_id}
                            ],
                        }
                    ]
                },
            )
            iid = await fake.press(channel, custom_id, message)
            [reply] = await answer(fake, iid)
            assert reply.ephemeral, custom_id
            assert reply.content, custom_id


# --------------------------------------------------------------------------- context menus


async def test_context_menus_act_on_the_posts_piece(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        await add_piece(
            core,
            title="Menus",
            authors=["Ada"],
            text="Para one.\n\n" + "Words. " * 700,
            source="demo",
        )
        await fake.wait_for(lambda: fake.messages(channel["id"]), timeout=10)
        post = fake.messages_by_id[fake.messages(channel["id"])[0].message_id]
        for menu in ["More", "Full text", "Quote", "Author", "Similar"]:
            iid = await fake.message_command(channel, menu, post)
            replies = await answer(fake, iid)
            assert not replies[0].ephemeral, (menu, replies[0].content)
            assert all(len(r.content) <= 2000 for r in replies)
        # The slash form names the post by its link (Copy Message Link).
        link = f"https://discord.com/channels/{guild.id}/{channel['id']}/{post['id']}"
        iid = await fake.slash(channel, "author", {"post": link})
        replies = await answer(fake, iid)
        assert not replies[0].ephemeral and "Ada" in text_of(replies)
        for bad in ["not a link", f"https://discord.com/channels/{guild.id}/1/{post['id']}"]:
            iid = await fake.slash(channel, "author", {"post": bad})
            [reply] = await answer(fake, iid)
            assert reply.ephemeral and reply.content, bad
        # Full text of a long piece is split into several messages.
        iid = await fake.message_command(channel, "Full text", post)
        await asyncio.sleep(0.3)
        assert len(fake.answers(iid)) >= 2
        # On someone else's message: a private refusal.
        other = await fake.user_message(channel, "hello", user=fake.user("x"))
        iid = await fake.message_command(channel, "More", other)
        [reply] = await answer(fake, iid)
        assert reply.ephemeral and "my posts" in reply.content


# --------------------------------------------------------------------------- delivery errors


async def test_missing_permissions_deactivates_the_chat(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild(channels=2)
    channel, system = guild.channels
    guild.system_channel_id = system["id"]
    async with bot(tmp_path, fake) as (core, adapter):
        await subscribe(fake, channel)
        fake.channel_errors[channel["id"]] = RestError(403, 50013, "Missing Permissions", times=99)
        piece_id = await add_piece(
            core, title="Denied", authors=["Ada"], text="x " * 50, source="demo"
        )
        await fake.wait_for(lambda: fake.messages(system["id"]), timeout=10)
        [note] = fake.messages(system["id"])
        assert "general" in note.content and "permission" in note.content.lower()
        await wait_for_chat(core, channel["id"], active=False)
        chat = await core_chat(core, channel["id"])
        assert "50013" in (chat.inactive_reason or "")
        assert not fake.messages(channel["id"])
        await wait_for_delivery(core, piece_id, "skipped", 1)
        # A second piece is not even tried: the chat is off until it is seen again.
        later = await add_piece(core, title="Denied again", authors=["Ada"], text="y " * 50)
        await wait_for_delivery(core, later, "skipped", 1)
        assert len(fake.messages(system["id"])) == 1
        del fake.channel_errors[channel["id"]]
        # After a restart (nothing remembered in memory), a command from the channel turns
        # it back on only once the bot can post there again.
        await adapter.stop()
        async with running(core):
            fake.app_permissions = MEMBER_PERMISSIONS  # no Embed Links yet
            iid = await fake.slash(channel, "subscriptions")
            await answer(fake, iid)
            assert not (await core_chat(core, channel["id"])).active
            fake.app_permissions = ALL_PERMISSIONS
            iid = await fake.slash(channel, "subscriptions")
            await answer(fake, iid)
            await wait_for_chat(core, channel["id"], active=True)
            newest = await add_piece(core, title="Allowed", authors=["Ada"], text="z " * 50)
            await wait_for_delivery(core, newest, "sent", 1)
            [post] = fake.messages(channel["id"])
            assert post.embeds[0]["title"] == "Allowed"


async def test_one_piece_reaches_many_channels_once_each(tmp_path: Path, fake: FakeDiscord) -> None:
    channels = 30
    guild = fake.add_guild(channels=channels)
    async with bot(tmp_path, fake) as (core, _adapter):
        for channel in guild.channels:
            await subscribe(fake, channel)
        piece_id = await add_piece(
            core, title="Fan out", authors=["Ada"], text="x " * 50, source="demo"
        )
        await fake.wait_for(lambda: all(fake.messages(c["id"]) for c in guild.channels), timeout=20)
        await wait_for_delivery(core, piece_id, "sent", channels)
        await asyncio.sleep(0.3)  # room for duplicates to show up
        for channel in guild.channels:
            [post] = fake.messages(channel["id"])
            assert [e["title"] for e in post.embeds] == ["Fan out"]
        assert len(fake.messages()) == channels
        assert await core.services.store.count_deliveries(piece_id) == channels


async def test_rate_limit_with_retry_after_is_retried_by_discord_py(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        fake.channel_errors[channel["id"]] = RestError(429, 0, "", retry_after=0.05)
        await add_piece(core, title="Limited", authors=["Ada"], text="x " * 50, source="demo")
        await fake.wait_for(lambda: fake.messages(channel["id"]), timeout=10)
        assert len(fake.messages(channel["id"])) == 1


# --------------------------------------------------------------------------- guilds and DMs


async def test_leaving_and_rejoining_a_guild(tmp_path: Path, fake: FakeDiscord) -> None:
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, adapter):
        await subscribe(fake, channel)
        await fake.leave_guild(guild)
        await wait_until(lambda: adapter.client.get_guild(int(guild.id)) is None)
        await wait_for_chat(core, channel["id"], active=False)
        # Interactions from a guild the bot left are refused with a clear word.
        iid = await fake.slash(channel, "help", guild_id=guild.id)
        [reply] = await answer(fake, iid)
        assert reply.ephemeral and "not a member" in reply.content
        await fake.join_guild(guild)
        await wait_for_chat(core, channel["id"], active=True)


async def test_dm_commands_and_plain_dms(tmp_path: Path, fake: FakeDiscord) -> None:
    fake.add_guild()
    person = fake.user("reader")
    dm = fake.dm_channel(person)
    async with bot(tmp_path, fake) as (_core, _adapter):
        # In a DM the user is its admin: /subscribe works without manage_guild.
        iid = await fake.slash(dm, "subscribe", {"what": "demo"}, user=person)
        [reply] = await answer(fake, iid)
        assert not reply.ephemeral, reply.content
        await fake.user_message(dm, "hello bot", user=person)
        await fake.wait_for(lambda: fake.messages(dm["id"]), timeout=5)
        assert "/help" in fake.messages(dm["id"])[0].content
        await fake.user_message(dm, "hello again", user=person)
        await asyncio.sleep(0.2)
        assert len(fake.messages(dm["id"])) == 1  # the hint is not repeated at once


# --------------------------------------------------------------------------- helpers


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def wait_for_delivery(
    core: Any, piece_id: int, state: str, count: int, timeout: float = 10.0
) -> None:
    """Wait until ``count`` deliveries of the piece are in ``state`` in the database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (found := await core.services.store.count_deliveries(piece_id, state)) < count:
        if loop.time() > deadline:
            raise AssertionError(f"{found} of {count} deliveries {state}")
        await asyncio.sleep(0.05)


async def core_chat(core: Any, chat_id: str) -> Any:
    return await core.services.store.get_chat("discord", chat_id)


async def wait_for_chat(core: Any, chat_id: str, *, active: bool, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        chat = await core_chat(core, chat_id)
        if chat is not None and chat.active == active:
            return
        if loop.time() > deadline:
            raise AssertionError(f"chat {chat_id} active={getattr(chat, 'active', None)}")
        await asyncio.sleep(0.05)
