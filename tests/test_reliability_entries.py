"""One poisoned entry never stops a source: each entry is handled on its own.

A local hostile server serves feeds and listing pages in which some entries cannot become
pieces (dates out of range, malformed IPv6 links and canonical URLs, a lone surrogate in an id,
no link and no content, an article link that always fails). The good entries of the same round
are stored and posted; the feed's validators are kept, so the next round is a conditional
request; each bad entry is retried a bounded number of times from its failure record, then
marked seen and reported once (log, the source's last error, the owners).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.ingest.poller import MAX_ENTRY_TRIES
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer, etag_resource
from tests.test_ingest_support import (
    HTML_TYPE,
    article_page,
    count,
    item,
    prose,
    rss,
    subscribed_chat,
)

pytestmark = pytest.mark.asyncio

OWNER = "telegram:7"


async def owner_chat(core) -> int:  # type: ignore[no-untyped-def]
    chat = await core.services.store.ensure_chat("telegram", "7", kind="private", title="Owner")
    return chat.id


async def notices(core, chat_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    rows = await core.services.store.run(
        lambda: core.services.store.sync.db.execute(
            "SELECT text FROM notices WHERE chat_id = ? ORDER BY id", [chat_id]
        ).fetchall()
    )
    return [r[0] for r in rows]


def conditional(server: LocalHTTPServer, path: str) -> bool:
    last = server.requests_for(path)[-1]
    return "If-None-Match" in last.headers or "If-Modified-Since" in last.headers


def poisoned_rss(base: str) -> str:
    """Two good entries around four that can never become pieces."""
    good_old = item(base, 1)
    good_new = item(base, 9)
    broken_link = item(base, 5, full=False, link="http://[::1/opinion/broken-ipv6-link-piece")
    always_fails = item(base, 6, full=False, link=f"{base}/opinion/this-piece-always-fails")
    # No link, no content: a title and a GUID only.
    empty = item(base, 7, link=None, body=None, teaser=None, title="Only a title here")
    canonical = item(base, 8, full=False, link=f"{base}/opinion/page-with-a-bad-canonical")
    return rss([good_old, broken_link, always_fails, empty, canonical, good_new])


def serve_articles(server: LocalHTTPServer) -> None:
    server.add("/opinion/this-piece-always-fails", "server error", status=500)
    page = article_page("A page whose canonical is malformed", prose(8))
    page = page.replace("<head>", "<head><link rel='canonical' href='http://[::1/bad'>")
    server.add("/opinion/page-with-a-bad-canonical", page, headers=HTML_TYPE)


async def test_poisoned_entries_are_skipped_retried_then_reported_once(
    tmp_path: Path, http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    base = http_server.base
    http_server.add("/feed.xml", handler=etag_resource(poisoned_rss(base), '"v1"'))
    serve_articles(http_server)
    caplog.set_level(logging.INFO, logger="bot.ingest.poller")
    async with open_core(tmp_path, commentary_owners=OWNER) as core:
        await core.services.store.add_source("poisoned", http_server.url("/feed.xml"))
        readers = await subscribed_chat(core, "poisoned")
        owner = await owner_chat(core)
        source = await core.services.store.get_source("poisoned")
        # A first poll already happened: this round's new entries are posted.
        await core.services.store.update_source(source.id, first_poll_done=True)

        [report] = await core.poll_now("poisoned")
        # The good entries (and the page with a bad canonical, read at its own URL) went on.
        assert report.status == "ok" and report.new == 3, report
        assert report.failed == 3 and report.skipped == 0
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", readers) == 3
        assert await core.services.store.piece_id_for_url(
            f"{base}/opinion/page-with-a-bad-canonical"
        )
        # Validators kept although entries failed.
        assert (await core.services.store.get_source("poisoned")).etag == '"v1"'

        for round_number in range(2, MAX_ENTRY_TRIES + 1):
            [report] = await core.poll_now("poisoned")
            assert conditional(http_server, "/feed.xml"), round_number
            assert report.status == "not_modified" and report.new == 0
        # The last try gave the three up, each reported once.
        assert report.skipped == 3 and "skipped entry" in report.error
        state = await core.services.store.get_source("poisoned")
        assert state.consecutive_failures == 0 and "skipped entry" in state.last_error
        told = await notices(core, owner)
        assert len(told) == 3 and all("poisoned" in t and "skipped entry" in t for t in told)
        assert any("this-piece-always-fails" in t for t in told)
        assert await notices(core, readers) == []  # readers are not told about entries
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len([r for r in warnings if "skipped entry" in r.getMessage()]) == 3
        assert http_server.hits["/opinion/this-piece-always-fails"] == MAX_ENTRY_TRIES

        # Left alone afterwards: not fetched, not reported again; still a conditional GET.
        for _ in range(2):
            [report] = await core.poll_now("poisoned")
            assert report.status == "not_modified" and report.error is None
        assert http_server.hits["/opinion/this-piece-always-fails"] == MAX_ENTRY_TRIES
        assert len(await notices(core, owner)) == 3
        assert len(await core.services.store.skipped_entries(source.id)) == 3
        assert await core.services.store.pending_entry_failures(source.id) == []
        # The operator finds them in `status` and /status (one report).
        status = await core.status()
        assert {e.source for e in status.skipped_entries} == {"poisoned"}
        assert len(status.skipped_entries) == 3
        assert "this-piece-always-fails, after 3 tries" in status.to_text()
        # A good entry that appears later is stored and posted as usual.
        http_server.add(
            "/feed.xml",
            handler=etag_resource(poisoned_rss(base).replace("</channel>", _extra(base)), '"v2"'),
        )
        [report] = await core.poll_now("poisoned")
        assert report.status == "ok" and report.new == 1 and report.failed == 0, report
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", readers) == 4


def _extra(base: str) -> str:
    one = rss([item(base, 10)])
    return one[one.index("<item>") : one.index("</channel>")] + "</channel>"


def json_feed(base: str, items: list[dict]) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "JSON Views", "items": items}
    ).encode()


def json_item(base: str, n: int, **changes: object) -> dict:
    value: dict[str, object] = {
        "id": f"j{n}",
        "url": f"{base}/opinion/json-piece-number-{n}-about-things",
        "title": f"JSON piece {n}",
        "content_html": "".join(f"<p>{p}</p>" for p in prose(300 + n)),
        "date_published": f"2024-05-0{n}T10:00:00+00:00",
    }
    value.update(changes)
    return value


async def test_json_feed_with_a_lone_surrogate_id_and_dates_out_of_range(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    items = [
        json_item(base, 1),
        # A lone surrogate in the id (valid JSON, not storable text).
        json_item(base, 2, id="\ud800broken", title="Broken \ud800 title"),
        # Dates that overflow once moved to UTC: the entry keeps going, without a date.
        json_item(base, 3, date_published="0001-01-01T00:00:00+05:00"),
        json_item(base, 4, date_published="9999-12-31T23:59:59-05:00"),
        json_item(base, 5, url="http://[::1/opinion/x"),  # malformed IPv6 link
    ]
    http_server.add(
        "/feed.json",
        handler=etag_resource(json_feed(base, items), '"j1"', content_type="application/json"),
    )
    async with open_core(tmp_path) as core:
        added = await core.add_source(http_server.url("/feed.json"), name="jf")
        # `add` polls at once; the good entries are stored, nothing raised.
        assert added.entries >= 3
        source = await core.services.store.get_source("jf")
        titles = {p.title for p in await core.services.store.latest_pieces(10)}
        assert {"JSON piece 1", "JSON piece 3", "JSON piece 4"} <= titles
        assert source.first_poll_done and source.etag == '"j1"'
        # The malformed link could not even be read: given up at once (same bytes, same fault).
        skipped = await core.services.store.skipped_entries(source.id)
        assert [s.label for s in skipped] == ["j5"]
        for _ in range(MAX_ENTRY_TRIES):
            [report] = await core.poll_now("jf")
            assert report.status == "not_modified"
        skipped = {s.label for s in await core.services.store.skipped_entries(source.id)}
        assert len(skipped) == 2 and "j5" in skipped
        assert await core.services.store.pending_entry_failures(source.id) == []


async def test_first_poll_with_a_failing_newest_entry_posts_one_and_later_ones(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    newest_fails = item(base, 9, full=False, link=f"{base}/opinion/newest-one-fails-always")
    http_server.add("/opinion/newest-one-fails-always", "gone wrong", status=500)
    feed = rss([item(base, n) for n in (1, 2, 3)] + [newest_fails])
    http_server.add("/feed.xml", handler=etag_resource(feed, '"1"'))
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("fp", http_server.url("/feed.xml"))
        readers = await subscribed_chat(core, "fp")
        [report] = await core.poll_now("fp")
        assert report.new == 3 and report.failed == 1
        # The next newest took the failed one's place: one post for the first poll.
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", readers) == 1
        assert (await core.services.store.get_source("fp")).first_poll_done
        # A piece that appears later is posted (not taken for a first poll's silent backlog).
        feed = rss([item(base, n) for n in (1, 2, 3, 10)] + [newest_fails])
        http_server.add("/feed.xml", handler=etag_resource(feed, '"2"'))
        [report] = await core.poll_now("fp")
        assert report.new == 1
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", readers) == 2


async def test_listing_page_with_overflowing_time_and_a_bad_href(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    cards = "".join(
        f"<article><time datetime='{when}'>x</time>"
        f"<h2><a href='{href}'>Column {n}</a></h2></article>"
        for n, (when, href) in enumerate(
            [
                ("9999-12-31T23:59:59-05:00", "/opinion/2024/05/01/a-column-about-town-1"),
                ("2024-05-02T10:00:00Z", "http://[::1/opinion/2024/05/02/a-broken-link"),
                ("2024-05-03T10:00:00Z", "/opinion/2024/05/03/a-column-about-town-3"),
            ],
            1,
        )
    )
    listing = f"<html><head><title>Town Columns</title></head><body><main>{cards}</main></body>"
    http_server.add("/opinion", listing, headers=HTML_TYPE)
    for n in (1, 3):
        http_server.add(
            f"/opinion/2024/05/0{n}/a-column-about-town-{n}",
            article_page(f"Column {n}", prose(400 + n)),
            headers=HTML_TYPE,
        )
    async with open_core(tmp_path) as core:
        added = await core.add_source(http_server.url("/opinion"), kind="page")
        assert added.error is None and added.entries == 2
        titles = {p.title for p in await core.services.store.latest_pieces(5)}
        assert titles == {"Column 1", "Column 3"}


async def test_malformed_feed_with_no_entries_counts_as_a_failure(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    broken = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Broken</title>"
        "<item><title>unclosed & bad <b></channel>"
    )
    http_server.add("/broken.xml", broken, headers={"Content-Type": "application/rss+xml"})
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("broken", http_server.url("/broken.xml"))
        [report] = await core.poll_now("broken")
        assert report.status == "error" and "malformed" in report.error
        source = await core.services.store.get_source("broken")
        assert source.consecutive_failures == 1 and source.last_error
