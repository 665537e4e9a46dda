"""Crash safety of the real bot process: kill -9 mid fan-out, mid polling round, and a locked DB.

Each test runs ``python -m bot run`` as a subprocess against fakes on 127.0.0.1 (the Telegram
Bot API fake, a LocalHTTPServer for feeds and article pages), kills it with SIGKILL at a bad
moment, starts it again on the same database and checks what the outbox promises: nothing is
lost, nothing is stored twice, and at most the messages in flight are posted twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.delivery.worker import MAX_IN_FLIGHT
from bot.types import ChatSettings
from storage import Store
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI
from tests.httpserver import LocalHTTPServer
from tests.support.reliability import (
    BotProcess,
    Item,
    article_html,
    bot_env,
    dated,
    query,
    rss,
    scalar,
    wait_for,
)

TOKEN = "777001:AAH-crash-SECRET-token-do-not-log_42"
CHATS = 200
FIRST_CHAT = 5000


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    # Generous limits: the bot's own pacing (30 messages/s) is what spreads the fan-out.
    limits = FakeLimits(global_per_second=1000, per_chat_burst=10)
    async with FakeTelegramAPI(TOKEN, limits=limits) as server:
        yield server


def sources_toml(tmp_path: Path, name: str, url: str, interval: str = "10s") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[[source]]\nname = "{name}"\nurl = "{url}"\ninterval = "{interval}"\n', encoding="utf-8"
    )
    return path


def serve_feed(server: LocalHTTPServer, items: list[Item], *, delay: float = 0.0) -> None:
    server.add("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
    for n, item in enumerate(items):
        body = article_html(n, title=item.title).encode()
        path = item.link.removeprefix(server.base) if item.link else None
        if path is None:
            continue
        if delay:

            async def slow(request: web.Request, body: bytes = body) -> web.Response:
                await asyncio.sleep(delay)
                return web.Response(body=body, content_type="text/html")

            server.add(path, handler=slow)
        else:
            server.add(path, body, headers={"Content-Type": "text/html; charset=utf-8"})


# --------------------------------------------------------------------------- kill mid fan-out


async def test_kill_during_fan_out_loses_nothing_and_repeats_at_most_in_flight(
    tmp_path: Path, fake: FakeTelegramAPI, http_server: LocalHTTPServer
) -> None:
    items = [
        Item(f"piece-{n}", f"Column {n}", http_server.url(f"/a/{n}"), dated(n)) for n in range(3)
    ]
    serve_feed(http_server, items)
    db = tmp_path / "bot.db"
    feed_url = http_server.url("/feed.xml")
    # Chats, subscriptions and a few settings go in before the bot starts.
    store = Store.open(db)
    source = store.add_source("opinion", feed_url, interval_seconds=10, added_by="config")
    short = ChatSettings(length="short", timezone="Europe/Paris")
    for i in range(CHATS):
        fake.add_private(fake.add_user(FIRST_CHAT + i, f"U{i}"))
        chat = store.ensure_chat("telegram", str(FIRST_CHAT + i), kind="private")
        store.add_subscription(chat.id, "source", "opinion", source_id=source.id)
        if i % 50 == 0:
            store.update_chat_settings(chat.id, short)
    store.close()

    env = bot_env(
        tmp_path, db,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        COMMENTARY_SOURCES=str(sources_toml(tmp_path, "opinion", feed_url)),
    )  # fmt: skip
    first = await BotProcess(tmp_path, env, "run", name="first").start()
    try:
        # Kill once some, but far from all, chats have their post.
        await fake.wait_until(lambda: len(fake.sent) >= 40, timeout=45)
        first.kill()
        assert await first.wait() != 0
    finally:
        await first.ensure_stopped()
    at_kill = len(fake.sent)
    assert at_kill < CHATS, "the fan-out finished before the kill; the test proves nothing"
    states = dict(query(db, "SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert sum(states.values()) == CHATS and states.get("sent", 0) < CHATS

    second = await BotProcess(tmp_path, env, "run", name="second").start()
    try:
        await fake.wait_until(lambda: len({m.chat_id for m in fake.sent}) == CHATS, timeout=60)
        await wait_for(
            lambda: scalar(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'") == CHATS,
            30, "every delivery marked sent",
        )  # fmt: skip
        second.terminate()
        assert await second.wait() == 0, second.stderr()
    finally:
        await second.ensure_stopped()

    per_chat = Counter(m.chat_id for m in fake.sent)
    duplicates = sum(n - 1 for n in per_chat.values())
    print(f"\nkill -9 after {at_kill} of {CHATS} sends: {duplicates} duplicate post(s)")
    assert set(per_chat) == {FIRST_CHAT + i for i in range(CHATS)}
    assert duplicates <= MAX_IN_FLIGHT, f"{duplicates} chats got the piece twice"
    newest = items[0].title
    assert all(m.plain.startswith(newest) for m in fake.sent)  # only the newest is posted
    assert not [r for r in fake.rejected if r[1] != 429]

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM pieces").fetchone()[0] == len(items)
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == CHATS
        assert conn.execute(
            "SELECT count(*) FROM chats WHERE platform = 'telegram' AND active = 1"
        ).fetchone()[0] == CHATS  # fmt: skip
        rows = conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        assert rows == [("sent", CHATS)]
        settings = [
            r[0]
            for r in conn.execute(
                "SELECT settings FROM chats WHERE CAST(platform_chat_id AS INTEGER) % 50 = 0"
                " AND platform = 'telegram'"
            )
        ]
        assert len(settings) == CHATS // 50
        assert all('"short"' in s and "Europe/Paris" in s for s in settings)
        # Every message id the bot was told is recorded, so replies map back after the crash.
        recorded = conn.execute("SELECT count(DISTINCT platform_chat_id) FROM messages").fetchone()
        assert recorded[0] == CHATS
    finally:
        conn.close()
    assert TOKEN not in first.stderr() + second.stderr()


# --------------------------------------------------------------------------- kill mid poll


async def test_kill_during_polling_round_stores_each_entry_once(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    entries = 12
    items = [
        Item(f"entry-{n}", f"Slow column {n}", http_server.url(f"/slow/{n}"), dated(n))
        for n in range(entries)
    ]
    serve_feed(http_server, items, delay=0.25)
    db = tmp_path / "bot.db"
    feed_url = http_server.url("/feed.xml")
    store = Store.open(db)
    source = store.add_source("slow", feed_url, interval_seconds=10, added_by="config")
    # A source polled before, due now: every entry is new and fetched one article at a time.
    store.update_source(source.id, first_poll_done=True, next_run_at="2000-01-01T00:00:00+00:00")
    chat = store.ensure_chat("console", "terminal", kind="private")
    store.add_subscription(chat.id, "source", "slow", source_id=source.id)
    store.set_value("console.initialized", "1")
    store.close()
    env = bot_env(tmp_path, db, COMMENTARY_SOURCES=str(sources_toml(tmp_path, "slow", feed_url)))

    def article_hits() -> int:
        return sum(http_server.hits[f"/slow/{n}"] for n in range(entries))

    first = await BotProcess(tmp_path, env, "run", "--console", name="first").start(stdin_pipe=True)
    try:
        await wait_for(lambda: article_hits() >= 4, 45, "a few article fetches")
        first.kill()
        await first.wait()
    finally:
        await first.ensure_stopped()
    stored_at_kill = scalar(db, "SELECT count(*) FROM pieces")
    assert stored_at_kill < entries, "the round finished before the kill"

    second = await BotProcess(tmp_path, env, "run", "--console", name="second").start(
        stdin_pipe=True
    )
    try:
        await wait_for(
            lambda: scalar(db, "SELECT count(*) FROM pieces") == entries
            and scalar(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'") == entries,
            60, "every entry stored and posted",
        )  # fmt: skip
        second.close_stdin()
        assert await second.wait() == 0, second.stderr()
    finally:
        await second.ensure_stopped()

    pieces = query(db, "SELECT guid, url FROM pieces ORDER BY guid")
    assert sorted(g for g, _ in pieces) == sorted(i.guid for i in items)
    assert len({u for _, u in pieces}) == entries
    seen = {
        k for (k,) in query(db, "SELECT entry_key FROM seen_entries WHERE entry_key LIKE 'guid:%'")
    }
    assert seen == {f"guid:{i.guid}" for i in items}
    # Each piece was posted to the terminal exactly once across both runs, never twice.
    assert scalar(db, "SELECT count(*) FROM deliveries") == entries
    posted = Counter(
        line.split("] ", 1)[1]
        for run in (first, second)
        for line in run.stdout().splitlines()
        if line.startswith("[m") and "Slow column" in line
    )
    assert set(posted) <= {i.title for i in items}
    assert sum(n - 1 for n in posted.values()) <= MAX_IN_FLIGHT
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


# --------------------------------------------------------------------------- locked database


def hold_exclusive_lock(db: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_commands_wait_out_a_locked_database(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    Store.open(db).close()
    env = bot_env(tmp_path, db)
    bot = await BotProcess(tmp_path, env, "run", "--console", name="locked").start(stdin_pipe=True)
    try:
        await bot.write("/help")
        await wait_for(lambda: "/latest" in bot.stdout(), 30, "the bot to answer /help")
        ready = threading.Event()
        holder = threading.Thread(target=hold_exclusive_lock, args=(db, 3.0, ready))
        holder.start()
        assert await asyncio.to_thread(ready.wait, 10)
        locked_at = time.monotonic()
        # Writes: they wait for the lock (busy timeout 5 s) rather than fail.
        await bot.write("/settings length short")
        await bot.write("/subscribe keyword tunnel contracts")
        await bot.write("/subscriptions")
        await asyncio.to_thread(holder.join, 15)
        await wait_for(lambda: bot.stdout().count("tunnel contracts") >= 2, 30, "the answers")
        waited = time.monotonic() - locked_at
        bot.close_stdin()
        code = await bot.wait()
    finally:
        await bot.ensure_stopped()
    out, err = bot.stdout(), bot.stderr()
    assert code == 0, err
    assert "Traceback" not in err and "Something went wrong" not in out
    assert waited >= 2.5  # the commands really did meet the lock
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        [(settings,)] = conn.execute("SELECT settings FROM chats WHERE platform = 'console'")
        assert '"short"' in settings
        assert conn.execute(
            "SELECT count(*) FROM subscriptions WHERE kind = 'keyword'"
        ).fetchone()[0] == 1  # fmt: skip
    finally:
        conn.close()
