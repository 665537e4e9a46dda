"""A calm start: `/subscribe <what> last N` posts the last N pieces now, `new only` none.

Storage on both backends, then the terminal chat, Telegram and Discord end to end.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.delivery.routing import route
from bot.errors import UsageError
from handlers.subscriptions import Start, split_start
from tests.factories import add_piece, open_core
from tests.test_discord_adapter import answer, bot, text_of
from tests.test_discord_adapter import fake as discord_fake  # noqa: F401
from tests.test_storage_backends import draft
from tests.test_telegram_e2e import fake as telegram_fake  # noqa: F401
from tests.test_telegram_e2e import running


def test_split_start_reads_the_suffix_and_refuses_bad_counts() -> None:
    assert split_start("demo") == ("demo", None)
    assert split_start("demo last 3") == ("demo", Start(3))
    assert split_start("author Jane Doe LAST 10") == ("author Jane Doe", Start(10))
    assert split_start("keyword trade new only") == ("keyword trade", Start(0))
    refused = [
        ("demo last 11", "1 to 10"),
        ("demo last 0", "1 to 10"),
        ("demo last x", "not a number"),
        ("demo last ３", "not a number"),
    ]
    for bad, says in refused:
        with pytest.raises(UsageError, match=says):
            split_start(bad)


async def test_queue_backfill_once_per_piece_and_chat(store) -> None:
    source = await store.add_source("views", "https://views.example/feed.xml")
    chat = await store.ensure_chat("telegram", "10")
    sub = await store.add_subscription(chat.id, "source", "views", source_id=source.id)
    ids = [(await store.save_piece(draft(source_id=source.id))).piece_id for _ in range(3)]
    assert await store.queue_backfill(chat.id, sub.id, ids[:2]) == 2
    # Asked again, with one new: only the new one is queued (never a second post).
    assert await store.queue_backfill(chat.id, sub.id, ids) == 1
    assert await store.queue_backfill(chat.id, sub.id, [999_999]) == 0  # no such piece
    assert await store.queue_backfill(999_999, sub.id, ids) == 0  # no such chat
    claimed = await store.claim_due("telegram")
    assert [d.piece_id for d, _ in claimed] == ids  # in the order given
    # A piece routed to the chat later is not posted twice either.
    later = await store.save_piece(draft(source_id=source.id), route=route)
    assert await store.queue_backfill(chat.id, sub.id, [later.piece_id]) == 0


async def console_lines(core, lines: list[str]) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.chat()
    core.start_delivery(console.sender)
    for line in lines:
        await console.answer(line)
    return out.getvalue()


async def test_terminal_chat_last_n_and_new_only(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        for n in range(4):
            await add_piece(core, title=f"Earlier piece {n}", source="views")
        await add_piece(core, title="By Jane", source="other", authors=["Jane Roe"])
        out = await console_lines(
            core,
            [
                "/subscribe views last 2",
                "/subscribe author Jane Roe new only",
                "/subscribe views last 20",
                "/subscribe views last 3",
            ],
        )
    assert "The last 2 pieces will be posted now." in out
    # Oldest of the two first, so the newest ends at the bottom.
    assert out.index("Earlier piece 2") < out.index("Earlier piece 3")
    assert "only what comes next" in out and "By Jane" not in out
    assert "! I can post the last 1 to 10 pieces, not 20." in out
    # Already subscribed: the one earlier piece not yet shown comes, the two shown do not.
    assert "already follows source views" in out and "2 were posted here before" in out
    assert out.count("Earlier piece 3") == 1 and out.count("Earlier piece 1") == 1
    assert "Earlier piece 0" not in out


async def test_telegram_subscribe_last_n(tmp_path: Path, telegram_fake) -> None:  # noqa: F811
    fake = telegram_fake
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with running(tmp_path, fake) as (_, core):
        for n in range(3):
            await add_piece(core, title=f"Earlier {n}", source="demo")
        fake.push_command(chat, ann, "/subscribe demo last 2")
        sent = await fake.wait_sent(3, chat_id=10)
        fake.push_command(chat, ann, "/subscribe demo last eleven")
        refused = await fake.wait_sent(4, chat_id=10)
    assert "The last 2 pieces will be posted now" in sent[0].plain
    assert [m.plain.splitlines()[0] for m in sent[1:3]] == ["Earlier 1", "Earlier 2"]
    assert any(b["text"] == "More" for b in sent[1].buttons)  # real posts, with their buttons
    assert "'eleven' is not a number" in refused[3].plain


async def test_discord_subscribe_with_start_option(tmp_path: Path, discord_fake) -> None:  # noqa: F811
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        options = {c["name"]: c for c in fake.commands[None]}["subscribe"]["options"]
        start = next(o for o in options if o["name"] == "start")
        assert [c["value"] for c in start["choices"]][:2] == ["new only", "last 1"]
        for n in range(3):
            await add_piece(core, title=f"Earlier {n}", source="demo")
        iid = await fake.slash(
            channel, "subscribe", {"what": "demo", "start": "last 3"}, admin=True
        )
        [reply] = await answer(fake, iid)
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 3)
        posts = fake.messages(channel["id"])
    assert "The last 3 pieces will be posted now" in reply.content
    assert [p.embeds[0]["title"] for p in posts[:3]] == ["Earlier 0", "Earlier 1", "Earlier 2"]
    assert "Earlier" in text_of(posts)
