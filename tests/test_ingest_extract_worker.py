"""Extraction in worker processes: the same pieces as in-process, and a page that crashes or
stalls a worker costs that page only.

The pages come from the local HTTP server and run through the real poller, builder and worker
pool. The misbehaving pages carry a marker that the worker acts on only when
COMMENTARY_TEST_WORKER_FAULTS=1 was set as the pool started (see ``bot.ingest.extract_worker``):
the worker really segfaults, sleeps past the timeout or runs out of memory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.ingest import extract_worker
from bot.ingest.articles import build_draft
from bot.ingest.extract_worker import FAULTS_VARIABLE, ExtractWorkers
from bot.pipeline.errors import ExtractionError
from bot.sources.feeds import FeedEntry
from bot.sources.http import FetchResult
from bot.types import Source
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer
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


def _page(n: int, fault: str | None = None) -> str:
    page = article_page(f"Piece {n}: the council's budget, read closely", prose(n, paragraphs=7))
    if fault:
        page = page.replace("</body>", f"<!-- commentary-test-fault:{fault} --></body>")
    return page


def _serve(server: LocalHTTPServer, numbers: list[int], faults: dict[int, str]) -> None:
    base = server.base
    items = [item(base, n, full=False) for n in numbers]
    server.add("/feed.xml", rss(items), headers=RSS_TYPE)
    for it in items:
        assert it.link is not None
        path = it.link.removeprefix(base)
        server.add(path, _page(it.n, faults.get(it.n)), headers=HTML_TYPE)


async def _poll_with_workers(
    tmp_path: Path,
    server: LocalHTTPServer,
    faults: dict[int, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries 1-4, the faulty ones among them: the others become pieces; the faulty ones are
    recorded as failed (retried later); a later entry is extracted by a fresh worker."""
    _serve(server, [1, 2, 3, 4], faults)
    caplog.set_level(logging.INFO)
    async with open_core(tmp_path, commentary_extract_workers=1) as core:
        await core.services.store.add_source("outlet", server.url("/feed.xml"))
        chat = await subscribed_chat(core, "outlet")
        source = await core.services.store.get_source("outlet")
        await core.services.store.update_source(source.id, first_poll_done=True)

        [report] = await core.poll_now("outlet")

        good = 4 - len(faults)
        assert report.new == good and report.failed == len(faults), report
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat) == good
        failures = await core.services.store.pending_entry_failures(source.id)
        assert sorted(f.label.rsplit("piece-number-", 1)[1][0] for f in failures) == sorted(
            str(n) for n in faults
        )
        worker_lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "bot.ingest.extract_worker" and r.levelno == logging.WARNING
        ]
        assert len(worker_lines) == len(faults), worker_lines  # one line per page
        # The bot goes on: a new entry is extracted by a replacement worker.
        _serve(server, [1, 2, 3, 4, 5], faults)
        [report] = await core.poll_now("outlet")
        assert report.new == 1, report
        assert await count(core, "SELECT count(*) FROM deliveries WHERE chat_id = ?", chat) == (
            good + 1
        )
        # What an operator sees: the replaced workers, and the workers' peak memory.
        await core.refresh_queue_metrics()
        metrics = core.metrics.render().decode()
        for reason in set(faults.values()):  # the fault names are the metric's reasons
            n = 2 * list(faults.values()).count(reason)  # tried in both rounds
            assert (
                f'commentary_extract_workers_replaced_total{{reason="{reason}"}} {n}.0' in metrics
            )
        peak = [x for x in metrics.splitlines() if x.startswith("commentary_extract_worker_peak")]
        assert peak and float(peak[0].split()[-1]) > 0


async def test_a_page_that_crashes_its_worker_fails_alone(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULTS_VARIABLE, "1")
    await _poll_with_workers(tmp_path, http_server, {2: "crash"}, caplog)
    assert any("crashed the reader (SIGSEGV)" in r.getMessage() for r in caplog.records)


