"""Polling rounds through the real Core against feeds and pages served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import bot.ingest.poller as poller_module
from bot.ingest.poller import FIRST_POLL_BACKLOG, PAUSE_AFTER_FAILURES
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer, etag_resource, redirect
from tests.test_ingest_support import (
    HTML_TYPE,
    RSS_TYPE,
    article_page,
    count,
    item,
    prose,
    rss,
    subscribed_chat,
)

pytestmark = pytest.mark.asyncio


def counting_parse(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the poller's feed parses (a 304 or an unchanged body must cost none)."""
    calls: list[str] = []
    real = poller_module.parse_feed

    def parse(content: bytes, *, url: str, content_type: str | None = None):  # type: ignore[no-untyped-def]
        calls.append(url)
        return real(content, url=url, content_type=content_type)

    monkeypatch.setattr(poller_module, "parse_feed", parse)
    return calls


def server_saw_conditional(server: LocalHTTPServer, path: str) -> bool:
    last = server.requests_for(path)[-1]
    return "If-None-Match" in last.headers or "If-Modified-Since" in last.headers


async def test_first_poll_backlog_then_conditional_get_then_one_new_entry(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = http_server.base
    items = [item(base, n) for n in range(1, 16)]  # 15 entries: more than the backlog
    lm = "Wed, 01 May 2024 12:00:00 GMT"
    http_server.add("/feed.xml", handler=etag_resource(rss(items), '"v1"', last_modified=lm))
    parses = counting_parse(monkeypatch)
    async with open_core(tmp_path) as core:
        source = await core.services.store.add_source("opinion", http_server.url("/feed.xml"))
        chat_id = await subscribed_chat(core, "opinion")

        [report] = await core.poll_now("opinion")
        assert (report.status, report.new, report.entries) == ("ok", FIRST_POLL_BACKLOG, 15)
        assert await core.services.store.count_pieces() == FIRST_POLL_BACKLOG
        # Only the newest piece is posted; the rest is stored for /latest and search.
        rows = await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat_id)
        assert rows == 1
        [newest] = await core.services.store.latest_pieces(1, source_id=source.id)
        assert newest.title == items[-1].title
        assert await core.services.store.count_deliveries(newest.id) == 1
        assert http_server.requests_for("/feed.xml")[0].headers.get("If-None-Match") is None

        # Second round: validators are sent, the 304 costs no parsing and stores nothing.
        assert len(parses) == 1
        [report] = await core.poll_now("opinion")
        assert report.status == "not_modified"
        request = http_server.requests_for("/feed.xml")[-1]
        assert request.headers.get("If-None-Match") == '"v1"'
        assert request.headers.get("If-Modified-Since") == lm
        assert len(parses) == 1
        assert await core.services.store.count_pieces() == FIRST_POLL_BACKLOG

        # A new entry: exactly one new piece and one delivery. The five entries older than
        # the first poll's backlog are not dug up now.
        items.append(item(base, 16))
        http_server.add("/feed.xml", handler=etag_resource(rss(items), '"v2"'))
        [report] = await core.poll_now("opinion")
        assert (report.status, report.new) == ("ok", 1)
        assert await core.services.store.count_pieces() == FIRST_POLL_BACKLOG + 1
        rows = await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat_id)
        assert rows == 2
        [newest] = await core.services.store.latest_pieces(1, source_id=source.id)
        assert newest.title == items[-1].title
        fresh = await core.services.store.get_source_by_id(source.id)
        assert fresh.etag == '"v2"' and fresh.title == "Test Opinion"


