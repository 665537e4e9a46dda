"""One polling round for one source: fetch, parse, find new entries, store each piece once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ingest.articles import ArticleBuilder
from bot.pipeline.extract import ExtractionError
from bot.services import PollReport
from bot.sources.feeds import FeedEntry, FeedError, NotAFeedError, parse_feed
from bot.sources.fingerprint import hamming
from bot.sources.http import FetchError, Fetcher
from bot.sources.pages import find_article_links, find_feed_links
from bot.sources.urls import canonicalize_url
from bot.types import Source

if TYPE_CHECKING:
    from storage import AsyncStore

log = logging.getLogger(__name__)

MAX_NEW_PER_ROUND = 30  # a huge feed is worked through over several rounds
FIRST_POLL_BACKLOG = 10  # stored on the first poll; only the newest is posted
PAUSE_AFTER_FAILURES = 10
NEAR_DUPLICATE_BITS = 3


@dataclass
class Outcome:
    report: PollReport
    retry_after: float | None = None  # the server asked us to wait this long
    paused: bool = False


def entry_key(entry: FeedEntry) -> str | None:
    if entry.guid:
        return "guid:" + entry.guid.strip()[:500]
    if entry.url:
        return "url:" + canonicalize_url(entry.url)
    return None


class Poller:
    def __init__(
        self,
        store: AsyncStore,
        fetcher: Fetcher,
        builder: ArticleBuilder,
        *,
        allow_private: bool = False,
        owners: set[str] | None = None,
        on_deliveries: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.builder = builder
        self.allow_private = allow_private
        self.owners = owners or set()
        self.on_deliveries = on_deliveries or (lambda: None)
        self._locks: dict[int, asyncio.Lock] = {}

    def guard_for(self, source: Source) -> bool:
        """Operator sources are trusted; chat-added ones get the SSRF guard."""
        return not source.trusted and not self.allow_private

    async def poll(self, source: Source) -> Outcome:
        lock = self._locks.setdefault(source.id, asyncio.Lock())
        async with lock:  # a manual /poll and the scheduled job never overlap
            source = await self.store.get_source_by_id(source.id) or source
            return await self._poll(source)

    async def _poll(self, source: Source) -> Outcome:
        started = time.monotonic()
        report = PollReport(source=source.name, status="ok")
        try:
            result = await self.fetcher.fetch(
                source.url,
                etag=source.etag,
                last_modified=source.last_modified,
                guard=self.guard_for(source),
                expect="feed" if source.kind == "feed" else "html",
            )
            if result.not_modified:
                await self.store.record_fetch_ok(
                    source.id, etag=source.etag, last_modified=source.last_modified
                )
                report.status = "not_modified"
                report.seconds = time.monotonic() - started
                return Outcome(report)
            title, entries = await self._entries(source, result.content, result.url,
                                                 result.content_type)
        except (FetchError, FeedError) as exc:
            return await self._failed(source, report, exc, started)
        await self.store.record_fetch_ok(
            source.id,
            etag=result.etag,
            last_modified=result.last_modified,
            title=title,
            url=result.permanent_redirect,
        )
        if result.permanent_redirect:
            log.info("source %s moved permanently to %s", source.name, result.permanent_redirect)
        report.entries = len(entries)
        await self._store_new(source, entries, report)
        report.seconds = time.monotonic() - started
        return Outcome(report)

    async def _entries(
        self, source: Source, content: bytes, url: str, content_type: str | None
    ) -> tuple[str | None, list[FeedEntry]]:
        loop = asyncio.get_running_loop()
        if source.kind == "feed":
            try:
                parsed = await loop.run_in_executor(
                    None, lambda: parse_feed(content, url=url, content_type=content_type)
                )
            except NotAFeedError:
                feeds = find_feed_links(content, url)
                hint = f"; it links a feed at {feeds[0]}" if feeds else ""
                raise FeedError(f"this is an HTML page, not a feed{hint}") from None
            return parsed.title, parsed.entries
        entries = await loop.run_in_executor(
            None, lambda: find_article_links(content, url, source.selector)
        )
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
        for owner in self.owners:
            platform, _, user_id = owner.partition(":")
            for chat in await self.store.chats_for_platform_id(platform, user_id):
                chat_ids.add(chat.id)
        for chat_id in chat_ids:
            await self.store.add_notice(chat_id, text)
        if chat_ids:
            self.on_deliveries()

    async def _store_new(self, source: Source, entries: list[FeedEntry], report: PollReport
                         ) -> None:
        keyed = [(entry_key(e), e) for e in entries]
        keyed = [(k, e) for k, e in keyed if k]
        seen = await self.store.seen_keys(source.id, [k for k, _ in keyed])
        fresh = [(k, e) for k, e in keyed if k not in seen]
        first_poll = not source.first_poll_done
        # Newest first so the first poll's one post is the newest piece.
        fresh.sort(key=lambda ke: ke[1].published.timestamp() if ke[1].published else 0,
                   reverse=True)
        fresh = fresh[:FIRST_POLL_BACKLOG if first_poll else MAX_NEW_PER_ROUND]
        fingerprints = await self.store.recent_fingerprints(5000)
        posted_one = False
        for key, entry in fresh:
            try:
                draft = await self.builder.from_entry(entry, source, guard=self.guard_for(source))
            except (FetchError, ExtractionError) as exc:
                # Not marked seen: the next round tries this entry again.
                log.info("entry %s of %s skipped: %s", (entry.url or key)[:200], source.name, exc)
                report.error = report.error or f"an article failed: {exc}"
                continue
            draft.entry_key = key
            duplicate_of = None
            if draft.fingerprint:
                for piece_id, other in fingerprints:
                    if hamming(draft.fingerprint, other) <= NEAR_DUPLICATE_BITS:
                        duplicate_of = piece_id
                        break
            fan_out = not first_poll or not posted_one
            result = await self.store.save_piece(
                draft, fan_out=fan_out, duplicate_of=duplicate_of
            )
            if result.status == "new":
                report.new += 1
                posted_one = True
                if draft.fingerprint:
                    fingerprints.insert(0, (result.piece_id, draft.fingerprint))
                if result.deliveries:
                    self.on_deliveries()
            elif result.status == "updated":
                report.updated += 1
        if first_poll:
            await self.store.update_source(source.id, first_poll_done=True)
