"""The storage seam: what the core, the loops and the handlers may ask of a database.

Four concerns (sources; pieces and search; chats and subscriptions; the outbox with notices
and posted messages) plus a small key/value store, each a ``Protocol`` of coroutines that
take and return the domain dataclasses of ``bot.types``. A backend implements ``Storage``
(all of them) explicitly; ``storage.store.AsyncStore`` is the SQLite one.

Rules a backend keeps, so a second one (PostgreSQL) is a new module and not a rewrite:

- Only ``bot.errors`` exceptions cross the seam: ``StorageBusy`` when the database is held
  past its timeout, ``InvalidSearch`` for a query the search engine cannot parse,
  ``SourceExists`` / ``SubscriptionExists`` (``AlreadyExists``), ``NotFound``, and
  ``StorageError`` for the rest. Never a driver's exception.
- Multi-row changes are single operations, each one transaction: ``save_piece`` stores the
  piece, its authors and links, its full-text entry, its seen keys and its delivery rows
  together; ``claim_due`` / ``claim_notices`` claim rows so that no other worker sends them.
- Times are timezone-aware UTC ``datetime`` objects.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

from bot.database_url import PostgresURL
from bot.types import (
    Chat,
    ChatKind,
    ChatSettings,
    Correction,
    Delivery,
    EntryFailure,
    Piece,
    PieceDraft,
    Route,
    RouteCandidate,
    SaveResult,
    Source,
    SourceKind,
    Subscription,
    SubscriptionKind,
)


class Router(Protocol):
    """Decides which chats get a piece (``bot.delivery.routing.route``); storage calls it
    inside the piece's transaction with the candidates it found, and writes its routes."""

    def __call__(
        self, piece: Piece, candidates: list[RouteCandidate], *, seen_in: int | None = None
    ) -> list[Route]: ...


class SourceChanges(TypedDict, total=False):
    """The fields of a source that ``update_source`` may set."""

    name: str
    url: str
    kind: SourceKind
    interval_seconds: int
    selector: str | None
    title: str | None
    etag: str | None
    last_modified: str | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    paused: bool
    paused_reason: str | None
    next_run_at: datetime | None
    first_poll_done: bool


class SourceStore(Protocol):
    """Sources and their fetch state."""

    async def add_source(
        self,
        name: str,
        url: str,
        *,
        kind: SourceKind = "feed",
        interval_seconds: int = 1800,
        selector: str | None = None,
        trusted: bool = True,
        added_by: str | None = None,
    ) -> Source:
        """Store a new source; ``SourceExists`` when its name or URL is taken."""
        ...

    async def get_source(self, name: str) -> Source | None:
        """The source of that name (case-insensitive)."""
        ...

    async def get_source_by_id(self, source_id: int) -> Source | None: ...

    async def source_by_url(self, url: str) -> Source | None: ...

    async def list_sources(self, *, active_only: bool = False) -> list[Source]:
        """All sources by name; ``active_only`` leaves out paused ones."""
        ...

    async def find_sources(self, prefix: str, limit: int = 25) -> list[Source]:
        """Sources whose name starts with, or title contains, ``prefix`` (autocomplete)."""
        ...

    async def remove_source(self, name: str) -> bool:
        """Delete the source and its subscriptions (its pieces stay); False if absent."""
        ...

    async def update_source(self, source_id: int, **changes: Unpack[SourceChanges]) -> Source:
        """Set some fields; the updated source (``NotFound`` if it is gone)."""
        ...

    async def record_fetch_ok(
        self,
        source_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        title: str | None = None,
        url: str | None = None,
        note: str | None = None,
    ) -> None:
        """A successful fetch: validators stored, the failure count reset; ``note`` (an entry
        given up) stays as the last error to show."""
        ...

    async def record_fetch_error(self, source_id: int, error: str) -> int:
        """Count a failure; the number of consecutive failures."""
        ...


class EntryFailureStore(Protocol):
    """Feed entries that failed to become pieces: retried a few times, then given up."""

    async def record_entry_failure(
        self,
        source_id: int,
        key: str,
        *,
        label: str,
        error: str,
        entry_json: str | None = None,
        extra_keys: list[str] | None = None,
        post: bool = True,
    ) -> int:
        """Count one more failed try of an entry; its tries so far."""
        ...

    async def give_up_entry(self, source_id: int, key: str) -> None:
        """Stop trying an entry: it and its extra keys are marked seen."""
        ...

    async def clear_entry_failure(self, source_id: int, key: str) -> None: ...

    async def pending_entry_failures(self, source_id: int) -> list[EntryFailure]:
        """Failed entries still being tried, oldest first."""
        ...

    async def skipped_entries(
        self, source_id: int | None = None, limit: int = 50
    ) -> list[EntryFailure]:
        """Entries given up on, newest first."""
        ...