async def test_same_entry_twice_and_utm_tagged_url_are_stored_once(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    body = prose(7)
    http_server.add(
        "/opinion/the-case-for-quiet-streets",
        article_page("Quiet streets", body),
        headers=HTML_TYPE,
    )
    plain = f"{base}/opinion/the-case-for-quiet-streets"
    tagged = plain + "?utm_source=rss&utm_medium=feed"
    entries = [
        item(base, 1, full=False, link=plain, guid="a-1"),
        item(base, 1, full=False, link=plain, guid="a-1"),  # the very same entry twice
        item(base, 2, full=False, link=tagged, guid=None),  # same article, tracking tags
    ]
    http_server.add("/feed.xml", rss(entries), headers=RSS_TYPE)
    async with open_core(tmp_path) as core:
        report = await core.add_source(http_server.url("/feed.xml"), name="streets")
        assert report.error is None
        assert await core.services.store.count_pieces() == 1
        # A later entry for the same article under yet another tagged URL: still one piece.
        entries.append(item(base, 3, full=False, link=plain + "?utm_campaign=x#comments"))
        http_server.add("/feed.xml", rss(entries), headers=RSS_TYPE)
        [again] = await core.poll_now("streets")
        assert again.new == 0 and again.status == "ok"
        assert await core.services.store.count_pieces() == 1
        [piece] = await core.services.store.latest_pieces(5)
        assert piece.url == plain


async def test_syndicated_copy_at_another_outlet_becomes_also_in(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    body = prose(42)
    http_server.add(
        "/a/feed.xml",
        rss(
            [item(base, 1, link=f"{base}/a/column-on-bridges-and-budgets", body=body)],
            title="Alpha Daily",
        ),
        headers=RSS_TYPE,
    )
    copy = f"{base}/b/2024/05/syndicated-column-on-bridges"
    http_server.add(
        "/b/feed.xml",
        rss([item(base, 9, link=copy, guid="b-9", body=body)], title="Beta Weekly"),
        headers=RSS_TYPE,
    )
    async with open_core(tmp_path) as core:
        await core.add_source(http_server.url("/a/feed.xml"), name="alpha")
        beta = await core.add_source(http_server.url("/b/feed.xml"), name="beta")
        beta_chat = await subscribed_chat(core, "beta")
        assert beta.error is None
        assert await core.services.store.count_pieces() == 1
        [piece] = await core.services.store.latest_pieces(5)
        assert piece.outlet == "Alpha Daily"
        assert ("Beta Weekly", copy) in piece.also_in
        assert (
            await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", beta_chat) == 0
        )


async def test_edited_entry_updates_the_text_without_posting_again(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    first, second = item(base, 1), item(base, 2)
    http_server.add("/feed.xml", handler=etag_resource(rss([first]), '"1"'))
    async with open_core(tmp_path) as core:
        await core.add_source(http_server.url("/feed.xml"), name="edits")
        chat_id = await subscribed_chat(core, "edits")
        http_server.add("/feed.xml", handler=etag_resource(rss([first, second]), '"2"'))
        [report] = await core.poll_now("edits")
        assert report.new == 1
        deliveries = await count(core, "SELECT count(*) FROM deliveries")
        assert deliveries == 1

        edited = dataclasses.replace(
            second,
            title="Piece number 2 (corrected)",
            body=[*second.body[:-1], "Correction: an earlier version misstated the budget."],
        )
        http_server.add("/feed.xml", handler=etag_resource(rss([first, edited]), '"3"'))
        [report] = await core.poll_now("edits")
        assert (report.new, report.updated) == (0, 1)
        piece_id = await core.services.store.piece_id_for_guid(second.guid, None)
        piece = await core.services.store.get_piece(piece_id)
        assert piece.title == "Piece number 2 (corrected)"
        assert "misstated the budget" in piece.text
        assert await core.services.store.count_pieces() == 2
        assert (
            await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat_id)
            == deliveries
        )

        # The same edited feed again (no validators honoured): nothing to do.
        http_server.add("/feed.xml", rss([first, edited]), headers=RSS_TYPE)
        [report] = await core.poll_now("edits")
        assert (report.new, report.updated) == (0, 0)


async def test_full_content_entries_are_not_fetched_but_teasers_are_once(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    full = [item(base, n) for n in (1, 2, 3)]
    teasers = [item(base, n, full=False, link=f"{base}/t/opinion-teaser-piece-{n}") for n in (4, 5)]
    for n in (1, 2, 3):
        http_server.add(
            f"/opinion/2024/05/piece-number-{n}-on-civic-life", "never asked", headers=HTML_TYPE
        )
    for n in (4, 5):
        http_server.add(
            f"/t/opinion-teaser-piece-{n}",
            article_page(f"Teaser piece {n}", prose(n)),
            headers=HTML_TYPE,
        )
    http_server.add("/feed.xml", rss(full + teasers), headers=RSS_TYPE)
    async with open_core(tmp_path) as core:
        await core.add_source(http_server.url("/feed.xml"), name="mixed")
        assert await core.services.store.count_pieces() == 5
        for n in (1, 2, 3):
            assert http_server.hits[f"/opinion/2024/05/piece-number-{n}-on-civic-life"] == 0
        assert http_server.hits["/t/opinion-teaser-piece-4"] == 1
        assert http_server.hits["/t/opinion-teaser-piece-5"] == 1
        # The server ignores validators and sends the same feed: nothing is fetched again.
        await core.poll_now("mixed")
        await core.poll_now("mixed")
        assert http_server.hits["/t/opinion-teaser-piece-4"] == 1
        assert http_server.hits["/feed.xml"] == 3  # add (its first poll reuses it), two rounds
        teaser = await core.services.store.get_piece(
            await core.services.store.piece_id_for_url(f"{base}/t/opinion-teaser-piece-4")
        )
        assert teaser.title == "Teaser piece 4"
        assert prose(4)[0][:60] in teaser.text


async def test_entries_without_link_title_or_date_survive(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    entries = [
        item(base, 1, link=None),  # GUID only
        item(base, 2, title=None),
        item(base, 3, published=None),
        item(base, 4, link=None, guid=None),  # neither link nor GUID: only title and text
        item(base, 5, link=None, title=None, published=None),  # a GUID and the text
    ]
    http_server.add("/feed.xml", rss(entries), headers=RSS_TYPE)
    async with open_core(tmp_path) as core:
        source = await core.services.store.add_source("sparse", http_server.url("/feed.xml"))
        [report] = await core.poll_now("sparse")
        assert report.status == "ok" and report.error is None
        assert (report.entries, report.new) == (5, 5)
        pieces = await core.services.store.latest_pieces(10, source_id=source.id)
        assert len(pieces) == 5
        assert all(p.text and p.title for p in pieces)
        assert len({p.url for p in pieces}) == 5
        # Entries without identity get stable keys: polling again stores nothing new.
        [again] = await core.poll_now("sparse")
        assert again.new == 0 and await core.services.store.count_pieces() == 5


async def test_http_410_pauses_at_once_and_tells_each_chat_once(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/gone.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
    async with open_core(tmp_path, commentary_owners="telegram:999") as core:
        await core.add_source(http_server.url("/gone.xml"), name="gone")
        first = await subscribed_chat(core, "gone", "100")
        second = await subscribed_chat(core, "gone", "200")
        owner = await core.services.store.ensure_chat("telegram", "999", kind="private")
        http_server.add("/gone.xml", "gone", status=410)
        [report] = await core.poll_now("gone")
        assert report.status == "paused"
        source = await core.services.store.get_source("gone")
        assert source.paused and "410" in (source.paused_reason or "")
        for chat_id in (first, second, owner.id):
            notices = await count(core, "SELECT count(*) FROM notices WHERE chat_id = ?", chat_id)
            assert notices == 1
        # A manual poll of the paused source does not tell everyone again.
        await core.poll_now("gone")
        assert await count(core, "SELECT count(*) FROM notices") == 3
        # Paused sources are not in the all-sources round.
        before = http_server.hits["/gone.xml"]
        assert await core.poll_now() == []
        assert http_server.hits["/gone.xml"] == before


async def test_ten_failures_in_a_row_pause_the_source(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/flaky.xml", "oops", status=500)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("flaky", http_server.url("/flaky.xml"))
        chat_id = await subscribed_chat(core, "flaky")
        for n in range(1, PAUSE_AFTER_FAILURES):
            [report] = await core.poll_now("flaky")
            assert report.status == "error" and "HTTP 500" in report.error
            source = await core.services.store.get_source("flaky")
            assert source.consecutive_failures == n and not source.paused
        assert await count(core, "SELECT count(*) FROM notices") == 0
        [report] = await core.poll_now("flaky")
        assert report.status == "paused"
        source = await core.services.store.get_source("flaky")
        assert source.paused and source.paused_reason == "10 failures in a row"
        [(text,)] = core.services.store.sync.db.execute(
            "SELECT text FROM notices WHERE chat_id = ?", [chat_id]
        ).fetchall()
        assert "flaky" in text and "HTTP 500" in text


async def test_success_resets_the_failure_count(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/f.xml", "oops", status=503)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("f", http_server.url("/f.xml"))
        for _ in range(PAUSE_AFTER_FAILURES - 1):
            await core.poll_now("f")
        http_server.add("/f.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
        [report] = await core.poll_now("f")
        assert report.status == "ok"
        http_server.add("/f.xml", "oops", status=503)
        [report] = await core.poll_now("f")
        source = await core.services.store.get_source("f")
        assert report.status == "error" and source.consecutive_failures == 1


async def test_permanent_redirect_updates_the_stored_url(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/new.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
    http_server.add("/old.xml", handler=redirect("/new.xml", status=301))
    http_server.add("/temp.xml", handler=redirect("/new2.xml", status=302))
    http_server.add("/new2.xml", rss([item(http_server.base, 2)]), headers=RSS_TYPE)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("moved", http_server.url("/old.xml"))
        await core.services.store.add_source("temp", http_server.url("/temp.xml"))
        reports = await core.poll_now()
        assert [r.status for r in reports] == ["ok", "ok"]
        assert (await core.services.store.get_source("moved")).url == http_server.url("/new.xml")
        assert (await core.services.store.get_source("temp")).url == http_server.url("/temp.xml")
        await core.poll_now("moved")
        assert http_server.hits["/old.xml"] == 1 and http_server.hits["/new.xml"] == 2


async def test_one_bad_source_does_not_stop_the_others(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = http_server.base
    http_server.add("/good.xml", rss([item(base, 1), item(base, 2)]), headers=RSS_TYPE)
    http_server.add("/broken.xml", "<rss><channel><item>", headers=RSS_TYPE)
    http_server.add("/html.xml", "<html><body><p>Hello</p></body></html>", headers=HTML_TYPE)
    http_server.add("/down.xml", status=500)
    http_server.add("/crash.xml", rss([item(base, 3)]), headers=RSS_TYPE)

    async with open_core(tmp_path) as core:
        for name in ("good", "broken", "html", "down", "crash", "refused"):
            url = http_server.url(f"/{name}.xml")
            if name == "refused":
                url = "http://127.0.0.1:9/feed.xml"  # nothing listens on the discard port
            await core.services.store.add_source(name, url)
        crash_id = (await core.services.store.get_source("crash")).id
        real = core._scheduler.poller._poll

        async def flaky_poll(source, *args):  # type: ignore[no-untyped-def]
            if source.id == crash_id:
                raise RuntimeError("a bug in one round")
            return await real(source, *args)

        monkeypatch.setattr(core._scheduler.poller, "_poll", flaky_poll)
        seen: list[str] = []
        reports = await core.poll_now(progress=lambda r: seen.append(r.source))
        by_name = {r.source: r for r in reports}
        assert sorted(seen) == sorted(by_name) and len(by_name) == 6
        assert (by_name["good"].status, by_name["good"].new) == ("ok", 2)
        assert by_name["down"].status == "error" and "500" in by_name["down"].error
        assert by_name["html"].status == "error" and "HTML page" in by_name["html"].error
        assert by_name["refused"].status == "error"
        assert by_name["crash"].status == "error" and "bug" in by_name["crash"].error
        assert by_name["broken"].status in ("ok", "error")
        assert await core.services.store.count_pieces() == 2


async def test_kill_between_entries_leaves_nothing_half_written_or_skipped(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = http_server.base
    http_server.add("/feed.xml", handler=etag_resource(rss([item(base, 1)]), '"1"'))
    async with open_core(tmp_path) as core:
        await core.add_source(http_server.url("/feed.xml"), name="k")
        source = await core.services.store.get_source("k")
        chat_id = await subscribed_chat(core, "k")
        items = [item(base, n) for n in (1, 2, 3, 4)]
        http_server.add("/feed.xml", handler=etag_resource(rss(items), '"2"'))

        store = core.services.store.sync
        real_fan_out = store._fan_out
        calls = {"n": 0}

        def dying_fan_out(piece_id: int, route: Any, **kwargs: Any) -> int:
            calls["n"] += 1
            if calls["n"] == 2:
                real_fan_out(piece_id, route, **kwargs)  # rows written ... then the process "dies"
                raise RuntimeError("killed mid-save")
            return real_fan_out(piece_id, route, **kwargs)

        monkeypatch.setattr(store, "_fan_out", dying_fan_out)
        [report] = await core.poll_now("k")
        # One entry's failure is that entry's: the round goes on with the others.
        assert report.status == "ok" and report.failed == 1 and "killed" in report.error
        # Newest first: piece 4 committed whole; piece 3's transaction rolled back entirely;
        # piece 2 went on.
        assert await core.services.store.count_pieces() == 3
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat_id) == 2
        keys = {
            r[0]
            for r in store.db.execute(
                "SELECT entry_key FROM seen_entries WHERE source_id = ?"
                " AND entry_key LIKE 'guid:%'",
                [source.id],
            ).fetchall()
        }
        assert keys == {"guid:urn:test:piece-1", "guid:urn:test:piece-2", "guid:urn:test:piece-4"}
        orphans = await count(
            core,
            "SELECT count(*) FROM seen_entries WHERE piece_id IS NOT NULL AND piece_id"
            " NOT IN (SELECT id FROM pieces)",
        )
        assert orphans == 0
        # The validators were kept, so the next round is a 304 ...
        assert (await core.services.store.get_source("k")).etag == '"2"'
        monkeypatch.setattr(store, "_fan_out", real_fan_out)
        [report] = await core.poll_now("k")
        # ... and the failed entry is retried from its record: piece 3, posted once.
        assert (report.status, report.new) == ("not_modified", 1)
        assert await core.services.store.count_pieces() == 4
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat_id) == 3
        assert await count(core, "SELECT count(DISTINCT piece_id) FROM deliveries") == 3
        assert await core.services.store.pending_entry_failures(source.id) == []


async def test_failed_article_is_retried_next_round_even_if_the_feed_is_unchanged(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    base = http_server.base
    link = f"{base}/opinion/a-piece-that-fails-at-first"
    http_server.add(
        "/feed.xml",
        handler=etag_resource(rss([item(base, 1), item(base, 2, full=False, link=link)]), '"1"'),
    )
    http_server.add("/opinion/a-piece-that-fails-at-first", "busy", status=503)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("retry", http_server.url("/feed.xml"))
        [report] = await core.poll_now("retry")
        assert report.new == 1 and "failed" in report.error
        http_server.add(
            "/opinion/a-piece-that-fails-at-first",
            article_page("It works now", prose(2)),
            headers=HTML_TYPE,
        )
        [report] = await core.poll_now("retry")
        # The feed's validators were kept: a conditional request, and the entry retried from
        # its failure record.
        assert report.status == "not_modified" and report.new == 1
        assert server_saw_conditional(http_server, "/feed.xml")
        assert await core.services.store.piece_id_for_url(link) is not None
        [report] = await core.poll_now("retry")
        assert report.status == "not_modified" and report.new == 0
        assert http_server.hits["/opinion/a-piece-that-fails-at-first"] == 2


async def test_page_source_stores_article_pages(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    listing = (
        "<html><head><title>Opinion | Local Paper</title></head><body><main>"
        + "".join(
            f"<article><h2><a href='/opinion/2024/05/0{n}/a-column-about-town-{n}'>Column {n}"
            f"</a></h2></article>"
            for n in (1, 2, 3)
        )
        + "<nav><a href='/about'>About</a></nav></main></body></html>"
    )
    http_server.add("/opinion", listing, headers=HTML_TYPE)
    for n in (1, 2, 3):
        http_server.add(
            f"/opinion/2024/05/0{n}/a-column-about-town-{n}",
            article_page(f"Column {n}", prose(100 + n)),
            headers=HTML_TYPE,
        )
    async with open_core(tmp_path) as core:
        added = await core.add_source(http_server.url("/opinion"))
        assert added.kind == "page" and added.entries == 3 and added.error is None
        assert added.source.name == "opinion-local-paper"
        assert await core.services.store.count_pieces() == 3
        titles = {p.title for p in await core.services.store.latest_pieces(5)}
        assert titles == {"Column 1", "Column 2", "Column 3"}


async def test_bad_selector_counts_as_a_failure_with_a_clear_message(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/list", "<html><body><a href='/x'>x</a></body></html>", headers=HTML_TYPE)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source(
            "sel", http_server.url("/list"), kind="page", selector="a[[["
        )
        [report] = await core.poll_now("sel")
        assert report.status == "error" and "invalid CSS selector" in report.error
        assert (await core.services.store.get_source("sel")).consecutive_failures == 1


async def test_server_that_ignores_validators_is_not_reparsed(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[web.Request] = []
    body = rss([item(http_server.base, 1)]).encode()

    async def no_validators(request: web.Request) -> web.Response:
        calls.append(request)
        return web.Response(body=body, headers=RSS_TYPE)

    http_server.add("/feed.xml", handler=no_validators)
    parses = counting_parse(monkeypatch)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("same", http_server.url("/feed.xml"))
        for _ in range(3):
            [report] = await core.poll_now("same")
            assert report.status == "ok"
        assert len(calls) == 3 and len(parses) == 1
        assert await core.services.store.count_pieces() == 1


async def test_feed_rebuilt_on_every_request_is_parsed_only_when_its_entries_change(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many servers ignore validators and stamp each response (<lastBuildDate>, a comment):
    # the bytes always differ, the entries do not.
    entries = [item(http_server.base, 1)]
    served = iter(range(1000))

    async def rebuilt(request: web.Request) -> web.Response:
        n = next(served)
        feed = rss(entries).replace(
            "<description>Opinion pieces</description>",
            f"<description>Opinion pieces</description><lastBuildDate>{n}</lastBuildDate>",
        )
        return web.Response(text=feed + f"<!-- request {n} -->", headers=RSS_TYPE)

    http_server.add("/feed.xml", handler=rebuilt)
    parses = counting_parse(monkeypatch)
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("stamped", http_server.url("/feed.xml"))
        for _ in range(3):
            [report] = await core.poll_now("stamped")
            assert report.status == "ok"
        assert len(parses) == 1
        entries.insert(0, item(http_server.base, 2))
        [report] = await core.poll_now("stamped")
        assert (report.new, len(parses)) == (1, 2)
        assert await core.services.store.count_pieces() == 2


async def test_permanent_redirect_to_a_followed_feed_keeps_the_old_url(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/new.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
    http_server.add("/old.xml", handler=redirect("/new.xml", status=308))
    async with open_core(tmp_path) as core:
        await core.services.store.add_source("new", http_server.url("/new.xml"))
        await core.services.store.add_source("old", http_server.url("/old.xml"))
        reports = await core.poll_now()
        assert [r.status for r in reports] == ["ok", "ok"]
        assert (await core.services.store.get_source("old")).url == http_server.url("/old.xml")
        assert await core.services.store.count_pieces() == 1


async def test_piece_met_in_a_second_source_reaches_that_sources_followers(core) -> None:
    """Stored once from A; B's followers still get it, A's are not posted to again."""
    from tests.factories import add_piece

    piece_id = await add_piece(core, source="outlet-a", url="https://a.example/op/shared-column")
    b = await core.services.store.add_source("outlet-b", "https://b.example/feed.xml")
    chat_a = await core.services.store.ensure_chat("console", "follows-a")
    chat_b = await core.services.store.ensure_chat("console", "follows-b")
    a = await core.services.store.get_source("outlet-a")
    await core.services.store.add_subscription(chat_a.id, "source", "outlet-a", source_id=a.id)
    await core.services.store.add_subscription(chat_b.id, "source", "outlet-b", source_id=b.id)
    await core.services.store.add_subscription(chat_a.id, "source", "outlet-b", source_id=b.id)
    piece = await core.services.store.get_piece(piece_id)
    from bot.delivery.routing import route
    from bot.types import ExtractedPiece, PieceDraft

    draft = PieceDraft(
        url=piece.url,
        piece=ExtractedPiece(title=piece.title, text=piece.text),
        source_id=b.id,
        entry_key="guid:b-1",
    )
    result = await core.services.store.save_piece(draft, route=route)
    assert result.piece_id == piece_id and result.deliveries == 2
    again = await core.services.store.save_piece(draft, route=route)
    assert again.deliveries == 0
    assert await core.services.store.count_deliveries(piece_id) == 2


async def test_when_articles_are_stuck_the_round_stops_reading_feeds(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded work end to end: sources with new entries wait for a building slot while they
    hold their reading slot, so a round whose articles are slow does not read (and hold the
    new entries of) every feed at once; once the articles come, every piece is stored."""
    monkeypatch.setattr(poller_module, "READING_SLOTS", 3)
    monkeypatch.setattr(poller_module, "BUILDING_SLOTS", 2)
    base = http_server.base
    gate = asyncio.Event()
    sources = 12

    def article(n: int) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            await gate.wait()
            page = article_page(f"Stuck piece {n}", prose(100 + n))
            return web.Response(text=page, content_type="text/html")

        return serve

    for n in range(sources):
        link = f"{base}/a/{n}"
        entry = item(base, n, full=False, link=link, guid=f"urn:test:stuck-{n}")
        http_server.add(f"/f/{n}.xml", rss([entry]), headers=RSS_TYPE)
        http_server.add(f"/a/{n}", handler=article(n))

    def hits(prefix: str) -> int:
        return sum(1 for r in http_server.requests if r.path.startswith(prefix))

    async with open_core(tmp_path) as core:
        for n in range(sources):
            await core.services.store.add_source(f"stuck-{n}", http_server.url(f"/f/{n}.xml"))
        round_ = asyncio.create_task(core.poll_now())
        # Two sources build (their articles are asked for and hang); three more have read
        # their feeds and wait for a building slot; nobody else reads.
        for _ in range(400):
            if hits("/a/") == 2 and hits("/f/") == 5:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.3)  # room for a round that does not stop to go on reading
        assert (hits("/a/"), hits("/f/")) == (2, 5)
        gate.set()
        reports = await round_
        assert sorted(r.new for r in reports) == [1] * sources
        assert await core.services.store.count_pieces() == sources


async def test_polling_every_source_takes_them_a_few_at_a_time_and_reports_each_once(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round over all sources runs a fixed number at once (not a task per source waiting in
    memory): here 3 for 10 feeds; every source is polled once and reported in order."""
    import bot.ingest.scheduler as scheduler_module

    monkeypatch.setattr(scheduler_module, "POLL_WORKERS", 3)
    now = {"in": 0, "most": 0}
    body = rss([])
    overlapped = asyncio.Event()  # set once two feeds are read at the same time

    async def slow_feed(request: web.Request) -> web.StreamResponse:
        now["in"] += 1
        now["most"] = max(now["most"], now["in"])
        if now["in"] > 1:
            overlapped.set()
        try:
            # A feed answers once another is being read too (or after 5 s: polling in series
            # would never overlap, and fails below).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(overlapped.wait(), 5.0)
            return web.Response(text=body, headers=RSS_TYPE)
        finally:
            now["in"] -= 1

    names = [f"s{n:02d}" for n in range(10)]
    for name in names:
        http_server.add(f"/{name}.xml", handler=slow_feed)
    async with open_core(tmp_path) as core:
        for name in names:
            await core.services.store.add_source(name, http_server.url(f"/{name}.xml"))
        reports = await core.poll_now()
    assert [r.source for r in reports] == names
    assert all(r.status == "ok" for r in reports)
    assert all(http_server.hits[f"/{name}.xml"] == 1 for name in names)
    assert 1 < now["most"] <= 3
