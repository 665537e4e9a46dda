"""What handlers get to work with: one object, so handlers never reach into adapters."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.config import Settings
from bot.types import ExtractedPiece, Source, SourceKind, Summary, SummaryLength

if TYPE_CHECKING:
    from bot.status import StatusReport
    from storage import Storage


@dataclass
class AddSourceReport:
    source: Source
    kind: str
    title: str | None
    entries: int
    error: str | None = None  # the first fetch failed; the source is still added


@dataclass
class PollReport:
    source: str
    status: str  # "ok" | "not_modified" | "error" | "paused"
    new: int = 0
    updated: int = 0
    entries: int = 0
    error: str | None = None
    seconds: float = 0.0
    failed: int = 0  # entries that failed this round (tried again next round)
    skipped: int = 0  # entries given up this round after their last try (reported once)


class SourceControl(Protocol):
    """Live source management (the scheduler adds, removes and reschedules jobs at once)."""

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
    ) -> AddSourceReport: ...

    async def remove(self, name: str) -> bool: ...

    async def pause(self, name: str) -> Source | None: ...

    async def resume(self, name: str) -> Source | None: ...

    async def set_interval(self, name: str, seconds: int) -> Source | None: ...

    async def poll_now(self, name: str | None = None) -> list[PollReport]: ...

    def next_run(self, source_id: int) -> datetime | None: ...


class Summarizer(Protocol):
    async def summarize_url(
        self, url: str, length: SummaryLength = "standard", *, guard: bool = True
    ) -> tuple[ExtractedPiece, Summary]: ...


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window)."""

    def __init__(self, limit: int, window: float = 3600.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        events = self._events[key]
        while events and now - events[0] > self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True


@dataclass
class Services:
    settings: Settings
    store: Storage
    sources: SourceControl
    summarizer: Summarizer
    started_at: datetime
    summary_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(10))
    # Searches cost the database the most: a person gets a few a minute.
    search_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(6, 60.0))
    extra_owners: set[str] = field(default_factory=set)  # e.g. the terminal's operator
    # Core.status: the one place /status and `commentary-bot status` read their facts from.
    status: Callable[[], Awaitable[StatusReport]] | None = None

    def is_owner(self, user_key: str) -> bool:
        return user_key in self.settings.owners or user_key in self.extra_owners