class PieceStore(Protocol):
    """Pieces, their authors and links, what was seen, and search."""

    async def piece_id_for_url(self, url: str) -> int | None: ...

    async def piece_id_for_guid(self, guid: str, source_id: int | None) -> int | None: ...

    async def recent_fingerprints(self, limit: int = 5000) -> list[tuple[int, str]]:
        """(piece id, fingerprint) of the newest pieces, newest first."""
        ...

    async def seen_keys(self, source_id: int, keys: list[str]) -> set[str]:
        """Which of ``keys`` (feed entry keys) this source has already seen."""
        ...

    async def mark_seen_many(self, source_id: int, keys: list[str]) -> None:
        """Mark entries seen in one transaction (a first poll's older entries)."""
        ...

    async def save_piece(
        self, draft: PieceDraft, *, route: Router | None = None, duplicate_of: int | None = None
    ) -> SaveResult:
        """Store a piece once, with its index entry, seen keys and deliveries, atomically.

        ``route`` decides the deliveries (none are written without it): storage supplies the
        candidate subscriptions and their chats and writes one row per route returned.
        """
        ...

    async def chat_candidates(self, chat_id: int) -> list[RouteCandidate]:
        """One chat's subscriptions as routing candidates (``/why`` asks routing with them)."""
        ...

    async def get_piece(self, piece_id: int) -> Piece | None: ...

    async def count_pieces(self) -> int: ...

    async def latest_pieces(
        self,
        limit: int = 3,
        *,
        source_id: int | None = None,
        author: str | None = None,
        keyword: str | None = None,
        chat_id: int | None = None,
    ) -> list[Piece]:
        """Newest first (published time, else fetch time).

        ``chat_id``: as that chat sees them: a piece stored for a /summary that no source
        publishes is shown only to the chats that asked for it. None: every piece (operators).
        """
        ...

    async def search(
        self,
        query: str,
        *,
        limit: int = 5,
        newest_first: bool = False,
        chat_id: int | None = None,
    ) -> list[tuple[Piece, str]]:
        """Full-text search (words, "phrases", prefix*): (piece, snippet) pairs.

        ``InvalidSearch`` when the query cannot be parsed. ``chat_id`` as in ``latest_pieces``.
        """
        ...

    async def similar_pieces(
        self, piece_id: int, terms: list[str], limit: int = 3, *, chat_id: int | None = None
    ) -> list[Piece]:
        """Pieces sharing the most of ``terms``, not the piece itself (``chat_id``: see
        ``latest_pieces``)."""
        ...

    async def add_piece_request(self, piece_id: int, chat_id: int) -> None:
        """The chat asked for this piece (/summary): its /latest and /search may show it."""
        ...

    async def find_authors(
        self, prefix: str = "", limit: int = 25, *, chat_id: int | None = None
    ) -> list[tuple[str, int]]:
        """Known authors with a word starting with ``prefix``, with piece counts (with
        ``chat_id``: counting only pieces that chat may see, writers of none left out)."""
        ...

    async def get_author(self, name: str) -> tuple[str, str | None] | None:
        """(name as stored, bio) of an author."""
        ...


class ChatStore(Protocol):
    """Chats, their settings, and subscriptions."""

    async def ensure_chat(
        self,
        platform: str,
        platform_chat_id: str,
        *,
        kind: ChatKind = "private",
        thread_id: str | None = None,
        title: str | None = None,
        reactivate: bool = False,
    ) -> Chat:
        """The chat, created on first sight; ``reactivate`` marks it active again."""
        ...

    async def get_chat(
        self, platform: str, platform_chat_id: str, thread_id: str | None = None
    ) -> Chat | None: ...

    async def get_chat_by_id(self, chat_id: int) -> Chat | None: ...

    async def chats_for_platform_id(self, platform: str, platform_chat_id: str) -> list[Chat]:
        """Every chat row of that platform id (one per forum topic)."""
        ...

    async def set_chat_active(
        self, platform: str, platform_chat_id: str, active: bool, reason: str | None = None
    ) -> int:
        """Mark a chat (all its topics) active or not; an inactive chat's queue is parked."""
        ...

    async def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        """Move a chat to its new platform id (Telegram group -> supergroup)."""
        ...

    async def update_chat_settings(self, chat_id: int, settings: ChatSettings) -> None: ...

    async def count_chats(self, *, active_only: bool = True) -> int: ...

    async def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        """Which of these platform chat ids the bot has seen."""
        ...

    async def add_subscription(
        self,
        chat_id: int,
        kind: SubscriptionKind,
        target: str,
        *,
        source_id: int | None = None,
        created_by: str | None = None,
        limit: int | None = None,
    ) -> Subscription:
        """``SubscriptionExists`` if already there; ``LimitReached`` past ``limit``."""
        ...

    async def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]: ...

    async def count_subscriptions(self, chat_id: int | None = None) -> int: ...

    async def remove_subscription(self, chat_id: int, subscription_id: int) -> bool: ...

    async def set_subscription_filters(
        self, chat_id: int, subscription_id: int, include: list[str], exclude: list[str]
    ) -> bool: ...

    async def subscribed_chat_ids_for_source(self, source_id: int) -> list[int]:
        """Active chats with a subscription to that source."""
        ...


