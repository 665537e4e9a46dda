"""What a chat user (or a full disk) can make the bot answer (issue #16), through Core.handle.

* odd arguments get a clear message instead of "Something went wrong";
* a source added while the disk is full is reported as added (it was), with what failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.core import Core
from handlers.types import Request
from tests.factories import add_piece, make_settings
from tests.httpserver import LocalHTTPServer
from tests.support.reliability import article_html

OWNER = "telegram:1"


@asynccontextmanager
async def chat_core(tmp_path: Path) -> AsyncIterator[Core]:
    async with Core.open(make_settings(tmp_path, commentary_owners=OWNER)) as core:
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
        db = core.store.sync.db
        # SQLite's own "database or disk is full": the file may not grow by one more page.
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        await core.store.run(lambda: db.execute(f"PRAGMA max_page_count = {pages}"))
        response = await core.handle(ask("addsource", http_server.url("/feed") + " full"))
        text = response.plain_text()
        sources = await core.store.list_sources()
    assert [s.name for s in sources] == ["full"]
    assert text.startswith("Added full"), text
    assert "full" in text and "Not added" not in text
