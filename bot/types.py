"""Domain objects shared by the core, the handlers and storage.

These are plain dataclasses: storage turns rows into them, the pipeline produces them, the
handlers and adapters read them. Times are timezone-aware UTC ``datetime`` objects or ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SourceKind = Literal["feed", "page"]
SourceState = Literal["new", "ok", "failing", "paused"]
SummaryLength = Literal["short", "standard", "long"]
ChatKind = Literal["private", "group", "channel", "thread"]
SubscriptionKind = Literal["source", "author", "keyword"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "page")
CHAT_KINDS: tuple[ChatKind, ...] = ("private", "group", "channel", "thread")


def source_kind(text: str) -> SourceKind:
    """``text`` as a ``SourceKind``; ``ValueError`` for anything else."""
    for kind in SOURCE_KINDS:
        if text == kind:
            return kind
    raise ValueError(f"kind must be feed or page, not {text!r}")


def chat_kind(text: str) -> ChatKind:
    """``text`` as a ``ChatKind``; ``ValueError`` for anything else."""
    for kind in CHAT_KINDS:
        if text == kind:
            return kind
    raise ValueError(f"unknown chat kind {text!r}")


# "held": held back by the chat's relevance setting, to be listed (digest or daily note);
# "held_noted": held back and listed.
DeliveryState = Literal[
    "pending", "sending", "sent", "failed", "filtered", "digest", "skipped", "held", "held_noted"
]


@dataclass
class ExtractedPiece:
    """What extraction makes of one article page or copied text (before storage)."""

    title: str
    text: str
    url: str | None = None
    standfirst: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    outlet: str | None = None
    language: str | None = None
    pull_quotes: list[str] = field(default_factory=list)
    author_bio: str | None = None
    disclaimer: str | None = None
    credit: str | None = None  # news agencies the story is credited to ("Associated Press")
    # How the page files itself: section meta, JSON-LD section/type, breadcrumbs ("Opinion").
    sections: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """A summary and how it was made ("extractive" or "llm:<model>")."""

    text: str
    method: str
    sentences: list[str] = field(default_factory=list)
    length: SummaryLength = "standard"


@dataclass(frozen=True)
class Translation:
    """A piece's title and summary in another language, and who translated them."""

    language: str  # ISO 639-1
    title: str
    summary: str
    method: str  # "llm:<model>"


@dataclass
class Source:
    id: int
    name: str
    url: str
    kind: SourceKind = "feed"
    interval_seconds: int = 1800
    selector: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    paused: bool = False
    paused_reason: str | None = None
    next_run_at: datetime | None = None
    first_poll_done: bool = False
    trusted: bool = True  # operator-added (CLI, config); chat-added sources are SSRF-guarded
    added_by: str | None = None
    created_at: datetime | None = None

    @property
    def state(self) -> SourceState:
        """The one reading of a source's health, shown by `sources list`, /sources, /status."""
        if self.paused:
            return "paused"
        if self.consecutive_failures:
            return "failing"
        if not self.first_poll_done and not self.last_error:
            return "new"
        return "ok"


@dataclass
class EntryFailure:
    """An entry of a source that failed to become a piece; retried a bounded number of times."""

    source_id: int
    entry_key: str
    label: str  # what an operator recognises: the entry's link, GUID or title
    tries: int
    last_error: str
    entry_json: str | None = None  # the entry itself, so it can be retried on a 304 round
    extra_keys: list[str] = field(default_factory=list)  # marked seen with it (revision keys)
    post: bool = True  # whether a success posts it (a first poll's backlog is not posted)
    first_failed_at: datetime | None = None
    last_failed_at: datetime | None = None
    gave_up_at: datetime | None = None


