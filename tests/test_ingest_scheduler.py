"""Adding sources (detection, SSRF guard) and the live APScheduler jobs behind SourceControl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import SourceError, SourceRefused
from bot.ingest.scheduler import MIN_INTERVAL
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer
from tests.test_ingest_support import HTML_TYPE, RSS_TYPE, article_page, item, prose, rss

pytestmark = pytest.mark.asyncio

LISTING = """<!DOCTYPE html><html><head><title>Columns | The Town Crier</title></head><body>
<nav class="main-nav"><a href="/politics/2024/05/12/nav-link-that-looks-like-an-article">x</a></nav>
<main>
  <article class="card"><h2><a href="/opinion/2024/05/12/why-cities-should-tax-empty-homes">
    Why cities should tax empty homes</a></h2></article>
  <article class="card"><h2><a href="/opinion/columns/the-quiet-death-of-the-op-ed?utm_source=x">
    The quiet death of the op-ed</a></h2></article>
  <div class="pick"><a href="/x1">Editor's pick one</a></div>
  <div class="pick"><a href="/x2">Editor's pick two</a></div>
  <a href="/about">About us</a>
</main></body></html>"""


def serve_listing_articles(server: LocalHTTPServer) -> None:
    paths = [
        "/opinion/2024/05/12/why-cities-should-tax-empty-homes",
        "/opinion/columns/the-quiet-death-of-the-op-ed",
        "/x1",
        "/x2",
    ]
    for n, path in enumerate(paths):
        server.add(path, article_page(f"Article {n}", prose(200 + n)), headers=HTML_TYPE)


def seconds_until(when: datetime | None) -> float:
    assert when is not None
    return (when - datetime.now(UTC)).total_seconds()


async def test_add_feed_reports_title_kind_and_entries(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add(
        "/feed.xml",
        rss([item(http_server.base, n) for n in (1, 2, 3)], title="The Daily Column"),
        headers=RSS_TYPE,
    )
    async with open_core(tmp_path) as core:
        report = await core.add_source(http_server.url("/feed.xml"), interval=600)
        assert (report.kind, report.title, report.entries, report.error) == (
            "feed",
            "The Daily Column",
            3,
            None,
        )
        assert report.source.name == "the-daily-column"
        assert report.source.interval_seconds == 600 and report.source.first_poll_done
        assert await core.services.store.count_pieces() == 3
        # The same feed again is refused; so is a taken name.
        with pytest.raises(SourceError, match="already followed"):
            await core.add_source(http_server.url("/feed.xml"))
        http_server.add("/other.xml", rss([item(http_server.base, 4)]), headers=RSS_TYPE)
        with pytest.raises(SourceError, match="already exists"):
            await core.add_source(http_server.url("/other.xml"), name="the-daily-column")
        # Without a name, a taken one gets a number.
        http_server.add(
            "/third.xml",
            rss([item(http_server.base, 5)], title="The Daily Column"),
            headers=RSS_TYPE,
        )
        third = await core.add_source(http_server.url("/third.xml"))
        assert third.source.name == "the-daily-column-2"


async def test_page_with_alternate_link_becomes_its_feed(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add(
        "/opinion",
        '<html><head><title>Opinion</title><link rel="alternate" '
        'type="application/rss+xml" href="/opinion/rss.xml"></head><body></body></html>',
        headers=HTML_TYPE,
    )
    http_server.add(
        "/opinion/rss.xml", rss([item(http_server.base, 1)], title="Opinion RSS"), headers=RSS_TYPE
    )
    async with open_core(tmp_path) as core:
        report = await core.add_source(http_server.url("/opinion"))
        assert (report.kind, report.title, report.entries) == ("feed", "Opinion RSS", 1)
        assert report.source.url == http_server.url("/opinion/rss.xml")
        assert report.source.kind == "feed"


async def test_listing_without_feed_becomes_a_page_source(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/columns", LISTING, headers=HTML_TYPE)
    serve_listing_articles(http_server)
    async with open_core(tmp_path) as core:
        report = await core.add_source(http_server.url("/columns"), name="crier")
        assert (report.kind, report.entries, report.error) == ("page", 2, None)
        assert report.title == "Columns | The Town Crier"
        urls = {p.url for p in await core.services.store.latest_pieces(10)}
        assert urls == {
            http_server.url("/opinion/2024/05/12/why-cities-should-tax-empty-homes"),
            http_server.url("/opinion/columns/the-quiet-death-of-the-op-ed"),
        }


async def test_listing_with_css_selector(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    http_server.add("/columns", LISTING, headers=HTML_TYPE)
    serve_listing_articles(http_server)
    async with open_core(tmp_path) as core:
        report = await core.add_source(
            http_server.url("/columns"), name="picks", kind="page", selector="div.pick a"
        )
        assert (report.kind, report.entries, report.error) == ("page", 2, None)
        assert report.source.selector == "div.pick a"
        urls = {p.url for p in await core.services.store.latest_pieces(10)}
        assert urls == {http_server.url("/x1"), http_server.url("/x2")}


async def test_chat_added_private_address_is_refused(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/feed.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
    async with open_core(tmp_path, commentary_allow_private_urls=False) as core:
        with pytest.raises(SourceError, match="private or local addresses are not allowed"):
            await core.add_source(
                http_server.url("/feed.xml"), trusted=False, added_by="telegram:5"
            )
        with pytest.raises(SourceError, match="local addresses are not allowed"):
            await core.add_source(f"http://localhost:{http_server.port}/feed.xml", trusted=False)
        with pytest.raises(SourceError, match="Only http"):
            await core.add_source("file:///etc/passwd", trusted=False)
        assert http_server.hits["/feed.xml"] == 0
        assert await core.services.store.list_sources() == []
        # An operator (trusted) may follow a private address on purpose.
        report = await core.add_source(http_server.url("/feed.xml"), name="intranet")
        assert report.error is None and report.entries == 1


async def test_add_with_failing_first_fetch_keeps_the_source_and_says_why(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/feed.xml", "busy", status=503, headers={"Retry-After": "120"})
    async with open_core(tmp_path) as core:
        with pytest.raises(SourceRefused, match="503"):  # refused unless forced
            await core.add_source(http_server.url("/feed.xml"), name="later")
        assert await core.services.store.get_source("later") is None
        report = await core.add_source(http_server.url("/feed.xml"), name="later", force=True)
        assert report.kind == "feed" and "503" in (report.error or "")
        assert (await core.services.store.get_source("later")) is not None
        with pytest.raises(SourceError, match="shortest interval"):
            await core.add_source(http_server.url("/x.xml"), interval=MIN_INTERVAL - 1)


async def test_jobs_follow_add_pause_resume_interval_and_remove(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    for name in ("a", "b"):
        http_server.add(f"/{name}.xml", rss([item(http_server.base, 1)]), headers=RSS_TYPE)
    async with open_core(tmp_path) as core:
        sched = core._scheduler
        await sched.start()
        try:
            assert sched.scheduler is not None and sched.scheduler.get_jobs() == []
            a = (await sched.add(http_server.url("/a.xml"), name="a", interval=600)).source
            b = (await sched.add(http_server.url("/b.xml"), name="b", interval=1200)).source
            job_ids = {job.id for job in sched.scheduler.get_jobs()}
            assert job_ids == {f"source:{a.id}", f"source:{b.id}"}
            job = sched.scheduler.get_job(f"source:{a.id}")
            assert job.trigger.interval == timedelta(seconds=600)
            assert job.trigger.jitter and job.coalesce and job.max_instances == 1
            assert 540 < seconds_until(sched.next_run(a.id)) <= 600

            await sched.set_interval("a", 3600)
            assert sched.scheduler.get_job(f"source:{a.id}").trigger.interval == timedelta(
                seconds=3600
            )
            assert 3000 < seconds_until(sched.next_run(a.id)) <= 3600
            assert (await core.services.store.get_source("a")).interval_seconds == 3600

            paused = await sched.pause("a")
            assert paused.paused and sched.next_run(a.id) is None
            assert {j.id for j in sched.scheduler.get_jobs()} == {f"source:{b.id}"}
            # Changing the interval of a paused source does not wake it up.
            await sched.set_interval("a", 900)
            assert sched.next_run(a.id) is None

            resumed = await sched.resume("a")
            assert not resumed.paused and resumed.consecutive_failures == 0
            assert seconds_until(sched.next_run(a.id)) <= 1  # due at once
            assert sched.scheduler.get_job(f"source:{a.id}").trigger.interval == timedelta(
                seconds=900
            )

            assert await sched.remove("b")
            assert sched.next_run(b.id) is None
            assert await core.services.store.get_source("b") is None
            assert not await sched.remove("b")
            assert await sched.pause("nope") is None
        finally:
            sched.shutdown()


async def test_start_schedules_active_sources_only(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    async with open_core(tmp_path) as core:
        store = core.services.store
        fresh = await store.add_source("fresh", http_server.url("/f.xml"))
        known = await store.add_source("known", http_server.url("/k.xml"), interval_seconds=900)
        due = datetime.now(UTC) + timedelta(seconds=300)
        await store.update_source(known.id, first_poll_done=True, next_run_at=due)
        stopped = await store.add_source("stopped", http_server.url("/s.xml"))
        await store.update_source(stopped.id, paused=True)
        core._scheduler.jitter = False
        await core._scheduler.start()
        try:
            assert core.next_run(stopped.id) is None
            # A never-polled source has its first round at once (one GET, not one per path),
            # and its interval job after that round.
            await core._scheduler.wait_first_rounds([fresh.id], timeout=20)
            assert http_server.hits["/f.xml"] == 1
            assert 1700 < seconds_until(core.next_run(fresh.id)) <= 1800
            # A known source keeps its rhythm across a restart.
            assert 290 < seconds_until(core.next_run(known.id)) <= 300
        finally:
            core._scheduler.shutdown()


async def test_scheduled_run_honours_retry_after_on_429(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/busy.xml", "slow down", status=429, headers={"Retry-After": "7200"})
    async with open_core(tmp_path) as core:
        source = await core.services.store.add_source(
            "busy", http_server.url("/busy.xml"), interval_seconds=60
        )
        await core._scheduler.start()  # never polled: its first round runs at once
        try:
            await core._scheduler.wait_first_rounds([source.id], timeout=20)
            fresh = await core.services.store.get_source_by_id(source.id)
            assert http_server.hits["/busy.xml"] == 1
            assert fresh.consecutive_failures == 1 and "429" in fresh.last_error
            wait = seconds_until(core.next_run(source.id))
            assert 7100 < wait <= 7200  # not the 60 s interval
            stored = fresh.next_run_at
            assert abs((stored - core.next_run(source.id)).total_seconds()) < 1
        finally:
            core._scheduler.shutdown()


async def test_manual_poll_pushes_the_job_back_after_errors_and_unschedules_paused(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/busy.xml", "slow down", status=429, headers={"Retry-After": "3000"})
    http_server.add("/gone.xml", "gone", status=410)
    async with open_core(tmp_path) as core:
        busy = await core.services.store.add_source(
            "busy", http_server.url("/busy.xml"), interval_seconds=60
        )
        gone = await core.services.store.add_source("gone", http_server.url("/gone.xml"))
        for source in (busy, gone):
            await core.services.store.update_source(source.id, first_poll_done=True)
        await core._scheduler.start()
        try:
            assert seconds_until(core.next_run(busy.id)) <= 60
            reports = {r.source: r for r in await core.poll_now()}
            assert reports["busy"].status == "error" and reports["gone"].status == "paused"
            assert 2900 < seconds_until(core.next_run(busy.id)) <= 3000
            assert core.next_run(gone.id) is None
        finally:
            core._scheduler.shutdown()