class OutboxStore(Protocol):
    """Deliveries (the outbox), notices, digests, and the message ids of posts."""

    async def reset_in_flight(self, platform: str | None = None) -> int:
        """After a restart, rows left 'sending' go back to 'pending'."""
        ...

    async def claim_due(
        self, platform: str, *, limit: int = 50, now: datetime | None = None
    ) -> list[tuple[Delivery, Chat]]:
        """Claim due pending deliveries, oldest first (marked 'sending')."""
        ...

    async def mark_sent(self, delivery_id: int, message_id: str) -> None:
        """Sent: the row and the posted message id, in one transaction."""
        ...

    async def mark_retry(self, delivery_id: int, error: str, delay_seconds: float) -> None: ...

    async def postpone(
        self, delivery_id: int, until: datetime, reason: str, *, retry: bool = False
    ) -> None:
        """Delay without counting an attempt (quiet hours, a platform's retry_after);
        ``retry`` records it as a retry (the platform asked to wait)."""
        ...

    async def outbox_by_platform(self) -> list[tuple[str, str, int, str | None]]:
        """(platform, state, rows, oldest created_at) for the states still to send or failed."""
        ...

    async def delivery_outcomes_since(self, since: datetime) -> dict[str, int]:
        """Messages sent, failed and retried since ``since``."""
        ...

    async def mark_failed(self, delivery_id: int, error: str) -> None: ...

    async def retarget_delivery(self, delivery_id: int) -> None:
        """Back to pending at once (e.g. the chat migrated)."""
        ...

    async def release_digest(self, chat_id: int) -> int:
        """A chat's held digest rows become pending posts; how many."""
        ...

    async def release_quiet_hours(self, chat_id: int) -> int:
        """Posts the chat's quiet hours held become due now; how many."""
        ...

    async def digest_pieces(self, chat_id: int) -> list[int]:
        """Piece ids held for the chat's digest, oldest first."""
        ...

    async def mark_digest_sent(self, chat_id: int, piece_ids: list[int], message_id: str) -> None:
        """The digest carrying ``piece_ids`` was posted as ``message_id``."""
        ...

    async def digest_chats(self) -> list[Chat]:
        """Active chats with pieces held for a digest."""
        ...

    async def delivery_for(self, piece_id: int, chat_id: int) -> Delivery | None: ...

    async def count_due(self, platform: str) -> int:
        """Deliveries due now or in flight for a platform."""
        ...

    async def queue_depth(self) -> dict[str, int]:
        """Deliveries by state."""
        ...

    async def count_deliveries(
        self, piece_id: int | None = None, state: str | None = None
    ) -> int: ...

    async def add_notice(self, chat_id: int, text: str) -> None:
        """Queue a one-off message to a chat (e.g. a source it followed was removed)."""
        ...

    async def claim_notices(self, platform: str, limit: int = 20) -> list[tuple[int, Chat, str]]:
        """Claim pending notices: (notice id, chat, text)."""
        ...

    async def record_message(
        self, platform: str, platform_chat_id: str, message_id: str, piece_id: int | None
    ) -> None:
        """Remember which piece a posted message shows, so replies map back."""
        ...

    async def piece_for_message(
        self, platform: str, platform_chat_id: str, message_id: str
    ) -> int | None: ...

    async def message_ids(self, platform: str, platform_chat_id: str) -> list[str]: ...

    async def piece_was_shown_in(
        self, platform: str, platform_chat_id: str, piece_id: int
    ) -> bool: ...


