"""One polling round for one source: fetch, parse, find new entries, store each piece once."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot import caps
from bot.delivery.corrections import CORRECTION_WINDOW, change_reason
from bot.delivery.routing import route
from bot.ingest.articles import ArticleBuilder
from bot.metrics import Metrics
from bot.pipeline.text import clean_line
from bot.services import PollReport
from bot.sources.feeds import (
    EntryProblem,
    FeedEntry,
    FeedError,
    NotAFeedError,
    entry_from_json,
    entry_to_json,
    parse_feed,
    problem_for,
)
from bot.sources.fingerprint import near
from bot.sources.http import Fetcher, FetchError, FetchResult
from bot.sources.pages import find_article_links, find_feed_links
from bot.sources.urls import canonicalize_url
from bot.types import EntryFailure, PieceDraft, SaveResult, Source
from storage import StorageError

if TYPE_CHECKING:
    from storage import Storage

log = logging.getLogger(__name__)

# Sources fetched, parsed and sorted at once (the fetcher's own limit is 32 connections).
READING_SLOTS = 64
# Sources whose new entries are being built at once. A source with new entries waits for one
# of these while still holding its reading slot, so when articles are the bottleneck the
# reading stops too, instead of every source of a round queueing its entries in memory.
BUILDING_SLOTS = 16
MAX_NEW_PER_ROUND = 30  # a huge feed is worked through over several rounds
FIRST_POLL_BACKLOG = 10  # stored on the first poll; only the newest is posted
PAUSE_AFTER_FAILURES = 10
# An entry that fails to become a piece is tried in this many rounds, then given up: marked
# seen, reported once (log, the source's last error, the owners) and left alone.
MAX_ENTRY_TRIES = 3
FINGERPRINT_WINDOW = 5000  # how many recent pieces a new one is compared with
FINGERPRINT_REFRESH = 600.0  # seconds; pieces stored by other paths show up after this


@dataclass
class Outcome:
    report: PollReport
    retry_after: float | None = None  # the server asked us to wait this long
    paused: bool = False


def entry_key(entry: FeedEntry) -> str | None:
    """The identity of an entry within its source: GUID, else canonical link, else content."""
    if entry.guid:
        guid = entry.guid.strip()[:500]
        if _safe(guid) != guid:  # not storable as text: its digest stands for it
            return "guid#" + _digest(guid)
        return "guid:" + guid
    if entry.url:
        return "url:" + canonicalize_url(entry.url)
    if entry.title or entry.content_html or entry.summary:
        return "hash:" + _digest(entry.title, entry.content_html, entry.summary)
    return None


def revision_key(key: str, entry: FeedEntry) -> str:
    """Changes when a feed edits an entry (title or text) under the same identity."""
    return "rev:" + _digest(key, entry.title, entry.content_html, entry.summary)


def _safe(text: str) -> str:
    """Lone surrogates (JSON feeds can carry them) cannot be stored or sent: show them as '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _one_line(exc: BaseException) -> str:
    text = " ".join((str(exc) or exc.__class__.__name__).split())
    return _safe(text)[:300]


def trusted_host_of(url: str) -> str | None:
    """The host name of an operator's http(s) URL, the one host their trust extends to."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return (parts.hostname or "").rstrip(".") or None


def _digest(*parts: str | None) -> str:
    data = "\x1f".join(p or "" for p in parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


@dataclass
class _Work:
    key: str
    rev: str | None
    entry: FeedEntry
    edited: bool = False


@dataclass
class _Round:
    """What one round did with its entries, beyond the report's counts."""

    handled: set[str] = dataclasses.field(default_factory=set)  # keys tried this round
    notes: list[str] = dataclasses.field(default_factory=list)  # entries given up


