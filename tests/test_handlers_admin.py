"""Owner commands through the router, with the real scheduler polling a local HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Core
from handlers.limits import MAX_SUBSCRIPTIONS_KEY, MIN_CHAT_INTERVAL_KEY
from tests.factories import add_piece, open_core
from tests.handler_support import OWNER, OWNERS, chat_of, owner_says, say
from tests.httpserver import LocalHTTPServer

ARTICLE = """<!doctype html><html><head><title>{title}</title></head><body><article>
<h1>{title}</h1><p class="byline">By Ann Lee</p>{body}</article></body></html>"""
BODIES = {
    1: """<p>Cities that invest in trains see fewer cars, cleaner air and livelier streets. The
evidence from a decade of projects is clear and it keeps getting stronger every year.</p>
<p>Critics say the money would be better spent on roads, but roads fill up as fast as they
are built, and every new lane brings more traffic rather than less of it.</p>""",
    2: """<p>The school year should start later in the morning. Teenagers sleep late by nature,
and a first lesson at eight asks their bodies to do what they cannot do well.</p>
<p>Districts that moved the bell by an hour report better attendance, calmer classrooms and,
most strikingly, fewer car accidents among young drivers on the way to school.</p>""",
}


def feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Piece {n}</title><link>{base}/a{n}</link><guid>{base}/a{n}</guid>"
        f"<pubDate>Wed, 0{n} May 2024 08:00:00 GMT</pubDate></item>"
        for n in (1, 2)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Local Opinion</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path, commentary_owners=OWNERS) as opened:
        yield opened


@pytest.fixture
async def site(http_server: LocalHTTPServer) -> LocalHTTPServer:
    base = http_server.url("").rstrip("/")
    http_server.add("/feed.xml", body=feed(base), headers={"Content-Type": "application/rss+xml"})
    for n in (1, 2):
        http_server.add(
            f"/a{n}",
            body=ARTICLE.format(title=f"Piece {n}", body=BODIES[n]).encode(),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
    return http_server


ADMIN_COMMANDS = [
    ("addsource", "https://example.com/feed"),
    ("removesource", "x"),
    ("pausesource", "x"),
    ("resumesource", "x"),
    ("interval", "x 1h"),
    ("status", ""),
    ("admins", ""),
    ("limits", "subscriptions 1"),
    ("poll", ""),
]


@pytest.mark.parametrize(("command", "args"), ADMIN_COMMANDS)
async def test_non_owners_are_refused(core: Core, command: str, args: str) -> None:
    # Even a chat admin in a private chat is not a bot owner.
    response = await say(core, command, args, user="someone")
    assert response.is_error and "owners only" in response.plain_text()
    assert await core.services.store.get_value(MAX_SUBSCRIPTIONS_KEY) is None


# --- /addsource --------------------------------------------------------------------------------
async def test_addsource_reports_title_kind_entries(core: Core, site: LocalHTTPServer) -> None:
    response = await owner_says(core, "addsource", f"{site.url('/feed.xml')} local 45m")
    assert not response.is_error, response.plain_text()
    text = response.plain_text()
    assert "Added local: “Local Opinion”, a feed with 2 entries, polled every 45m" in text
    source = await core.services.store.get_source("local")
    assert (source.interval_seconds, source.added_by) == (2700, f"console:{OWNER}")
    assert await core.services.store.count_pieces() == 2
    assert site.hits["/feed.xml"] >= 1


async def test_addsource_guards_against_private_addresses(
    tmp_path: Path, site: LocalHTTPServer
) -> None:
    async with open_core(
        tmp_path, commentary_owners=OWNERS, commentary_allow_private_urls=False
    ) as core:
        response = await owner_says(core, "addsource", site.url("/feed.xml"))
        assert response.is_error and response.plain_text().startswith("Not added:")
        assert await core.services.store.list_sources() == []
        assert site.hits["/feed.xml"] == 0


async def test_addsource_interval_floor(core: Core) -> None:
    response = await owner_says(core, "addsource", "https://example.com/feed.xml news 5m")
    assert response.is_error and "at most every 30m" in response.plain_text()
    await core.services.store.set_value(MIN_CHAT_INTERVAL_KEY, "3600")
    response = await owner_says(core, "addsource", "https://example.com/feed.xml news 45m")
    assert response.is_error and "at most every 1h" in response.plain_text()
    assert await core.services.store.list_sources() == []


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("", "Give the feed or page address"),
        ("https://example.com/f author", "cannot be a source name"),
        ("https://example.com/f " + "n" * 61, "at most 60 characters"),
        ("https://example.com/f name 30d", "longest interval is 7d"),
    ],
)
async def test_addsource_bad_arguments(core: Core, args: str, hint: str) -> None:
    response = await owner_says(core, "addsource", args)
    assert response.is_error and hint in response.plain_text()
    assert "Usage: /addsource <url> [name] [interval]" in response.plain_text()


async def test_addsource_refuses_other_schemes(core: Core) -> None:
    response = await owner_says(core, "addsource", "file:///etc/passwd")
    assert response.is_error and "http" in response.plain_text()
    assert await core.services.store.list_sources() == []


async def test_addsource_duplicate(core: Core, site: LocalHTTPServer) -> None:
    await owner_says(core, "addsource", f"{site.url('/feed.xml')} local")
    again = await owner_says(core, "addsource", f"{site.url('/feed.xml')} other")
    assert again.is_error and "already followed" in again.plain_text()


# --- remove / pause / resume / interval --------------------------------------------------------
async def test_removesource_ends_subscriptions_and_tells_chats(core: Core) -> None:
    await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
    await say(core, "subscribe", "guardian", chat="reader")
    response = await owner_says(core, "removesource", "Guardian")
    assert "Removed guardian; 1 chat lost their subscription" in response.plain_text()
    assert await core.services.store.get_source("guardian") is None
    reader = await chat_of(core, "reader")
    assert await core.services.store.list_subscriptions(reader.id) == []
    notices = await core.services.store.claim_notices("console")
    assert [(chat.id, "guardian is no longer followed" in text) for _, chat, text in notices] == [
        (reader.id, True)
    ]


async def test_unknown_source_names_get_hints(core: Core) -> None:
    await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
    for command in ("removesource", "pausesource", "resumesource", "poll"):
        response = await owner_says(core, command, "guardain")
        assert response.is_error, command
        assert "'guardian'" in response.plain_text() and "/sources" in response.plain_text()
    response = await owner_says(core, "interval", "guardain 1h")
    assert response.is_error and "'guardian'" in response.plain_text()


@pytest.mark.parametrize("command", ["removesource", "pausesource", "resumesource"])
async def test_source_commands_need_a_name(core: Core, command: str) -> None:
    response = await owner_says(core, command, "  ")
    assert response.is_error and f"Usage: /{command} <name>" in response.plain_text()


async def test_pause_and_resume(core: Core) -> None:
    await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
    assert "Paused guardian" in (await owner_says(core, "pausesource", "guardian")).plain_text()
    assert (await core.services.store.get_source("guardian")).paused
    assert "already paused" in (await owner_says(core, "pausesource", "guardian")).plain_text()
    # Resuming polls at once; the unreachable feed only records an error.
    assert "Resumed guardian" in (await owner_says(core, "resumesource", "guardian")).plain_text()
    assert not (await core.services.store.get_source("guardian")).paused
    assert "not paused" in (await owner_says(core, "resumesource", "guardian")).plain_text()


async def test_interval(core: Core) -> None:
    await core.services.store.add_source("the guardian", "https://guardian.example/feed.xml")
    response = await owner_says(core, "interval", "the guardian 2h")
    assert "the guardian is now polled every 2h" in response.plain_text()
    assert (await core.services.store.get_source("the guardian")).interval_seconds == 7200
    bad = await owner_says(core, "interval", "the guardian soon")
    assert bad.is_error and "is not a duration" in bad.plain_text()
    assert (await owner_says(core, "interval", "the guardian 10s")).is_error
    assert (await owner_says(core, "interval", "2h")).is_error  # no source named
    assert (await core.services.store.get_source("the guardian")).interval_seconds == 7200


async def test_interval_floor_for_chat_added_sources(core: Core) -> None:
    await core.services.store.add_source(
        "chatty", "https://c.example/f", added_by="telegram:5", trusted=False
    )
    response = await owner_says(core, "interval", "chatty 10m")
    assert response.is_error and "at most every 30m" in response.plain_text()


# --- status / admins / limits / poll -----------------------------------------------------------
async def test_status(core: Core) -> None:
    await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
    broken = await core.services.store.add_source("broken", "https://broken.example/feed.xml")
    await core.services.store.record_fetch_error(broken.id, "HTTP 500 from broken.example")
    await say(core, "subscribe", "guardian")
    await add_piece(core, source="guardian")
    await core.record_start()
    text = (await owner_says(core, "status")).plain_text()
    assert text.startswith("Up ")
    assert "2 sources (1 failing, 1 new), 1 piece, 1 active chat, 1 subscription." in text
    assert "Outbox: console: 1 pending, oldest waiting" in text
    assert "Messages in the last hour: 0 sent, 0 failed, 0 retried" in text
    failing = text.index("Failing:\n• broken: every 30m, 1 failure in a row")
    assert "HTTP 500 from broken.example" in text[failing:]
    assert "New (not polled yet):\n• guardian: every 30m" in text


async def test_admins(core: Core) -> None:
    text = (await owner_says(core, "admins")).plain_text()
    assert f"• console:{OWNER} (you)" in text


async def test_limits_show_set_and_reset(core: Core) -> None:
    shown = (await owner_says(core, "limits")).plain_text()
    assert "At most 50 subscriptions per chat" in shown and "every 30m" in shown
    changed = await owner_says(core, "limits", "subscriptions 3 interval 1h")
    assert "At most 3 subscriptions per chat" in changed.plain_text()
    assert await core.services.store.get_value(MAX_SUBSCRIPTIONS_KEY) == "3"
    assert await core.services.store.get_value(MIN_CHAT_INTERVAL_KEY) == "3600"
    await owner_says(core, "limits", "subscriptions default")
    assert "At most 50" in (await owner_says(core, "limits")).plain_text()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("subscriptions", "Give each limit a value"),
        ("subscriptions 0", "from 1 to 1000"),
        ("subscriptions 1001", "from 1 to 1000"),
        ("subscriptions -5", "from 1 to 1000"),
        ("subscriptions ²", "from 1 to 1000"),  # a digit to isdigit(), not to int()
        ("interval 10s", "between 1m and 7d"),
        ("interval often", "is not a duration"),
        ("speed 3", "no limit 'speed'"),
        ("subscriptions 5 interval nope", "is not a duration"),
    ],
)
async def test_limits_bad_values_change_nothing(core: Core, args: str, hint: str) -> None:
    response = await owner_says(core, "limits", args)
    assert response.is_error and hint in response.plain_text()
    assert await core.services.store.get_value(MAX_SUBSCRIPTIONS_KEY) is None


async def test_limit_applies_to_subscribe(core: Core) -> None:
    await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
    await owner_says(core, "limits", "subscriptions 1")
    assert not (await say(core, "subscribe", "guardian")).is_error
    assert (await say(core, "subscribe", "keyword trains")).is_error


async def test_poll_reports_per_source(core: Core, site: LocalHTTPServer) -> None:
    await owner_says(core, "addsource", f"{site.url('/feed.xml')} local")
    await core.services.store.add_source("gone", site.url("/missing.xml"))
    text = (await owner_says(core, "poll")).plain_text()
    assert text.startswith("Polled 2 sources: 0 new pieces, 1 error.")
    assert "• gone: error:" in text
    assert "• local: " in text
    one = (await owner_says(core, "poll", "local")).plain_text()
    assert one.startswith("Polled 1 source:")


async def test_poll_with_no_sources(core: Core) -> None:
    assert "No active sources" in (await owner_says(core, "poll")).plain_text()


async def test_database_locked_past_the_busy_timeout_says_try_again(core, tmp_path) -> None:
    """Another process holding the write lock longer than 5 s: a clear answer, no crash."""
    import sqlite3

    from bot.messages import Request
    from handlers.router import dispatch
    from storage import db as storage_db

    blocker = sqlite3.connect(tmp_path / "test.db", timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    core.services.store.sync.db.conn.execute("PRAGMA busy_timeout = 200")  # not 5 s, in a test
    try:
        request = Request(
            platform="console",
            chat_id="c1",
            user_id="u1",
            command="subscribe",
            args="author Nobody",
            is_chat_admin=True,
        )
        response = await dispatch(request, core.services)
    finally:
        blocker.rollback()
        blocker.close()
        core.services.store.sync.db.conn.execute(
            f"PRAGMA busy_timeout = {storage_db.BUSY_TIMEOUT_MS}"
        )
    assert response.is_error and "busy" in response.plain_text()