class ReaderStore(Protocol):
    """Reader features: earlier pieces on request, read-later lists, votes, corrections."""

    async def queue_backfill(self, chat_id: int, subscription_id: int, piece_ids: list[int]) -> int:
        """Queue posts of earlier pieces for a chat, in the order given; how many were queued
        (a piece the chat already has a delivery row for is left alone)."""
        ...

    async def add_saved(
        self, platform: str, user_id: str, piece_id: int, *, limit: int | None = None
    ) -> bool:
        """Keep a piece in a person's read-later list; False if it was there already or there
        is no such piece; ``LimitReached`` when the list holds ``limit`` pieces."""
        ...

    async def remove_saved(self, platform: str, user_id: str, piece_id: int) -> bool: ...

    async def list_saved(self, platform: str, user_id: str, limit: int = 50) -> list[Piece]:
        """A person's saved pieces, the last saved first."""
        ...

    async def count_saved(self, platform: str, user_id: str) -> int: ...

    async def queue_corrections(self, piece_id: int, reason: str, since: datetime) -> int:
        """A correction for each post of the piece sent since ``since`` (not digests); how
        many. A post whose correction still waits gets the new reason, not a second row. The
        piece's stored translations go (they translate the old text)."""
        ...

    async def claim_corrections(
        self, platform: str, limit: int = 20, now: datetime | None = None
    ) -> list[tuple[Correction, Chat]]:
        """Claim due corrections of active chats, oldest first."""
        ...

    async def finish_correction(
        self, correction_id: int, *, error: str | None = None, retry_in: float | None = None
    ) -> None:
        """Done; failed for good (``error``); or due again in ``retry_in`` seconds."""
        ...

    async def reset_corrections_in_flight(self, platform: str) -> int:
        """After a restart, corrections left in flight wait again."""
        ...

    async def corrections_for(self, piece_id: int, chat_id: int) -> list[Correction]:
        """A piece's corrections in one chat, newest first (/why)."""
        ...

    async def record_vote(self, chat_id: int, piece_id: int, user_id: str, vote: int) -> None:
        """A member's vote on a piece in a chat: +1 like, -1 dislike, 0 takes it back. One
        vote per member: a new one replaces theirs. A piece that does not exist is ignored."""
        ...

    async def piece_votes(self, chat_id: int, piece_id: int) -> tuple[int, int]:
        """(likes, dislikes) of a piece in a chat."""
        ...

    async def chat_taste(self, chat_id: int, limit: int = 200) -> tuple[int, list[tuple[int, int]]]:
        """(the chat's votes in all, [(piece id, net vote)] of its most recently voted
        pieces)."""
        ...

    async def hold_back(self, chat_id: int, holds: list[tuple[int, str]], *, noted: bool) -> None:
        """Mark the chat's delivery rows of these (piece id, reason) held back; ``noted``:
        already listed to the chat."""
        ...

    async def held_pieces(self, chat_id: int) -> list[tuple[int, str]]:
        """(piece id, reason) held back and not listed yet, oldest first."""
        ...

    async def held_chats(self, platform: str) -> list[Chat]:
        """Active chats of a platform with held-back pieces not listed yet."""
        ...

    async def fall_back(self, chat_id: int, to_chat_id: int, reason: str) -> list[str]:
        """A topic or thread is gone: its subscriptions and waiting posts move to
        ``to_chat_id``, it (that row alone) becomes inactive; the moved subscriptions as
        ``kind target`` (one the other place already has is dropped)."""
        ...


class KeyValueStore(Protocol):
    """Small named values (digest bookkeeping, limits set from chats, first-run marks)."""

    async def get_value(self, key: str) -> str | None: ...

    async def set_value(self, key: str, value: str | None) -> None: ...


class TranslationStore(Protocol):
    """Translated titles and summaries, one per piece and language key (``"fr:standard"``)."""

    async def get_translation(self, piece_id: int, language: str) -> tuple[str, str, str] | None:
        """(title, summary, method) of a stored translation, or None."""
        ...

    async def save_translation(
        self, piece_id: int, language: str, title: str, summary: str, method: str
    ) -> None: ...


class Storage(
    SourceStore,
    EntryFailureStore,
    PieceStore,
    ChatStore,
    OutboxStore,
    ReaderStore,
    KeyValueStore,
    TranslationStore,
    Protocol,
):
    """Everything the bot stores: one backend implements all of it."""

    async def ping(self) -> None:
        """A trivial query: raises (a ``StorageError``) if the database cannot answer."""
        ...

    async def database_file(self) -> Path | PostgresURL | None:
        """Where the data lives, for status (None for an in-memory database)."""
        ...

    async def database_bytes(self) -> int:
        """Size on disk, for status (0 when unknown)."""
        ...

    async def aclose(self) -> None:
        """Release the connection(s); the storage is unusable afterwards."""
        ...