class Poller:
    def __init__(
        self,
        store: Storage,
        fetcher: Fetcher,
        builder: ArticleBuilder,
        *,
        allow_private: bool = False,
        owners: set[str] | None = None,
        on_deliveries: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.fetcher = fetcher
        self.builder = builder
        self.allow_private = allow_private
        self.owners = owners or set()
        self.on_deliveries = on_deliveries or (lambda: None)
        self._locks: dict[int, asyncio.Lock] = {}
        # Near-duplicate detection compares with recent fingerprints; reading 5,000 of them
        # per source per round is the poller's most expensive query, so they are cached here
        # and kept current as pieces are saved.
        self._fingerprints: list[tuple[int, int]] | None = None
        self._fingerprints_at = 0.0
        self._fingerprints_lock = asyncio.Lock()
        # The check-then-save of a piece is serialized so two sources carrying the same
        # syndicated text in one round still store it once.
        self._save_lock = asyncio.Lock()
        # Digest of the last fully processed body per source: servers that ignore conditional
        # requests often send the very same bytes, which need no parsing.
        self._bodies: dict[int, str] = {}
        self._reading = asyncio.Semaphore(READING_SLOTS)
        self._building = asyncio.Semaphore(BUILDING_SLOTS)
        # Sources known to have no entry failure waiting for a retry: their rounds skip that
        # query (two database hops per source per round otherwise).
        self._no_failures: set[int] = set()

    def guard_for(self, source: Source) -> bool:
        """Every fetch is guarded unless private addresses are allowed (see ``trusted_host``)."""
        return not self.allow_private

    def trusted_host(self, source: Source) -> str | None:
        """The host an operator typed: trusted even inside the network (chat sources: none).

        Only that host: the links and redirects an operator's feed hands out are guarded.
        """
        return trusted_host_of(source.url) if source.trusted else None

    def _feed_guard(self, source: Source) -> bool:
        # An operator's file:// source (the demo feed) is read as given; links in it are not.
        is_file = source.url.strip().lower().startswith("file:")
        return self.guard_for(source) and not (source.trusted and is_file)

    async def poll(self, source: Source, *, prefetched: FetchResult | None = None) -> Outcome:
        """One round; ``prefetched`` is a response just fetched (adding a source reads it once)."""
        lock = self._locks.setdefault(source.id, asyncio.Lock())
        waited = lock.locked()
        async with lock:  # a manual /poll and the scheduled job never overlap
            if waited:  # the other round changed the source (validators, state): read it again
                source = await self.store.get_source_by_id(source.id) or source
            outcome = await self._poll(source, prefetched)
        report = outcome.report
        self.metrics.observe_poll(report.status, report.new, report.seconds)
        return outcome

    async def _poll(self, source: Source, prefetched: FetchResult | None = None) -> Outcome:
        # Fetching, parsing and sorting out what is new hold a reading slot; what waits for a
        # slot holds no body, and the slot is given back before articles are fetched. Only
        # the new entries (usually none) outlive it, so memory does not grow with the number
        # of sources polled at once.
        slot = _Slot(self._reading)
        await slot.acquire()
        try:
            return await self._poll_in_slot(source, prefetched, slot)
        finally:
            slot.release()

    async def _poll_in_slot(
        self, source: Source, prefetched: FetchResult | None, slot: _Slot
    ) -> Outcome:
        started = time.monotonic()
        report = PollReport(source=source.name, status="ok")
        done = _Round()
        try:
            result = prefetched or await self.fetcher.fetch(
                source.url,
                etag=source.etag,
                last_modified=source.last_modified,
                guard=self._feed_guard(source),
                trusted_host=self.trusted_host(source),
                expect="feed" if source.kind == "feed" else "html",
            )
            if result.not_modified:
                await self._retry_failed(source, report, done)
                await self.store.record_fetch_ok(
                    source.id,
                    etag=result.etag or source.etag,
                    last_modified=result.last_modified or source.last_modified,
                    note="; ".join(done.notes) or None,
                )
                report.status = "not_modified"
                report.seconds = time.monotonic() - started
                return Outcome(report)
            body_key = _digest(source.kind, source.selector, result.url) + _body_digest(
                result.content, feed=source.kind == "feed"
            )
            problems: list[EntryProblem] = []
            if self._bodies.get(source.id) == body_key and source.first_poll_done:
                title, entries, complete = None, None, True
            else:
                title, entries = await self._entries(
                    source, result.content, result.url, result.content_type, problems
                )
                title = clean_line(title, caps.SOURCE_TITLE_CHARS)
                complete = False
            result.content = b""  # parsed: the body is not needed any more
        except (FetchError, FeedError) as exc:
            return await self._failed(source, report, exc, started)
        if entries is not None:
            report.entries = len(entries)
            if title and title != source.title:
                source = dataclasses.replace(source, title=title)  # the outlet of its pieces
            complete = await self._store_new(source, entries, problems, report, done, slot)
        # Entries that failed in earlier rounds are retried even when the feed is unchanged.
        await self._retry_failed(source, report, done)
        moved_to = result.permanent_redirect
        if moved_to and moved_to != source.url:
            other = await self.store.source_by_url(moved_to)
            if other is not None and other.id != source.id:
                # Two sources now lead to one feed: keep the old URL rather than clash.
                log.info(
                    "source %s moved to %s, already followed as %s",
                    source.name,
                    moved_to,
                    other.name,
                )
                moved_to = None
        # Validators are kept unless entries were left over for a later round (a huge feed is
        # worked through over several rounds). A failed entry does not count: it is retried
        # from the failure record, so the next round can still be a conditional request.
        await self.store.record_fetch_ok(
            source.id,
            etag=result.etag if complete else source.etag,
            last_modified=result.last_modified if complete else source.last_modified,
            title=title,
            url=moved_to,
            note="; ".join(done.notes) or None,
        )
        if complete:
            self._bodies[source.id] = body_key
        else:
            self._bodies.pop(source.id, None)
        if moved_to:
            log.info("source %s moved permanently to %s", source.name, moved_to)
        report.seconds = time.monotonic() - started
        return Outcome(report)

    async def _entries(
        self,
        source: Source,
        content: bytes,
        url: str,
        content_type: str | None,
        problems: list[EntryProblem],
    ) -> tuple[str | None, list[FeedEntry]]:
        """Title and entries; entries that cannot be read are added to ``problems``."""
        loop = asyncio.get_running_loop()
        if source.kind == "feed":
            try:
                parsed = await loop.run_in_executor(
                    None, lambda: parse_feed(content, url=url, content_type=content_type)
                )
            except NotAFeedError:
                feeds = await loop.run_in_executor(None, find_feed_links, content, url)
                hint = f"; it links a feed at {feeds[0]}" if feeds else ""
                raise FeedError(f"this is an HTML page, not a feed{hint}") from None
            problems.extend(parsed.problems)
            return parsed.title, parsed.entries
        bad_links: list[EntryProblem] = []
        try:
            entries = await loop.run_in_executor(
                None, lambda: find_article_links(content, url, source.selector, problems=bad_links)
            )
        except ValueError as exc:  # a bad CSS selector: the owner must change it
            raise FeedError(str(exc)) from None
        for bad in bad_links:
            # A listing's links are not known to be articles (menus, ads): logged, not reported.
            log.info("a link of %s skipped: %s (%s)", source.name, bad.label[:200], bad.error)
        return None, entries

    async def _failed(
        self, source: Source, report: PollReport, exc: Exception, started: float
    ) -> Outcome:
        message = str(exc) or exc.__class__.__name__
        failures = await self.store.record_fetch_error(source.id, message)
        log.warning("source %s failed (%d in a row): %s", source.name, failures, message)
        report.status, report.error = "error", message
        report.seconds = time.monotonic() - started
        gone = isinstance(exc, FetchError) and exc.kind == "gone"
        outcome = Outcome(report, retry_after=getattr(exc, "retry_after", None))
        if gone or failures >= PAUSE_AFTER_FAILURES:
            reason = "the feed is gone (HTTP 410)" if gone else f"{failures} failures in a row"
            if not source.paused:  # a manual poll of a paused source does not tell again
                await self.pause_and_tell(source, reason, message)
            outcome.paused = True
            report.status = "paused"
        return outcome

    async def pause_and_tell(self, source: Source, reason: str, error: str) -> None:
        """Pause a failing source and tell its chats and the owners, once."""
        await self.store.update_source(source.id, paused=True, paused_reason=reason)
        text = (
            f"Source {source.name} is paused: {reason}. Last error: {error[:200]}. "
            "An owner can /resumesource it."
        )
        chat_ids = set(await self.store.subscribed_chat_ids_for_source(source.id))
        chat_ids |= await self._owner_chat_ids()
        for chat_id in sorted(chat_ids):
            await self.store.add_notice(chat_id, text)
        if chat_ids:
            self.on_deliveries()

    # --- new entries ---------------------------------------------------------------------------
    async def _store_new(
        self,
        source: Source,
        entries: list[FeedEntry],
        problems: list[EntryProblem],
        report: PollReport,
        done: _Round,
        slot: _Slot | None = None,
    ) -> bool:
        """Store what is new or edited; True when nothing is left over for a later round.

        Every entry is handled on its own: one that fails is recorded with its tries and the
        others go on.
        """
        track_edits = source.kind == "feed"  # a listing page's link texts are not the piece
        work: list[_Work] = []
        keys: set[str] = set()
        for entry in entries:
            try:
                key = entry_key(entry)
                rev = revision_key(key, entry) if key and track_edits else None
            except Exception as exc:  # noqa: BLE001 - this entry only
                problems.append(problem_for(entry.guid or entry.url or entry.title, exc))
                continue
            if key is None or key in keys:
                continue
            keys.add(key)
            work.append(_Work(key, rev, entry))
        lookup = [w.key for w in work] + [w.rev for w in work if w.rev]
        lookup += [p.key for p in problems]
        seen = await self.store.seen_keys(source.id, lookup) if lookup else set()
        for problem in problems:
            # The same bytes fail the same way: an entry that cannot be read is given up at
            # once (if the feed fixes it, it comes back under another key).
            if problem.key not in seen and problem.key not in done.handled:
                done.handled.add(problem.key)
                await self._entry_failed(
                    source, problem.key, problem.label, problem.error, report, done, give_up=True
                )
        todo: list[_Work] = []
        for w in work:
            if w.key not in seen:
                todo.append(w)
            elif w.rev is not None and w.rev not in seen:
                w.edited = True
                todo.append(w)
        first_poll = not source.first_poll_done
        # Newest first so the first poll's one post is the newest piece.
        todo.sort(key=lambda w: _sort_time(w.entry), reverse=True)
        limit = FIRST_POLL_BACKLOG if first_poll else MAX_NEW_PER_ROUND
        todo, rest = todo[:limit], todo[limit:]
        complete = not rest or first_poll
        # A first round cut short (a crash, a restart) has already posted its one piece.
        posted_one = first_poll and any(k in seen for k in keys)
        # Only what is to be built stays in memory: the other entries go now, and the reading
        # slot is handed to the next source once this one may build (see BUILDING_SLOTS).
        entries.clear()
        del work
        building = _Slot(self._building)
        if todo:
            await building.acquire()
        if slot is not None:
            slot.release()
        try:
            for w in todo:
                done.handled.add(w.key)
                fan_out = not w.edited and (not first_poll or not posted_one)
                extra = [w.rev] if w.rev else []
                try:
                    result = await self._build(source, w.entry, w.key, extra, fan_out=fan_out)
                except StorageError:
                    raise  # the database, not this entry
                except Exception as exc:  # noqa: BLE001 - this entry only; the round goes on
                    await self._entry_failed(
                        source,
                        w.key,
                        w.entry.url or w.entry.guid or w.entry.title or w.key,
                        _one_line(exc),
                        report,
                        done,
                        entry=w.entry,
                        extra_keys=extra,
                        # A first poll posts only its newest piece: if that one failed, the
                        # next newest took its place, so the failed one is not posted later.
                        post=fan_out and not first_poll,
                    )
                    continue
                if result.status == "new":
                    report.new += 1
                    posted_one = True
                elif result.status == "updated":
                    report.updated += 1
        finally:
            building.release()
            if first_poll:
                # Set even when the round stops early, so later rounds post what is new
                # instead of treating it as a first poll's silent backlog.
                if rest:
                    # Older than the backlog: remembered as seen, never fetched or posted.
                    old = [k for w in rest for k in (w.key, w.rev) if k is not None]
                    await self.store.mark_seen_many(source.id, old)
                await self.store.update_source(source.id, first_poll_done=True)
        return complete

    async def _build(
        self, source: Source, entry: FeedEntry, key: str, extra: list[str], *, fan_out: bool
    ) -> SaveResult:
        """One entry to one stored piece (raises whatever building it raises)."""
        draft = await self.builder.from_entry(
            entry, source, guard=self.guard_for(source), trusted_host=self.trusted_host(source)
        )
        draft.entry_key = key
        draft.extra_keys.extend(extra)  # committed with the piece
        result = await self._save(draft, fan_out=fan_out)
        if result.deliveries:
            self.on_deliveries()
        if result.status == "updated":
            await self._queue_corrections(result)
        return result

    async def _queue_corrections(self, result: SaveResult) -> None:
        """The piece changed at its source: bring its recent posts up to date, if it matters.

        Only when the entry changed in the feed (no extra polling), and only posts of the last
        48 hours; the delivery worker edits (or reposts) them under the platform's budget.
        """
        piece = await self.store.get_piece(result.piece_id)
        if piece is None:
            return
        reason = change_reason(piece, result.previous_title, result.previous_summary)
        if reason is None:
            log.info("piece %s changed at its source; typo-level, posts left as they are", piece.id)
            return
        since = datetime.now(UTC) - CORRECTION_WINDOW
        count = await self.store.queue_corrections(piece.id, reason, since)
        log.info("piece %s: %s; %d post(s) to correct", piece.id, reason, count)
        if count:
            self.on_deliveries()

    async def _retry_failed(self, source: Source, report: PollReport, done: _Round) -> None:
        """Try again the entries that failed in earlier rounds and were not in this one."""
        if source.id in self._no_failures:
            return
        waiting = await self.store.pending_entry_failures(source.id)
        if not waiting:
            self._no_failures.add(source.id)
            return
        pending: list[EntryFailure] = [f for f in waiting if f.entry_key not in done.handled]
        if not pending:
            return
        seen = await self.store.seen_keys(source.id, [f.entry_key for f in pending])
        for failure in pending:
            done.handled.add(failure.entry_key)
            if failure.entry_key in seen or not failure.entry_json:
                await self.store.clear_entry_failure(source.id, failure.entry_key)
                continue
            entry = entry_from_json(failure.entry_json)
            try:
                result = await self._build(
                    source, entry, failure.entry_key, failure.extra_keys, fan_out=failure.post
                )
            except StorageError:
                raise
            except Exception as exc:  # noqa: BLE001 - this entry only
                await self._entry_failed(
                    source,
                    failure.entry_key,
                    failure.label,
                    _one_line(exc),
                    report,
                    done,
                    entry=entry,
                    extra_keys=failure.extra_keys,
                    post=failure.post,
                )
                continue
            await self.store.clear_entry_failure(source.id, failure.entry_key)
            log.info("entry %s of %s worked on a later try", failure.label[:200], source.name)
            if result.status == "new":
                report.new += 1
            elif result.status == "updated":
                report.updated += 1

    async def _entry_failed(
        self,
        source: Source,
        key: str,
        label: str,
        error: str,
        report: PollReport,
        done: _Round,
        *,
        entry: FeedEntry | None = None,
        extra_keys: list[str] | None = None,
        post: bool = True,
        give_up: bool = False,
    ) -> None:
        """Count a failed try of one entry; after the last try, give it up and tell once."""
        label = _safe(label)[:200]
        self._no_failures.discard(source.id)
        tries = await self.store.record_entry_failure(
            source.id,
            key,
            label=label,
            error=error,
            entry_json=entry_to_json(entry) if entry is not None else None,
            extra_keys=extra_keys,
            post=post,
        )
        report.failed += 1
        if not give_up and tries < MAX_ENTRY_TRIES:
            log.info(
                "entry %s of %s failed (try %d of %d): %s",
                label,
                source.name,
                tries,
                MAX_ENTRY_TRIES,
                error,
            )
            report.error = (
                report.error or f"an entry failed (try {tries} of {MAX_ENTRY_TRIES}): {error}"
            )
            return
        await self.store.give_up_entry(source.id, key)
        tried = "1 try" if tries == 1 else f"{tries} tries"
        note = f"skipped entry {label} after {tried}: {error}"
        log.warning("source %s: %s", source.name, note)
        report.skipped += 1
        if report.skipped == 1:  # the round's first give-up outranks a "try n of 3"
            report.error = note
        done.notes.append(note)
        await self._tell_owners(
            f"Source {source.name}: {note}. Its other entries are not affected."
        )

    async def _tell_owners(self, text: str) -> None:
        chat_ids = await self._owner_chat_ids()
        for chat_id in sorted(chat_ids):
            await self.store.add_notice(chat_id, text)
        if chat_ids:
            self.on_deliveries()

    async def _owner_chat_ids(self) -> set[int]:
        chat_ids: set[int] = set()
        for owner in self.owners:
            platform, _, user_id = owner.partition(":")
            for chat in await self.store.chats_for_platform_id(platform, user_id):
                chat_ids.add(chat.id)
        return chat_ids

    async def _save(self, draft: PieceDraft, *, fan_out: bool) -> SaveResult:
        async with self._save_lock:
            fingerprints = await self._recent_fingerprints()
            duplicate_of = None
            value = int(draft.fingerprint, 16) if draft.fingerprint else None
            if value is not None:
                for piece_id, other in fingerprints:
                    if near(value, other):
                        duplicate_of = piece_id
                        break
            result = await self.store.save_piece(
                draft, route=route if fan_out else None, duplicate_of=duplicate_of
            )
            if value is not None and result.status == "new":
                fingerprints.insert(0, (result.piece_id, value))
                del fingerprints[FINGERPRINT_WINDOW:]
            return result

    async def _recent_fingerprints(self) -> list[tuple[int, int]]:
        async with self._fingerprints_lock:
            stale = time.monotonic() - self._fingerprints_at > FINGERPRINT_REFRESH
            if self._fingerprints is None or stale:
                rows = await self.store.recent_fingerprints(FINGERPRINT_WINDOW)
                self._fingerprints = [(pid, int(fp, 16)) for pid, fp in rows]
                self._fingerprints_at = time.monotonic()
            return self._fingerprints


def _sort_time(entry: FeedEntry) -> float:
    try:
        return entry.published.timestamp() if entry.published else 0.0
    except (OverflowError, ValueError, OSError):
        return 0.0


# Servers that ignore conditional requests rarely send the very same bytes twice: a
# <lastBuildDate>, a cache-buster comment or a request id changes on every request. For a feed
# the digest that decides "nothing to parse" covers the entries only, from the first <item> or
# <entry> on, without comments; for anything else it covers the whole body.
_FIRST_ENTRY = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)


def _body_digest(content: bytes, *, feed: bool) -> str:
    first = _FIRST_ENTRY.search(content) if feed else None
    if first is not None and content.lstrip()[:1] != b"{":
        content = _COMMENT.sub(b"", content[first.start() :])
    return hashlib.blake2b(content, digest_size=16).hexdigest()


class _Slot:
    """One hold on a semaphore, released once however many times ``release`` is called."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()
