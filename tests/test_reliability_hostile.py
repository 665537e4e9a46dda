"""Hostile input: feeds and pages from a hostile web, chat-supplied URLs, and hostile chat users.

* Feeds and article pages go through the real poller (``Core``, the shared ``Fetcher``) from a
  LocalHTTPServer. Each row is one case: it ends in a clear error state or a clean piece, never
  a crash, and a well-behaved control source polled in the same round still gets its piece.
* SSRF: ``/summary`` and ``/addsource`` (as an owner) refuse private, local and odd addresses
  with a clear message, and the HTTP client never connects anywhere but 127.0.0.1.
* Chat: markup in titles, authors and arguments is shown as text; non-admins cannot change a
  group's subscriptions or the sources; forged button data is refused (the Telegram fake).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.console import render_reply as console_render
from bot.adapters.telegram import TelegramAdapter
from bot.app import open_core
from bot.core import Core
from bot.messages import Reply, Request, Response
from bot.sources.http import Fetcher
from bot.sources.ssrf import is_public_ip
from bot.types import Piece
from handlers.registry import command_table
from tests.factories import add_piece, make_settings
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI
from tests.httpserver import LocalHTTPServer, big_body, gzip_bomb, redirect, slow_drip
from tests.support.reliability import article_html
from tests.timing import allowance, cpu_seconds

FIXTURES = Path(__file__).parent / "fixtures" / "hostile"
UA = "commentary-bot-test/reliability"
# Bidi embeddings, overrides and isolates, and zero-width characters (ZWJ/ZWNJ and LRM/RLM
# are left alone: real scripts and emoji need them).
INVISIBLE = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real transport, noting every host the client is asked to connect to."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return await super().handle_async_request(request)


@asynccontextmanager
async def core_with(
    tmp_path: Path, *, transport: RecordingTransport | None = None, **overrides: Any
) -> AsyncIterator[Core]:
    """A Core whose fetcher gives up quickly (a slow drip must not cost a minute)."""
    fetcher_hooks = {k: overrides.pop(k) for k in ("resolve", "ip_policy") if k in overrides}
    settings = make_settings(tmp_path, **overrides)
    fetcher = Fetcher(
        user_agent=UA,
        max_bytes=settings.commentary_max_bytes,
        allow_private=settings.commentary_allow_private_urls,
        connect_timeout=1.5,
        read_timeout=1.5,
        total_timeout=1.5,
        transport=transport,
        **fetcher_hooks,
    )
    async with fetcher, open_core(settings, fetcher=fetcher) as core:
        yield core


# ============================================================================ feeds and pages

CONTROL_TITLE = "Control column on open contracts"


@dataclass
class Case:
    """One hostile source: how the server serves it, and what the poll must end in."""

    serve: Callable[[LocalHTTPServer], None]
    status: str  # the PollReport status: "ok" | "error" | "paused"
    error: str | None = None  # a phrase of report.error ("" for: any error text)
    pieces: int | None = None  # pieces stored from this source
    check: Callable[[list[Piece]], None] | None = None
    seconds: float = 10.0  # the poll must end within this
    marks: list[Any] = field(default_factory=list)


def fixture_feed(
    name: str, content_type: str = "application/rss+xml; charset=utf-8", encoding: str = "latin-1"
):
    def serve(server: LocalHTTPServer) -> None:
        # latin-1 round-trips any bytes: a file's (wrong) encoding is kept as it is.
        text = (FIXTURES / name).read_bytes().decode(encoding).replace("{BASE}", server.base)
        data = text.encode(encoding)
        server.add("/h/feed", data, headers={"Content-Type": content_type})
        server.add("/article", article_html(1, title="Hostile outlet column").encode(),
                   headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip

    return serve


def route(**kwargs: Any):
    def serve(server: LocalHTTPServer) -> None:
        server.add("/h/feed", **kwargs)

    return serve


def article_feed(page: bytes | None = None, **route_kwargs: Any):
    """A well-formed feed whose one entry links to a hostile article page."""

    def serve(server: LocalHTTPServer) -> None:
        link = server.url("/h/article")
        server.add(
            "/h/feed",
            "<?xml version='1.0'?><rss version='2.0'><channel><title>H</title><item>"
            f"<guid>h1</guid><title>Feed title of the hostile page</title><link>{link}</link>"
            "</item></channel></rss>",
            headers={"Content-Type": "application/rss+xml"},
        )
        if page is not None:
            server.add("/h/article", page, headers={"Content-Type": "text/html; charset=utf-8"})
        else:
            server.add("/h/article", **route_kwargs)

    return serve


def _no_script(pieces: list[Piece]) -> None:
    [piece] = pieces
    shown = " ".join(
        filter(None, [piece.title, piece.summary, piece.summary_short, piece.summary_long,
                      piece.standfirst, piece.text, *piece.authors])
    )  # fmt: skip
    for marker in ("SCRIPT-MARKER", "ONERROR-MARKER", "alert(", "javascript:", "<script"):
        assert marker not in shown


def _no_invisible(pieces: list[Piece]) -> None:
    [piece] = pieces
    for name in ("title", "summary", "summary_short", "standfirst"):
        value = getattr(piece, name) or ""
        assert not INVISIBLE.search(value), f"{name} carries {INVISIBLE.findall(value)!r}"
    for author in piece.authors:
        assert not INVISIBLE.search(author)
    assert "Evil" in piece.title and "exe" in piece.title


def _published_not_future(pieces: list[Piece]) -> None:
    [piece] = pieces
    assert piece.published is not None
    published = piece.published if piece.published.tzinfo else piece.published.replace(tzinfo=UTC)
    assert published <= datetime.now(UTC)


def _made_up_identity(pieces: list[Piece]) -> None:
    [piece] = pieces
    assert piece.url.startswith("http://127.0.0.1:") and "#entry-" in piece.url
    assert piece.title.strip() and "council" in piece.text


def _no_passwd(pieces: list[Piece]) -> None:
    for piece in pieces:
        assert "root:" not in piece.title + piece.text


HOSTILE_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'>"
    "<title>Evil\u202egnp.exe title\u200b here</title>"
    "<script>document.write('SCRIPT-MARKER')</script></head><body><article>"
    "<h1>Evil\u202egnp.exe title\u200b here</h1>"
    "<p class='byline'>By Jane\u2066 Roe\u2069</p>"
    "<img src=x onerror=\"alert('ONERROR-MARKER')\">"
    + "".join(
        f"<p>Para\u200b {i}: the council should publish every contract before the vote, "
        f"<script>var x = 'SCRIPT-MARKER';</script>and critics say secrecy costs more.\u202e</p>"
        f"<p onmouseover=\"alert('ONERROR-MARKER')\">Residents deserve to see the figures "
        f"because they pay for every overrun, argument {i}.</p>"
        for i in range(6)
    )
    + "<a href='javascript:alert(1)'>click</a></article></body></html>"
).encode("utf-8")

NESTED_PAGE = (
    "<html><body><article><h1>Deeply nested column</h1>"
    + "<div>" * 10_000
    + "".join(
        f"<p>Nested paragraph {i} argues the council should publish every contract now.</p>"
        for i in range(10)
    )
    + "</div>" * 10_000
    + "</article></body></html>"
).encode()

ONE_LINE_PAGE = (
    b"<html><body><article><h1>One very long line</h1><p>"
    + b"The council should publish every contract before the vote. " * 80_000  # ~4.8 MB
    + b"</p></article></body></html>"
)

CASES: dict[str, Case] = {
    "malformed-xml": Case(fixture_feed("malformed.xml"), "ok"),
    "truncated-xml": Case(fixture_feed("truncated.xml"), "ok"),
    "latin1-declared-utf8": Case(fixture_feed("latin1_declared_utf8.xml"), "ok", pieces=1),
    "utf16-without-bom": Case(
        fixture_feed("utf16_no_bom.xml", "application/xml", "utf-16-le"), "ok", pieces=1
    ),
    "html-served-as-feed": Case(
        fixture_feed("html_as_feed.html", "application/rss+xml"), "error", "HTML page", 0
    ),
    "empty-feed": Case(fixture_feed("empty.xml"), "ok", pieces=0),
    "empty-body": Case(
        route(body=b"", headers={"Content-Type": "application/rss+xml"}), "error", "empty", 0
    ),  # fmt: skip
    "no-link-guid-or-date": Case(
        fixture_feed("no_guid_no_link.xml"), "ok", pieces=1, check=_made_up_identity
    ),
    "description-only": Case(
        fixture_feed("description_only.xml"),
        "ok",
        pieces=1,
        check=_made_up_identity,
    ),  # fmt: skip
    "no-link-title-or-date": Case(
        fixture_feed("no_link_title_date.xml"),
        "ok",
        pieces=1,
        check=_made_up_identity,
    ),  # fmt: skip
    "future-date": Case(fixture_feed("future.xml"), "ok", pieces=1, check=_published_not_future),
    "duplicate-entries": Case(fixture_feed("duplicates.xml"), "ok", pieces=1),
    "entity-bomb": Case(fixture_feed("entity_bomb.xml"), "error", "entities", 0),
    "external-entity": Case(fixture_feed("xxe.xml"), "error", "entities", 0, check=_no_passwd),
    "http-404": Case(route(status=404, body=b"nope"), "error", "HTTP 404", 0),
    "http-410": Case(route(status=410, body=b"gone"), "paused", "410", 0),
    "http-500": Case(route(status=500, body=b"boom"), "error", "HTTP 500", 0),
    "slow-drip": Case(route(handler=slow_drip(0.2)), "error", "timed out", 0, seconds=5),
    "50-MB-body": Case(
        route(handler=big_body(50_000_000, content_type="application/xml")),
        "error",
        "larger than",
        0,
    ),  # fmt: skip
    "50-MB-declared": Case(
        route(handler=big_body(50_000_000, declare_length=True, content_type="text/xml")),
        "error",
        "larger than",
        0,
    ),  # fmt: skip
    "gzip-bomb": Case(route(handler=gzip_bomb(1 << 30)), "error", "larger than", 0),
    "redirect-loop": Case(route(handler=redirect("/h/feed", 302)), "error", "redirect", 0),
    "page-script-and-handlers": Case(article_feed(HOSTILE_PAGE), "ok", pieces=1, check=_no_script),
    "page-bidi-and-zero-width": Case(
        article_feed(HOSTILE_PAGE),
        "ok",
        pieces=1,
        check=_no_invisible,
    ),  # fmt: skip
    # libxml2 stops at 256 levels: the page is reported, not half-extracted.
    "page-10000-nested-tags": Case(article_feed(NESTED_PAGE), "ok", "no article text", 0),
    "page-5MB-single-line": Case(
        article_feed(ONE_LINE_PAGE),
        "ok",
        pieces=1,
        seconds=20,
    ),  # fmt: skip
    "page-404": Case(article_feed(status=404, body=b"x"), "ok", "HTTP 404", 0),
    "page-gzip-bomb": Case(
        article_feed(handler=gzip_bomb(1 << 30, "text/html")), "ok", "larger than", 0
    ),  # fmt: skip
    "page-slow-drip": Case(
        article_feed(handler=slow_drip(0.2, b"<p>", content_type="text/html")),
        "ok",
        "timed out",
        0,
        seconds=5,
    ),  # fmt: skip
    "page-not-html": Case(
        article_feed(
            body=b"\x89PNG\r\n\x1a\n" + bytes(3000), headers={"Content-Type": "image/png"}
        ),
        "ok",
        "",
        0,
    ),  # fmt: skip
}


def serve_control(server: LocalHTTPServer) -> None:
    server.add(
        "/control/feed",
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Control</title><item>"
        f"<guid>c1</guid><title>{CONTROL_TITLE}</title><link>{server.url('/control/a')}</link>"
        "</item></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    server.add("/control/a", article_html(0, title=CONTROL_TITLE).encode(),
               headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=name, marks=c.marks) for name, c in CASES.items()]
)
async def test_hostile_source_never_crashes_the_poller(
    tmp_path: Path, http_server: LocalHTTPServer, case: Case
) -> None:
    case.serve(http_server)
    serve_control(http_server)
    async with core_with(tmp_path) as core:
        hostile = await core.services.store.add_source("hostile", http_server.url("/h/feed"))
        control = await core.services.store.add_source("control", http_server.url("/control/feed"))
        started = time.monotonic()
        reports = {r.source: r for r in await core.poll_now()}
        elapsed = time.monotonic() - started
        report = reports["hostile"]
        assert elapsed < allowance(case.seconds), f"the round took {elapsed:.1f}s"
        assert report.status == case.status, report
        if case.error is not None:
            assert report.error is not None and case.error.lower() in report.error.lower(), report
        elif case.status == "ok":
            assert report.error is None, report
        # The other source of the same round is unaffected.
        assert reports["control"].status == "ok" and reports["control"].new == 1
        [(control_title,)] = await core.services.store.run(
            lambda: core.services.store.sync.db.execute(
                "SELECT title FROM pieces WHERE source_id = ?", [control.id]
            ).fetchall()
        )
        assert control_title == CONTROL_TITLE
        ids = await core.services.store.run(
            lambda: [r[0] for r in core.services.store.sync.db.execute(
                "SELECT id FROM pieces WHERE source_id = ? ORDER BY id", [hostile.id]
            )]
        )  # fmt: skip
        pieces = [await core.services.store.get_piece(i) for i in ids]
        if case.pieces is not None:
            assert len(pieces) == case.pieces, [p.title for p in pieces]
        for piece in pieces:
            assert piece.title.strip() and piece.url.startswith("http")
            assert "\x00" not in piece.title + piece.text
        if case.check is not None:
            case.check(pieces)
        source = await core.services.store.get_source("hostile")
        if case.status != "ok":
            assert source.last_error and source.consecutive_failures == 1
        assert (case.status == "paused") == source.paused
        # A second round behaves the same (no half-state left behind, nothing stored twice).
        again = {r.source: r for r in await core.poll_now()}
        assert again["control"].status in ("ok", "not_modified") and again["control"].new == 0
        if case.pieces is not None and case.status == "ok":
            count = await core.services.store.run(
                lambda: core.services.store.sync.db.execute(
                    "SELECT count(*) FROM pieces WHERE source_id = ?", [hostile.id]
                ).fetchone()[0]
            )
            assert count == case.pieces


def test_summary_cost_does_not_grow_with_page_size() -> None:
    """An 800 kB article costs about what a 40 kB one does (the 5 MB case above, cheaply)."""
    from bot.pipeline.summarize import summarize
    from bot.types import ExtractedPiece

    paragraph = "The council should publish every contract before the vote, says Jane Roe. " * 8

    def seconds(size: int) -> float:
        text = "\n\n".join([paragraph] * (size // len(paragraph)))
        piece = ExtractedPiece(title="T", text=text, url="https://e.example/a", language="en")
        return cpu_seconds(lambda: summarize(piece, "standard"))

    seconds(5_000)  # warm up the splitter and the stopword lists
    small, large = seconds(40_000), seconds(800_000)
    assert large < 3 * small + 0.2, f"40 kB: {small:.2f}s, 800 kB: {large:.2f}s"


# ============================================================================ SSRF

OWNER = "telegram:1"
PRIVATE_TARGETS = {
    "loopback": "http://127.0.0.1:{port}/secret",
    "localhost": "http://localhost:{port}/secret",
    "sub-localhost": "http://admin.localhost:{port}/secret",
    "ipv6-loopback": "http://[::1]:{port}/secret",
    "ten-net": "http://10.0.0.1/secret",
    "172-16": "http://172.16.0.1/secret",
    "192-168": "http://192.168.1.1/secret",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "zero": "http://0.0.0.0:{port}/secret",
    "v4-mapped": "http://[::ffff:127.0.0.1]:{port}/secret",
    "decimal": "http://2130706433:{port}/secret",
    "octal": "http://0177.0.0.1:{port}/secret",
    "dns-to-loopback": "http://intranet.corp.test:{port}/secret",
    "dns-to-private": "http://db.corp.test/secret",
    "file": "file:///etc/passwd",
    "gopher": "gopher://127.0.0.1:{port}/_INFO",
}
CLEAR = re.compile(
    r"not allowed|private|local|only http|can't be followed|invalid redirect|unusual|refused",
    re.I,
)


async def fake_dns(host: str, port: int) -> list[str]:
    """The resolver hook: two made-up internal names, everything else fails (no real DNS)."""
    table = {"intranet.corp.test": ["127.0.0.1"], "db.corp.test": ["10.9.8.7"]}
    if host in table:
        return table[host]
    raise OSError(f"no DNS in tests for {host}")


def loopback_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Lets the test server (exactly 127.0.0.1) play a public host; nothing else changes."""
    return str(ip) == "127.0.0.1" or is_public_ip(ip)