@dataclass
class Piece:
    id: int
    url: str
    title: str
    text: str
    source_id: int | None = None
    guid: str | None = None
    fingerprint: str | None = None
    standfirst: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    outlet: str | None = None
    language: str | None = None
    pull_quotes: list[str] = field(default_factory=list)
    author_bio: str | None = None
    disclaimer: str | None = None
    summary: str | None = None
    summary_short: str | None = None
    summary_long: str | None = None
    summary_method: str | None = None
    also_in: list[tuple[str, str]] = field(
        default_factory=list
    )  # (outlet, url) of syndicated copies
    fetched_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class ChatSettings:
    mode: Literal["instant", "digest"] = "instant"
    digest_time: str = "08:00"  # HH:MM in ``timezone``
    timezone: str = "UTC"
    length: SummaryLength = "standard"
    quiet_start: str | None = None  # HH:MM; quiet hours delay deliveries, never drop them
    quiet_end: str | None = None
    language: str | None = None  # only pieces in this language (ISO 639-1), None = all
    link_previews: bool = False
    full_text: bool = True  # /full may post whole pieces here (capped); admins can turn it off
    translate: str | None = None  # ISO 639-1: titles and summaries translated (needs an LLM)
    # A piece changed at its source after it was posted here: edit the post ("edit") or post
    # it again marked as updated ("repost").
    corrections: Literal["edit", "repost"] = "edit"
    # Hold back pieces clearly closer to what the chat disliked than to what it liked.
    relevance: bool = False
    # A topic or thread: the chat (row id) its subscriptions move to when it is closed,
    # archived or deleted (a Telegram topic falls back to its group without this).
    fallback_chat_id: int | None = None


@dataclass
class Chat:
    id: int
    platform: str  # "console" | "telegram" | "discord"
    platform_chat_id: str
    kind: ChatKind = "private"
    thread_id: str | None = None
    title: str | None = None
    active: bool = True
    inactive_reason: str | None = None
    settings: ChatSettings = field(default_factory=ChatSettings)
    created_at: datetime | None = None


@dataclass
class Subscription:
    id: int
    chat_id: int
    kind: SubscriptionKind
    target: str  # source name, author name, or keyword query
    source_id: int | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    created_by: str | None = None
    created_at: datetime | None = None


@dataclass
class Delivery:
    id: int
    piece_id: int
    chat_id: int
    state: DeliveryState
    subscription_id: int | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    platform_message_id: str | None = None
    reason: str | None = None  # why filtered / skipped, for /why
    created_at: datetime | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class RouteCandidate:
    """A subscription that may pick a piece, with its chat (storage supplies these)."""

    subscription: Subscription
    chat: Chat


@dataclass(frozen=True)
class Route:
    """Routing's verdict for one chat: the delivery row storage writes."""

    chat_id: int
    subscription_id: int
    state: DeliveryState
    reason: str | None = None


@dataclass
class PieceDraft:
    """A piece ready to be stored: extraction output plus identity and summaries."""

    url: str  # canonical URL
    piece: ExtractedPiece
    source_id: int | None = None
    guid: str | None = None
    fingerprint: str | None = None
    links: list[str] = field(default_factory=list)  # other URLs it is known by (feed link, ...)
    summary: Summary | None = None
    summary_short: str | None = None
    summary_long: str | None = None
    entry_key: str | None = None  # the feed entry this came from, marked seen in the same commit
    extra_keys: list[str] = field(default_factory=list)  # also marked seen (revision keys)
    # Asked for by a chat (/summary), not published by a source: only the chats that asked see
    # it in /latest and /search, until a source publishes it.
    on_demand: bool = False


@dataclass
class SaveResult:
    piece_id: int
    status: Literal["new", "updated", "duplicate", "unchanged"]
    deliveries: int = 0
    duplicate_of: int | None = None
    # "updated": the title and summary before the change (corrections compare them).
    previous_title: str | None = None
    previous_summary: str | None = None


CorrectionState = Literal["pending", "sending", "done", "failed"]


@dataclass
class Correction:
    """A post to bring up to date: the piece changed at its source after it was posted."""

    id: int
    piece_id: int
    chat_id: int
    message_id: str  # the platform message that shows the piece
    reason: str  # "the title changed", ...
    state: CorrectionState = "pending"
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime | None = None
    done_at: datetime | None = None
