"""APScheduler 3 jobs, one per active source, managed live; also the SourceControl commands use."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from lxml import etree
from lxml import html as lxml_html

from bot import caps
from bot.durations import MAX_SOURCE_INTERVAL, MIN_SOURCE_INTERVAL, check_source_interval
from bot.errors import SourceError, SourceExists, SourceRefused
from bot.ingest.leases import LeasedPolling, supports_leases
from bot.ingest.poller import BUILDING_SLOTS, READING_SLOTS, Outcome, Poller, trusted_host_of
from bot.ingest.timing import MAX_BACKOFF, backoff_seconds, expected_next_run
from bot.pipeline.text import clean_line
from bot.services import AddSourceReport, PollReport
from bot.sources.feeds import FeedError, NotAFeedError, parse_feed
from bot.sources.http import FetchError, FetchResult
from bot.sources.pages import check_selector, find_feed_links
from bot.sources.ssrf import UnsafeURLError
from bot.types import Source, SourceKind

if TYPE_CHECKING:
    from storage import Storage
    from storage.protocols import SourceChanges

log = logging.getLogger(__name__)

MIN_INTERVAL = MIN_SOURCE_INTERVAL
# Stored values above the bound (older versions let them in) are scheduled at the bound.
MAX_INTERVAL = MAX_SOURCE_INTERVAL
# How often the running bot re-reads the sources table, so a source added, edited or removed
# by another process (the command line) is followed within one tick.
SYNC_SECONDS = 3.0
# Sources polled at once by ``poll_now`` (all of them, or one): the poller's reading and
# building slots, which bound the work itself.
POLL_WORKERS = READING_SLOTS + BUILDING_SLOTS


def page_title(content: bytes) -> str | None:
    """The ``<title>`` of a listing page, to name the source."""
    try:
        doc = lxml_html.document_fromstring(content)
    except (ValueError, etree.ParserError):
        return None
    text = " ".join(" ".join(doc.xpath("//title//text()")).split())
    return text[:200] or None


def _check_interval(seconds: int | None) -> None:
    if seconds is None:
        return
    try:
        check_source_interval(seconds)
    except ValueError as exc:
        raise SourceError(str(exc)) from None


def _check_selector(selector: str | None) -> None:
    """A selector that can never work is refused, even with ``force``: it is a typo."""
    if selector is None:
        return
    try:
        check_selector(selector)
    except ValueError as exc:
        raise SourceError(str(exc)) from None


def _slug(text: str, limit: int = 40) -> str:
    """A short name from a title, cut at a word boundary."""
    slug = re.sub(r"[^\w]+", "-", text.casefold()).strip("-")
    if len(slug) > limit:
        cut = slug[: limit + 1].rfind("-")
        slug = slug[: cut if cut > 10 else limit]
    return slug or "source"


def _first_in(source: Source, now: datetime, *, starting: bool = False) -> float | None:
    """Seconds until a source's first run in this process (None: one interval from now).

    A source polled before keeps its rhythm across restarts (an overdue one runs at once);
    one never polled runs now. One polled but never scheduled (no next run stored) waits an
    interval at start (it was just polled before polling started), and runs now when it
    appears later (another process, the command line, added it).
    """
    if not source.first_poll_done:
        return 0.0
    if source.next_run_at is None:
        return None if starting else 0.0
    due = (
        source.next_run_at if source.next_run_at.tzinfo else source.next_run_at.replace(tzinfo=UTC)
    )
    return min(max((due - now).total_seconds(), 0.0), float(source.interval_seconds))


class SourceScheduler:
    """Implements ``bot.services.SourceControl`` over the store, the poller and APScheduler."""

    def __init__(
        self,
        store: Storage,
        poller: Poller,
        *,
        jitter: bool = True,
        sync_seconds: float = SYNC_SECONDS,
    ) -> None:
        self.store = store
        self.poller = poller
        self.jitter = jitter
        self.sync_seconds = sync_seconds
        self.scheduler: AsyncIOScheduler | None = None
        # Several processes on one PostgreSQL database: the table is the schedule (leases.py).
        self.leased: LeasedPolling | None = None
        self._intervals: dict[int, int] = {}  # source id -> the interval its job runs at
        self._sync_task: asyncio.Task[None] | None = None
        self._rounds: set[asyncio.Task[None]] = set()  # rounds in flight, ours and APScheduler's
        self._first_rounds: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        if self.leased is not None:
            return self.leased.running
        return self.scheduler is not None and self.scheduler.running

    async def start(self) -> None:
        """Schedule every active source. Never-polled ones start their first round at once, in
        the background: start-up never waits on a source, and each is fetched once."""
        self._stopping = False
        if supports_leases(self.store):
            self.leased = LeasedPolling(self.store, self.poller, jitter=self.jitter)
            self.leased.start()
            return
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.start()
        await self.sync(starting=True)
        self._sync_task = asyncio.create_task(self._sync_loop(), name="source-sync")
        await self._save_next_runs()

    async def wait_first_rounds(self, source_ids: list[int], timeout: float) -> None:
        """Wait (at most ``timeout`` s) for the first rounds ``start`` began for these sources."""
        tasks = [self._first_rounds[i] for i in source_ids if i in self._first_rounds]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        elif self.leased is not None and source_ids:
            await self._wait_rounds_recorded(source_ids, timeout)

    async def _wait_rounds_recorded(self, source_ids: list[int], timeout: float) -> None:
        """Leased polling (several processes): the table tells when a round has ended."""

        def state(source: Source | None) -> tuple[object, ...]:
            if source is None:
                return ()
            return (source.first_poll_done, source.last_error_at, source.last_ok_at)

        before = {i: state(await self.store.get_source_by_id(i)) for i in source_ids}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while before and loop.time() < deadline:
            await asyncio.sleep(0.1)
            for source_id, was in list(before.items()):
                if state(await self.store.get_source_by_id(source_id)) != was:
                    del before[source_id]

    async def aclose(self, grace: float = 1.0) -> None:
        """Stop scheduling; rounds in flight get ``grace`` seconds to finish, then are cancelled.

        A cancelled round leaves nothing half-written (each piece commits on its own) and is
        not logged as an error: stopping is not a failure of the source.
        """
        self._stopping = True
        if self.leased is not None:
            leased, self.leased = self.leased, None
            in_flight = list(leased._in_flight.values())  # noqa: SLF001 - same package
            if in_flight:
                await asyncio.wait(in_flight, timeout=grace)
            await leased.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new rounds start during the grace period
        rounds = set(self._rounds)
        if rounds:
            _, pending = await asyncio.wait(rounds, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        self.shutdown()

    def shutdown(self) -> None:
        if self.leased is not None:
            self.leased.cancel()
            self.leased = None
        if self._sync_task is not None:
            self._sync_task.cancel()
            self._sync_task = None
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        self._intervals.clear()
        self._first_rounds.clear()

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_seconds)
            try:
                await self.sync()
            except Exception:  # a busy database this tick; the next one catches up
                log.exception("re-reading the sources failed")

    async def sync(self, *, starting: bool = False) -> None:
        """Make the jobs match the sources table: new ones scheduled, gone or paused ones
        dropped, a changed interval applied. Changes made here are already applied; this
        catches those made by other processes (a source one of them added runs at once)."""
        if self.scheduler is None:
            return
        now = datetime.now(UTC)
        active = {s.id: s for s in await self.store.list_sources(active_only=True)}
        for source_id in [i for i in self._intervals if i not in active]:
            self._unschedule(source_id)
        for source in active.values():
            known = self._intervals.get(source.id)
            if known is None and not source.first_poll_done:
                # Its first round starts now, in the background (start-up never waits on a
                # source, and it is fetched once); the interval job runs an interval later.
                self._schedule(source)
                self._start_first_round(source)
            elif known is None:
                self._schedule(source, first_in=_first_in(source, now, starting=starting))
            elif known != max(source.interval_seconds, MIN_INTERVAL):
                self._schedule(source)

    def _start_first_round(self, source: Source) -> None:
        running = self._first_rounds.get(source.id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run_job(source.id), name=f"first:{source.name}")
        self._first_rounds[source.id] = task

    def follow(self, source: Source) -> None:
        """Schedule a source stored by someone else (an import) if polling is running."""
        if self.scheduler is not None:
            self._schedule(source, first_in=_first_in(source, datetime.now(UTC)))

    async def _save_next_runs(self) -> None:
        """Store each job's next run, so `sources list` shows it while the bot runs."""
        if self.scheduler is None:
            return
        for job in self.scheduler.get_jobs():
            source_id = int(job.id.split(":", 1)[1])
            await self.store.update_source(source_id, next_run_at=job.next_run_time)

    def _job_id(self, source_id: int) -> str:
        return f"source:{source_id}"

    def _schedule(self, source: Source, *, first_in: float | None = None) -> None:
        if self.scheduler is None or source.paused:
            return
        interval = min(max(source.interval_seconds, MIN_INTERVAL), MAX_INTERVAL)
        first_in = min(first_in, interval) if first_in is not None else None
        next_run = datetime.now(UTC) + timedelta(
            seconds=first_in if first_in is not None else interval
        )
        self._intervals[source.id] = interval
        self.scheduler.add_job(
            self._run_job,
            "interval",
            seconds=interval,
            jitter=min(interval * 0.1, 60) if self.jitter else None,
            id=self._job_id(source.id),
            args=[source.id],
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            next_run_time=next_run,
            misfire_grace_time=interval,
        )

    def _unschedule(self, source_id: int) -> None:
        self._intervals.pop(source_id, None)
        if self.scheduler is None:
            return
        try:
            self.scheduler.remove_job(self._job_id(source_id))
        except JobLookupError:
            pass

    def next_run(self, source_id: int) -> datetime | None:
        if self.scheduler is None:
            return None
        job = self.scheduler.get_job(self._job_id(source_id))
        return job.next_run_time if job else None

    async def _run_job(self, source_id: int) -> None:
        task = asyncio.current_task()
        if task is not None:  # tracked so that stopping can wait for it, then cancel it
            self._rounds.add(task)
            task.add_done_callback(self._rounds.discard)
        try:
            source = await self.store.get_source_by_id(source_id)
            if source is None or source.paused:
                self._unschedule(source_id)
                return
            try:
                outcome = await self.poller.poll(source)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one source's round must not stop the others
                log.exception("polling %s failed unexpectedly", source.name)
                return
            await self._after_poll(source_id, outcome)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Stopping: the round is abandoned. Returning (not raising) keeps APScheduler from
            # logging the cancellation as a job that "raised an exception".
            log.info("round of source %d stopped by shutdown", source_id)

    async def _after_poll(self, source_id: int, outcome: Outcome) -> None:
        """Unschedule a paused source; back off after errors; honour Retry-After."""
        if outcome.paused:
            self._unschedule(source_id)
            return
        job = self.scheduler.get_job(self._job_id(source_id)) if self.scheduler else None
        if job is None:
            if self.scheduler is None and self.leased is None:
                # No bot running (`fetch`, `sources add`): the record says when it is due.
                fresh = await self.store.get_source_by_id(source_id)
                if fresh is not None:
                    await self.store.update_source(source_id, next_run_at=expected_next_run(fresh))
            return
        delay = None
        if outcome.report.status == "error":
            fresh = await self.store.get_source_by_id(source_id)
            if fresh is None:
                return
            delay = backoff_seconds(fresh.interval_seconds, fresh.consecutive_failures)
        if outcome.retry_after:
            delay = max(delay or 0.0, min(outcome.retry_after, MAX_BACKOFF))
        if delay is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
        job = self.scheduler.get_job(self._job_id(source_id)) if self.scheduler else None
        if job is not None:
            await self.store.update_source(source_id, next_run_at=job.next_run_time)

    # --- SourceControl -----------------------------------------------------------------------
    async def add(
        self,
        url: str,
        *,
        name: str | None = None,
        interval: int | None = None,
        kind: SourceKind | None = None,
        selector: str | None = None,
        trusted: bool = True,
        added_by: str | None = None,
        force: bool = False,
    ) -> AddSourceReport:
        """Add a source, detect its kind (preferring a page's feed), and poll it once now.

        An address that does not work now (404, no such host, a refused port, not a feed) is
        refused with ``SourceRefused``; ``force`` adds it anyway, to be retried on schedule.
        """
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") and not (trusted and parts.scheme == "file"):
            raise SourceError("Only http:// and https:// addresses can be followed.")
        if not trusted and not self.poller.allow_private:
            try:
                await self.poller.fetcher.check_url(url)
            except UnsafeURLError as exc:
                raise SourceRefused(str(exc)) from None
        _check_interval(interval)
        _check_selector(selector)
        if name and name.strip() and await self.store.get_source(name.strip()) is not None:
            raise SourceError(f"A source named {name.strip()!r} already exists; choose another.")
        title = None
        entries = 0
        error = None
        fetched = None
        try:
            kind, url, title, entries, fetched = await self._detect(
                url,
                kind,
                guard=not self.poller.allow_private and not (trusted and parts.scheme == "file"),
                trusted_host=trusted_host_of(url) if trusted else None,
            )
        except FetchError as exc:
            if exc.kind == "unsafe_url":  # never store an address the guard refused
                raise SourceError(f"That address can't be followed: {exc}") from None
            error = str(exc)
            kind = kind or "feed"
        except FeedError as exc:
            error = str(exc)
            kind = kind or "feed"
        except Exception as exc:  # noqa: BLE001 - content no parser expected: one line, logged
            log.exception("reading %s failed", url[:200])
            error = f"it could not be read ({type(exc).__name__})"
            kind = kind or "feed"
        if error is not None and not force:
            raise SourceRefused(error)
        title = clean_line(title, caps.SOURCE_TITLE_CHARS)  # a feed's title names the source
        name = (name or "").strip()
        if not name:
            name = await self._free_name(_slug(title or parts.hostname or "source"))
        elif await self.store.get_source(name) is not None:
            raise SourceError(f"A source named {name!r} already exists; choose another name.")
        by = added_by or ("cli" if trusted else None)
        try:
            source = await self.store.add_source(
                name,
                url,
                kind=kind,
                interval_seconds=interval or 1800,
                selector=selector,
                trusted=trusted,
                added_by=by,
            )
        except SourceExists as exc:
            raise SourceError(str(exc)) from None
        # Its job exists before the first poll, so the re-read of the sources table (sync)
        # meanwhile takes it as known and does not poll it a second time.
        self._schedule(source)
        # From here on the source exists: whatever fails (a full disk while its first pieces
        # are saved) is reported as such, never as "not added".
        try:
            if error is None:
                if self.leased is not None:
                    polled = await self.leased.poll_now(source, prefetched=fetched)
                else:
                    polled = await self.poller.poll(source, prefetched=fetched)
                if polled is not None:  # None: another process took it first and polls it
                    entries = polled.report.entries or entries
                    error = polled.report.error if polled.report.status != "ok" else None
            else:
                # The first fetch failed before the source existed: record it, so `sources
                # list` shows why instead of a clean "new" state.
                await self.store.record_fetch_error(source.id, error)
            if title and source.title != title:
                await self.store.update_source(source.id, title=title)
        except Exception as exc:  # noqa: BLE001 - added all the same; the first round is retried
            log.exception("source %s added, but its first poll failed", source.name)
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            error = f"its pieces could not be saved ({reason})"
        source = await self.store.get_source_by_id(source.id) or source
        if source.paused:  # the first poll found it gone (410)
            self._unschedule(source.id)
        return AddSourceReport(source, kind, title, entries, error)

    async def _free_name(self, base: str) -> str:
        name, n = base, 1
        while await self.store.get_source(name) is not None:
            n += 1
            name = f"{base}-{n}"
        return name

    async def _detect(
        self, url: str, kind: SourceKind | None, *, guard: bool, trusted_host: str | None = None
    ) -> tuple[SourceKind, str, str | None, int, FetchResult]:
        """(kind, url, title, entries, response): a page that links a feed becomes that feed.

        The response is handed to the first poll, so adding a source fetches it once.
        """
        result = await self.poller.fetcher.fetch(
            url, guard=guard, expect="any", trusted_host=trusted_host
        )
        if kind == "page":
            title = await asyncio.to_thread(page_title, result.content)
            return "page", result.permanent_redirect or url, title, 0, result
        try:
            # Off the event loop: a huge feed takes seconds to parse, and chats must not wait.
            parsed = await asyncio.to_thread(
                parse_feed, result.content, url=result.url, content_type=result.content_type
            )
            title, count = parsed.title, len(parsed.entries)
            return "feed", result.permanent_redirect or url, title, count, result
        except NotAFeedError:
            feeds = await asyncio.to_thread(find_feed_links, result.content, result.url)
            if feeds:
                feed_url = feeds[0]
                # Whatever fails now is about the linked feed, maybe on another host: say so.
                followed = f"the page links a feed at {feed_url}, which failed"
                try:
                    feed = await self.poller.fetcher.fetch(
                        feed_url, guard=guard, expect="feed", trusted_host=trusted_host
                    )
                    parsed = await asyncio.to_thread(
                        parse_feed, feed.content, url=feed.url, content_type=feed.content_type
                    )
                except FetchError as exc:
                    raise FetchError(exc.kind, f"{followed}: {exc}", status=exc.status) from None
                except FeedError as exc:
                    raise FeedError(f"{followed}: {exc}") from None
                return "feed", feed_url, parsed.title, len(parsed.entries), feed
            if kind == "feed":
                raise
            title = await asyncio.to_thread(page_title, result.content)
            return "page", result.permanent_redirect or url, title, 0, result

    async def remove(self, name: str) -> bool:
        source = await self.store.get_source(name)
        if source is None:
            return False
        self._unschedule(source.id)
        return await self.store.remove_source(source.name)

    async def pause(self, name: str) -> Source | None:
        source = await self.store.get_source(name)
        if source is None:
            return None
        self._unschedule(source.id)
        return await self.store.update_source(
            source.id, paused=True, paused_reason="paused by an owner"
        )

    async def resume(self, name: str) -> Source | None:
        source = await self.store.get_source(name)
        if source is None:
            return None
        source = await self.store.update_source(
            source.id, paused=False, paused_reason=None, consecutive_failures=0
        )
        self._schedule(source, first_in=0)
        if self.leased is not None:  # due now, in whichever process claims it first
            source = await self.store.update_source(source.id, next_run_at=datetime.now(UTC))
            self.leased.wake()
        return source

    async def edit(
        self,
        name: str,
        *,
        url: str | None = None,
        interval: int | None = None,
        selector: str | None = None,
        new_name: str | None = None,
        force: bool = False,
    ) -> Source:
        """Change a source in place; a new address or selector is tried first (``force`` skips
        that). An empty selector clears it. Its pieces, subscriptions and history stay."""
        source = await self.store.get_source(name)
        if source is None:
            raise SourceError(f"No source named {name!r}.")
        changes: SourceChanges = {}
        if new_name is not None and new_name.strip() != source.name:
            new_name = " ".join(new_name.split())
            if not new_name:
                raise SourceError("A source's name can't be empty.")
            other = await self.store.get_source(new_name)
            if other is not None and other.id != source.id:
                raise SourceError(f"A source named {new_name!r} already exists; choose another.")
            changes["name"] = new_name
        if interval is not None and interval != source.interval_seconds:
            _check_interval(interval)
            changes["interval_seconds"] = interval
        if selector is not None and (selector.strip() or None) != source.selector:
            _check_selector(selector.strip() or None)
            changes["selector"] = selector.strip() or None
        if url is not None and url.strip() != source.url:
            url = url.strip()
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https") and not (source.trusted and scheme == "file"):
                raise SourceError("Only http:// and https:// addresses can be followed.")
            other = await self.store.source_by_url(url)
            if other is not None and other.id != source.id:
                raise SourceError(f"{url} is already followed as {other.name!r}.")
            changes["url"] = url
        if not changes:
            return source
        refetch = "url" in changes or "selector" in changes
        if refetch:
            if not force:
                await self._try_address(
                    str(changes.get("url", source.url)), source.kind, trusted=source.trusted
                )
            # The validators and the failure count belonged to the old address or selector;
            # the next round is a first poll again (its backlog stored, only the newest
            # posted, nothing already seen posted twice) instead of a flood of new links.
            changes["etag"] = None
            changes["last_modified"] = None
            changes["consecutive_failures"] = 0
            changes["last_error"] = None
            changes["first_poll_done"] = False
        updated = await self.store.update_source(source.id, **changes)
        if self.running and not updated.paused:
            self._schedule(updated, first_in=0 if refetch else None)
        return updated

    async def _try_address(self, url: str, kind: SourceKind, *, trusted: bool) -> None:
        """SourceRefused unless ``url`` answers and reads as this kind of source."""
        try:
            await self._detect(
                url,
                kind,
                guard=not self.poller.allow_private and not url.startswith("file:"),
                trusted_host=trusted_host_of(url) if trusted else None,
            )
        except (FetchError, FeedError) as exc:
            raise SourceRefused(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - content no parser expected: one line, logged
            log.exception("reading %s failed", url[:200])
            raise SourceRefused(f"it could not be read ({type(exc).__name__})") from None

    async def set_interval(self, name: str, seconds: int) -> Source | None:
        _check_interval(seconds)
        source = await self.store.get_source(name)
        if source is None:
            return None
        source = await self.store.update_source(source.id, interval_seconds=seconds)
        if self.next_run(source.id) is not None:
            self._schedule(source)
        return source

    async def poll_now(
        self, name: str | None = None, *, progress: Callable[[PollReport], None] | None = None
    ) -> list[PollReport]:
        """Poll one source or all active ones now, concurrently (the fetcher bounds it)."""
        if name:
            source = await self.store.get_source(name)
            if source is None:
                raise SourceError(f"No source named {name!r}. See /sources.")
            sources = [source]
        else:
            sources = await self.store.list_sources(active_only=True)

        async def one(source: Source) -> PollReport:
            try:
                outcome = await self.poller.poll(source)
                report = outcome.report
                await self._after_poll(source.id, outcome)
            except Exception as exc:  # one source's bug must not lose the others' reports
                log.exception("polling %s failed unexpectedly", source.name)
                report = PollReport(source=source.name, status="error", error=repr(exc)[:200])
            if progress:
                progress(report)
            return report

        # A fixed set of workers takes the sources in turn: what waits for the poller's slots
        # is a list entry, not a task per source (5,000 waiting tasks were 10 MB). As many
        # workers as the poller has slots, so its bounds, not this one, set the pace.
        reports: list[PollReport] = []
        slots: dict[int, PollReport] = {}
        todo = iter(enumerate(sources))

        async def worker() -> None:
            for n, source in todo:  # one iterator shared: each source is taken once
                slots[n] = await one(source)

        await asyncio.gather(*(worker() for _ in range(min(POLL_WORKERS, len(sources)))))
        reports.extend(slots[n] for n in range(len(sources)))
        return reports