@asynccontextmanager
async def guarded_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, public_test_server: bool
) -> AsyncIterator[tuple[Core, RecordingTransport]]:
    hooks: dict[str, Any] = {"resolve": fake_dns}
    if public_test_server:
        hooks["ip_policy"] = loopback_is_public
    transport = RecordingTransport()
    async with core_with(
        tmp_path, transport=transport, commentary_allow_private_urls=False,
        commentary_owners=OWNER, **hooks,
    ) as core:  # fmt: skip
        yield core, transport


def owner_request(command: str, args: str) -> Request:
    return Request(platform="telegram", chat_id="1", user_id="1", command=command, args=args,
                   is_chat_admin=True)  # fmt: skip


def assert_refused(response: Response, url: str) -> None:
    text = response.plain_text()
    assert response.is_error, f"{url}: {text}"
    assert CLEAR.search(text), f"{url}: unclear refusal {text!r}"


@pytest.mark.parametrize("command", ["summary", "addsource"])
@pytest.mark.parametrize("target", list(PRIVATE_TARGETS.values()), ids=list(PRIVATE_TARGETS))
async def test_chat_urls_to_private_addresses_are_refused(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    target: str,
) -> None:
    http_server.add("/secret", article_html(9, title="Internal admin page").encode(),
                    headers={"Content-Type": "text/html"})  # fmt: skip
    url = target.format(port=http_server.port)
    async with guarded_core(tmp_path, monkeypatch, public_test_server=False) as (core, transport):
        response = await core.handle(owner_request(command, url))
        assert_refused(response, url)
        assert not await core.services.store.list_sources()
    assert transport.hosts == [] and http_server.hits["/secret"] == 0