async def test_a_page_that_stalls_its_worker_is_stopped_at_the_timeout(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULTS_VARIABLE, "1")
    # Long enough for a real page on a busy machine, short for a test.
    monkeypatch.setattr(extract_worker, "PAGE_TIMEOUT", 5.0)
    await _poll_with_workers(tmp_path, http_server, {3: "stall"}, caplog)
    assert any("took longer than 5s" in r.getMessage() for r in caplog.records)


async def test_a_page_that_exhausts_memory_fails_and_its_worker_is_replaced(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULTS_VARIABLE, "1")
    await _poll_with_workers(tmp_path, http_server, {1: "memory", 4: "crash"}, caplog)
    assert any("ran out of memory" in r.getMessage() for r in caplog.records)


async def test_without_the_test_variable_a_marked_page_is_just_a_page(
    tmp_path: Path, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FAULTS_VARIABLE, raising=False)
    _serve(http_server, [1], {1: "crash"})
    async with open_core(tmp_path, commentary_extract_workers=1) as core:
        await core.services.store.add_source("outlet", http_server.url("/feed.xml"))
        source = await core.services.store.get_source("outlet")
        await core.services.store.update_source(source.id, first_poll_done=True)
        [report] = await core.poll_now("outlet")
        assert report.new == 1 and report.failed == 0, report


def _pages(server_base: str) -> list[tuple[FeedEntry, FetchResult | None]]:
    """Fetched pages and feed-only entries, as the builder gets them."""
    cases: list[tuple[FeedEntry, FetchResult | None]] = []
    for n in range(1, 6):
        url = f"{server_base}/opinion/piece-{n}"
        page = _page(n)
        if n == 2:
            page = page.replace("<head>", f"<head><link rel='canonical' href='{url}-canonical'>")
        body = FetchResult(url=url, status=200, content=page.encode(), content_type="text/html")
        cases.append((FeedEntry(url=url, guid=f"g{n}", title=f"Entry {n}"), body))
    full = FeedEntry(
        url=f"{server_base}/opinion/full",
        guid="full",
        title="A full-text entry",
        content_html="".join(f"<p>{p}</p>" for p in prose(9)),
        content_is_full=True,
    )
    cases.append((full, None))
    return cases


async def test_workers_build_the_same_drafts_as_the_bot_process() -> None:
    source = Source(id=3, name="outlet", url="https://outlet.example/feed.xml", title="Outlet")
    workers = ExtractWorkers(2, pages_per_worker=2)  # several workers replaced on the way
    try:
        for entry, body in _pages("https://outlet.example"):
            here = build_draft(entry, source, body)
            there = await workers.run(entry.url or "", build_draft, entry, source, body)
            assert there == here
            assert there.piece.text and there.summary.text and there.fingerprint
        assert 0 < workers.peak_bytes
        # A page that holds no article fails in the worker just as it does here.
        empty = FetchResult(url="https://outlet.example/x", status=200, content=b"   ")
        entry = FeedEntry(url=empty.url, guid="x", title="x")
        with pytest.raises(ExtractionError) as here_error:
            build_draft(entry, source, empty)
        with pytest.raises(ExtractionError) as there_error:
            await workers.run(empty.url, build_draft, entry, source, empty)
        assert str(there_error.value) == str(here_error.value)
        pids = workers.worker_pids()
        assert len(pids) == 2 and os.getpid() not in pids
    finally:
        await workers.aclose()
    assert workers.worker_pids() == []


async def test_the_service_extracts_in_workers_and_the_terminal_chat_in_process(
    tmp_path: Path,
) -> None:
    from bot.app import open_core as open_app_core
    from tests.factories import make_settings

    settings = make_settings(tmp_path)
    assert settings.extract_processes(service=True) == 2
    assert settings.extract_processes(service=False) == 0
    assert (
        make_settings(tmp_path, commentary_extract_workers="auto").extract_processes(service=True)
        == 2
    )
    assert (
        make_settings(tmp_path, commentary_extract_workers=0).extract_processes(service=True) == 0
    )
    assert (
        make_settings(tmp_path, commentary_extract_workers=3).extract_processes(service=False) == 3
    )
    async with open_app_core(settings, service=True) as core:
        assert core.extract_processes == 2
    async with open_app_core(settings) as core:
        assert core.extract_processes == 0
