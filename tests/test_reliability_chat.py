"""What a chat user (or a full disk) can make the bot answer (issue #16).

* odd arguments get a clear message instead of "Something went wrong" (Core.handle);
* a source added while the disk is full is reported as added (it was), with what failed;
* through the real Telegram adapter and its fake API: /full posts a few messages then the link,
  a group's administrators may change /settings (they were refused) and turn /full off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.app import open_core as open_app_core
from bot.core import Core
from bot.messages import Request
from handlers.registry import command_table
from handlers.replies import FULL_TEXT_CHARS
from tests.factories import add_piece, make_settings
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI
from tests.httpserver import LocalHTTPServer
from tests.support.reliability import article_html

OWNER = "telegram:1"


@asynccontextmanager
async def chat_core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_app_core(make_settings(tmp_path, commentary_owners=OWNER)) as core:
        yield core


def ask(command: str, args: str = "", *, user: str = "1", admin: bool = True) -> Request:
    return Request(platform="telegram", chat_id="1", user_id=user, command=command, args=args,
                   is_chat_admin=admin)  # fmt: skip


ODD_ARGUMENTS = [
    ("why", "http://[::1", "not a link"),
    ("why", "https://[fe80::1%zz", "not a link"),
    ("more", "99999999999999999999", "no piece #99999999999999999999"),
    ("full", "#184467440737095516160", "no piece #18446744073709551616…"),
    ("quote", "0", "no piece #0"),
    ("more", "\u00b9\u00b2", "Reply to one of my posts"),  # superscript digits: not a number
]


@pytest.mark.parametrize(
    "command, args, says", ODD_ARGUMENTS, ids=[f"/{c} {a}" for c, a, _ in ODD_ARGUMENTS]
)
async def test_odd_arguments_get_a_clear_answer(
    tmp_path: Path, command: str, args: str, says: str
) -> None:
    async with chat_core(tmp_path) as core:
        await add_piece(core)
        response = await core.handle(ask(command, args))
    text = response.plain_text()
    assert response.is_error, text
    assert "Something went wrong" not in text
    assert says in text, text


async def test_addsource_on_a_full_disk_says_it_was_added(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    items = "".join(
        f"<item><guid>f{i}</guid><title>Column {i}</title>"
        f"<link>{http_server.url(f'/a{i}')}</link></item>"
        for i in range(3)
    )
    http_server.add(
        "/feed",
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Full</title>{items}"
        "</channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    for i in range(3):
        http_server.add(f"/a{i}", article_html(i), headers={"Content-Type": "text/html"})
    async with chat_core(tmp_path) as core:
        db = core.services.store.sync.db
        # SQLite's own "database or disk is full": the file may not grow by one more page.
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        await core.services.store.run(lambda: db.execute(f"PRAGMA max_page_count = {pages}"))
        response = await core.handle(ask("addsource", http_server.url("/feed") + " full"))
        text = response.plain_text()
        sources = await core.services.store.list_sources()
    assert [s.name for s in sources] == ["full"]
    assert text.startswith("Added full"), text
    assert "full" in text and "Not added" not in text


TOKEN = "424242:AAH-hardening-test-token_1"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramAPI]:
    limits = FakeLimits(per_chat_burst=50, per_group_per_minute=600)
    async with FakeTelegramAPI(TOKEN, limits=limits) as server:
        yield server


@asynccontextmanager
async def telegram_bot(tmp_path: Path, fake: FakeTelegramAPI) -> AsyncIterator[Core]:
    settings = make_settings(
        tmp_path, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url
    )
    async with open_app_core(settings) as core:
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
        await adapter.start()
        try:
            yield core
        finally:
            await adapter.stop()


async def test_full_is_capped_and_group_admins_can_turn_it_off(
    tmp_path: Path, tg: FakeTelegramAPI
) -> None:
    admin, member = tg.add_user(20, "Admin"), tg.add_user(21, "Member")
    group = tg.add_group(-100500, "Group", admins=(20,))
    paragraph = "The council should publish every contract before the vote, critics say. " * 12
    text = "\n\n".join([paragraph] * 5_000)  # about 4.5 million characters
    async with telegram_bot(tmp_path, tg) as core:
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        tg.push_command(group, admin, "/subscribe demo")
        await tg.wait_sent(1, chat_id=-100500)
        await add_piece(core, source="demo", text=text, url="https://opinion.test/long-column")
        [_, post] = await tg.wait_sent(2, chat_id=-100500)

        tg.push_command(group, member, "/full", reply_to=post)
        await tg.wait_until(lambda: "long-column" in tg.messages(-100500)[-1].plain, timeout=20)
        parts = tg.messages(-100500)[2:]
        assert 1 <= len(parts) <= 3, len(parts)
        assert sum(len(p.plain) for p in parts) < FULL_TEXT_CHARS + 1000
        assert "first part" in parts[-1].plain

        # A group administrator may change the group's settings (the adapter asks Telegram).
        tg.push_command(group, admin, "/settings full off")
        [answer] = (await tg.wait_sent(3 + len(parts), chat_id=-100500))[-1:]
        assert "/full is off here" in answer.plain, answer.plain
        chat = await core.services.store.get_chat("telegram", "-100500")
        assert chat.settings.full_text is False

        tg.push_command(group, member, "/full", reply_to=post)
        [refusal] = (await tg.wait_sent(4 + len(parts), chat_id=-100500))[-1:]
        assert "turned /full off" in refusal.plain and "long-column" in refusal.plain

        tg.push_command(group, member, "/settings full on")
        [denied] = (await tg.wait_sent(5 + len(parts), chat_id=-100500))[-1:]
        assert "administrators" in denied.plain
        chat = await core.services.store.get_chat("telegram", "-100500")
        assert chat.settings.full_text is False
