"""What handlers get to work with (``Services``), and the reports of the core's operations."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.config import Settings
from bot.types import Chat, PieceDraft, Source, SourceKind

if TYPE_CHECKING:
    from bot.status import StatusReport
    from bot.translation import Translator
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


@dataclass
class RemovedSource:
    source: Source
    chats_told: int  # chats whose subscription ended with it, each sent a notice


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there (name or URL)


class SourceControl(Protocol):
    """Live source management; the running bot's scheduler follows every change at once."""

    async def add_source(
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
        """Detect the kind, store the source, poll it once; ``SourceError`` says why not
        (``SourceRefused`` when it does not work now and ``force`` is not given)."""
        ...

    async def remove_source(self, name: str) -> RemovedSource | None:
        """Stop following it; its subscribed chats are told. None if there is no such source."""
        ...

    async def pause_source(self, name: str) -> Source | None: ...

    async def resume_source(self, name: str) -> Source | None: ...

    async def set_interval(self, name: str, seconds: int) -> Source | None: ...

    async def poll_now(self, name: str | None = None) -> list[PollReport]: ...

    def next_run(self, source_id: int) -> datetime | None: ...


class DigestControl(Protocol):
    async def request_digest(self, chat: Chat) -> int:
        """Ask for the chat's held digest now; how many pieces it will carry."""
        ...


class Summarizer(Protocol):
    async def draft_for_url(self, url: str, *, guard: bool = True) -> PieceDraft: ...


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window)."""

    def __init__(self, limit: int, window: float = 3600.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        return self.wait(key) == 0.0

    def wait(self, key: str) -> float:
        """0.0 and the event counted, or the seconds until the key may try again."""
        now = time.monotonic()
        events = self._events[key]
        while events and now - events[0] > self.window:
            events.popleft()
        if len(events) >= self.limit:
            return max(1.0, self.window - (now - events[0]))
        events.append(now)
        return 0.0


class Services(Protocol):
    """What a handler gets: settings, storage, and the core's operations (never an adapter)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Storage: ...

    @property
    def sources(self) -> SourceControl: ...

    @property
    def digests(self) -> DigestControl: ...

    @property
    def summarizer(self) -> Summarizer: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def summary_limiter(self) -> RateLimiter: ...

    @property
    def search_limiter(self) -> RateLimiter: ...

    @property
    def status(self) -> Callable[[], Awaitable[StatusReport]] | None:
        """The core's status report (/status reads the same facts as the command line)."""
        ...

    @property
    def extra_owners(self) -> set[str]:
        """Owners besides COMMENTARY_OWNERS (the terminal's operator)."""
        ...

    @property
    def translator(self) -> Translator | None:
        """/settings translate's translator; None when no language model is configured."""
        ...

    def is_owner(self, user_key: str) -> bool: ...


@dataclass
class CoreServices:
    """The ``Services`` the core hands to handlers."""

    settings: Settings
    store: Storage
    sources: SourceControl
    digests: DigestControl
    summarizer: Summarizer
    started_at: datetime
    summary_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(10))
    # Searches cost the database the most: a person gets a few a minute.
    search_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(6, 60.0))
    extra_owners: set[str] = field(default_factory=set)  # e.g. the terminal's operator
    # Core.status: the one place /status and `commentary-bot status` read their facts from.
    status: Callable[[], Awaitable[StatusReport]] | None = None
    # /settings translate: None when no language model is configured.
    translator: Translator | None = None

    def is_owner(self, user_key: str) -> bool:
        return user_key in self.settings.owners or user_key in self.extra_owners