@pytest.mark.parametrize("command", ["summary", "addsource"])
@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://127.0.0.2:{port}/secret",
        "http://0177.0.0.1:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://db.corp.test/secret",
        "file:///etc/passwd",
    ],
)
async def test_public_url_redirecting_to_private_is_refused(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    target: str,
) -> None:
    http_server.add("/secret", b"internal", headers={"Content-Type": "text/html"})
    http_server.add("/go", handler=redirect("/hop", 301))
    http_server.add("/hop", handler=redirect(target.format(port=http_server.port), 302))
    async with guarded_core(tmp_path, monkeypatch, public_test_server=True) as (core, transport):
        response = await core.handle(owner_request(command, http_server.url("/go")))
        assert_refused(response, target)
        assert not await core.services.store.list_sources()
    assert http_server.hits["/hop"] == 1 and http_server.hits["/secret"] == 0
    assert set(transport.hosts) == {"127.0.0.1"}


async def test_guarded_urls_still_work_when_public(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard is not simply refusing everything: a 'public' page is summarized and added."""
    http_server.add("/col", article_html(3, title="A public column").encode(),
                    headers={"Content-Type": "text/html"})  # fmt: skip
    serve_control(http_server)
    async with guarded_core(tmp_path, monkeypatch, public_test_server=True) as (core, transport):
        summary = await core.handle(owner_request("summary", http_server.url("/col")))
        assert not summary.is_error and "A public column" in summary.plain_text()
        added = await core.handle(owner_request("addsource", http_server.url("/control/feed")))
        assert not added.is_error, added.plain_text()
        [source] = await core.services.store.list_sources()
        assert not source.trusted
    assert set(transport.hosts) == {"127.0.0.1"}


# ============================================================================ hostile chats

TOKEN = "424242:AAH-hostile-SECRET-token-do-not-log_1"
MARKUP_TITLE = '<b>Bold</b> <a href="javascript:alert(1)">x</a> & <script>alert(2)</script>'
MARKUP_AUTHOR = "<i>Mallory</i> & *Co* _under_"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramAPI]:
    # Roomy limits: these tests are about rights and escaping, not flood control.
    limits = FakeLimits(per_chat_burst=50, per_group_per_minute=600)
    async with FakeTelegramAPI(TOKEN, limits=limits) as server:
        yield server


@asynccontextmanager
async def telegram_bot(tmp_path: Path, fake: FakeTelegramAPI) -> AsyncIterator[Core]:
    async with core_with(
        tmp_path, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url,
        commentary_owners="telegram:1",
    ) as core:  # fmt: skip
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
        await adapter.start()
        try:
            yield core
        finally:
            await adapter.stop()


async def test_markup_in_titles_authors_and_arguments_is_shown_as_text(
    tmp_path: Path, tg: FakeTelegramAPI
) -> None:
    ann = tg.add_user(10, "Ann")
    chat = tg.add_private(ann)
    async with telegram_bot(tmp_path, tg) as core:
        source = await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        local = await core.services.store.ensure_chat("telegram", "10")
        await core.services.store.add_subscription(local.id, "source", "demo", source_id=source.id)
        piece_id = await add_piece(core, title=MARKUP_TITLE, authors=[MARKUP_AUTHOR])
        [post] = await tg.wait_sent(1, chat_id=10)
        # The fake parses HTML as Telegram does: markup left in the text would have been
        # refused (400) or eaten; instead the reader sees exactly the characters of the title.
        assert post.parse_mode == "HTML"
        assert post.plain.startswith(MARKUP_TITLE)
        assert MARKUP_AUTHOR in post.plain
        links = re.findall(r'<a href="([^"]*)"', post.text)
        assert links and not any(link.lower().startswith("javascript") for link in links)
        hostile_args = "<b>x</b> & <i>y"
        tg.push_command(chat, ann, f"/subscribe keyword {hostile_args}")
        tg.push_command(chat, ann, "/subscriptions")
        tg.push_command(chat, ann, f"/search {hostile_args}")
        tg.push_command(chat, ann, f"/why <script>{hostile_args}")
        answers = (await tg.wait_sent(5, chat_id=10))[1:]
        assert any("<b>x</b>" in m.plain for m in answers[:2]), [m.plain for m in answers]
        for message in answers:
            assert "<b>x</b>" not in message.text  # escaped on the wire
    assert not [r for r in tg.rejected if r[1] == 400]
    # The terminal chat prints plain text: nothing is interpreted, nothing is lost.
    async with core_with(tmp_path / "console") as console_core:
        piece_id = await add_piece(console_core, title=MARKUP_TITLE, authors=[MARKUP_AUTHOR])
        card = await console_core.piece_card(piece_id)
    printed = console_render(Reply(card=card), "m1")
    assert printed.startswith(f"[m1] {MARKUP_TITLE}") and MARKUP_AUTHOR in printed


async def test_group_non_admins_cannot_change_subscriptions_or_sources(
    tmp_path: Path, tg: FakeTelegramAPI
) -> None:
    admin, member = tg.add_user(20, "Admin"), tg.add_user(21, "Member")
    group = tg.add_group(-100500, "Group", admins=(20,))
    tg.add_channel(-100600, "Chan", "chanx", admins=(20,))
    async with telegram_bot(tmp_path, tg) as core:
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        tg.push_command(group, admin, "/subscribe demo")
        await tg.wait_sent(1, chat_id=-100500)
        before = await core.services.store.count_subscriptions()
        attempts = [
            "/unsubscribe demo",
            "/subscribe author Somebody",
            "/subscribe keyword tunnels",
            "/filter 1 -tunnels",
            "/settings mode digest",
            "/digest",
            "/addsource https://example.org/feed.xml",
            "/removesource demo",
            "/pausesource demo",
            "/interval demo 10m",
        ]
        for text in attempts:
            tg.push_command(group, member, text)
        answers = await tg.wait_sent(1 + len(attempts), chat_id=-100500, timeout=10)
        for text, answer in zip(attempts, answers[1:], strict=True):
            assert re.search(r"administrators|owners only", answer.plain), (text, answer.plain)
        assert await core.services.store.count_subscriptions() == before
        [source] = await core.services.store.list_sources()
        assert not source.paused and source.interval_seconds == 1800
        group_chat = await core.services.store.get_chat("telegram", "-100500")
        assert group_chat.settings.mode == "instant"
        # In a channel, a subscriber's button press that would change subscriptions is refused.
        chan = await core.services.store.ensure_chat("telegram", "-100600", kind="channel")
        src = await core.services.store.get_source("demo")
        await core.services.store.add_subscription(chan.id, "source", "demo", source_id=src.id)
        await add_piece(core, source="demo", authors=["Jane Doe"])
        [post] = await tg.wait_sent(1, chat_id=-100600)
        follow = next(b["callback_data"] for b in post.buttons if ":follow:" in b["callback_data"])
        query = tg.push_callback(member, post, follow)
        answer = await tg.wait_answer(query)
        assert "administrators" in (answer.get("text") or "")
        assert len(await core.services.store.list_subscriptions(chan.id)) == 1


async def test_forged_button_data_is_refused(tmp_path: Path, tg: FakeTelegramAPI) -> None:
    ann, bob = tg.add_user(10, "Ann"), tg.add_user(11, "Bob")
    tg.add_private(ann)
    tg.add_private(bob)
    async with telegram_bot(tmp_path, tg) as core:
        source = await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        ann_chat = await core.services.store.ensure_chat("telegram", "10")
        await core.services.store.add_subscription(
            ann_chat.id, "source", "demo", source_id=source.id
        )
        posted = await add_piece(core, source="demo", title="Posted to Ann")
        [post] = await tg.wait_sent(1, chat_id=10)
        # A piece never posted to Ann (its own source, nobody subscribed).
        secret = await add_piece(core, source="other", title="Never posted to Ann")
        assert secret != posted
        forged = [
            f"a:more:{secret}",
            f"a:full:{secret}",
            f"a:follow:{secret}",
            "a:more:999999",
            "a:removesource:1",
            "a:more:-1",
            "a:more:1;DROP TABLE pieces",
            "x" * 64,
            "",
        ]
        queries = [tg.push_callback(ann, post, data) for data in forged]
        for data, query in zip(forged, queries, strict=True):
            answer = await tg.wait_answer(query)
            assert "no longer works" in (answer.get("text") or ""), (data, answer)
        assert len(tg.messages(10)) == 1  # nothing was posted in answer to a forged button
        assert not any("Never posted" in m.plain for m in tg.sent)
        assert len(await core.services.store.list_subscriptions(ann_chat.id)) == 1
        # A button of Bob's message pressed as if it were under Ann's post does not work either.
        real = next(b["callback_data"] for b in post.buttons if ":more:" in b["callback_data"])
        other = tg.make_message(tg.chats[11], None, "x")
        stolen = tg.push_callback(ann, other, real)
        assert "no longer works" in ((await tg.wait_answer(stolen)).get("text") or "")
        assert await core.services.store.get_piece(secret) is not None
