"""The SQLite backend: a blocking ``Store`` and ``AsyncStore``, its ``Storage`` implementation.

``Store`` holds the SQL (split by concern into the mixins of ``storage.sources``,
``storage.pieces``, ``storage.chats`` and ``storage.outbox``). ``AsyncStore`` implements
``storage.protocols.Storage`` method by method: each call runs the matching ``Store`` method
on one dedicated thread (SQLite's single writer, never blocking the event loop) and turns
``sqlite3`` errors into ``bot.errors`` ones, so no driver exception crosses the seam.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar, Unpack

from sqlite_utils import Database

from bot.errors import StorageBusy, StorageError
from bot.types import (
    Chat,
    ChatKind,
    ChatSettings,
    Correction,
    Delivery,
    EntryFailure,
    Piece,
    PieceDraft,
    RouteCandidate,
    SaveResult,
    Source,
    SourceKind,
    Subscription,
    SubscriptionKind,
)
from storage.db import connect, open_database
from storage.protocols import Router, SourceChanges, Storage
from storage.reader import ReaderMixin
from storage.sources import SourcesMixin
from storage.translations import TranslationsMixin

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Store(SourcesMixin, ReaderMixin, TranslationsMixin):
    """Typed, blocking access to the SQLite database (the only place with SQL).

    The mixins build on each other in one line (chats, outbox, pieces, entry failures: each
    uses only those before it), so this one class holds every concern.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_database(path))

    def close(self) -> None:
        self.db.conn.close()

    def ping(self) -> None:
        """A trivial query: raises if the database cannot answer."""
        self.db.execute("SELECT 1").fetchone()

    def database_file(self) -> Path | None:
        """The main database file (None for an in-memory database)."""
        row = self.db.execute("PRAGMA database_list").fetchone()
        return Path(row[2]) if row and row[2] else None

    def database_bytes(self) -> int:
        """Size on disk: the database file plus its write-ahead log."""
        path = self.database_file()
        if path is None:
            return 0
        total = 0
        for candidate in (path, path.with_name(path.name + "-wal")):
            with contextlib.suppress(OSError):
                total += candidate.stat().st_size
        return total

    def get_value(self, key: str) -> str | None:
        row = self._one("SELECT value FROM kv WHERE key = ?", [key])
        return row["value"] if row else None

    def set_value(self, key: str, value: str | None) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value",
                [key, value],
            )


def database_file(db: Database) -> str:
    """The main database's file ("" for an in-memory one)."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return str(row[2] or "")
    return ""


def translate(exc: sqlite3.Error) -> StorageError:
    """The seam's error for a ``sqlite3`` one (the driver's text stays in the message)."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StorageBusy(f"the database is busy ({text})")
    return StorageError(f"database error: {text}")


class AsyncStore(Storage):
    """``Storage`` on SQLite: every ``Store`` method as a coroutine on one database thread.

    ``await store.latest_pieces(3)`` runs ``Store.latest_pieces`` on that thread, so slow
    queries never block the event loop and SQLite sees one connection from one thread.
    """

    def __init__(self, store: Store) -> None:
        self.sync = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        # Searches run on a read-only connection and thread of their own (WAL lets it read
        # while the writer writes): a search using its whole time budget delays no /latest,
        # no poll and no delivery. Opened on the first search.
        self._reader: Store | None = None
        self._reader_path = database_file(store.db)
        self._reader_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")

    @classmethod
    def open(cls, path: str | Path) -> AsyncStore:
        return cls(Store.open(path))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the database thread (tests and benchmarks reach SQL this way)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await self.run(fn, *args, **kwargs)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def _search_store(self) -> Store:
        if self._reader is None:
            if self._reader_path:
                reader = Store(connect(self._reader_path))
                reader.db.execute("PRAGMA query_only = ON")
                self._reader = reader
            else:  # an in-memory database has no second connection
                self._reader = self.sync
        return self._reader

    async def _search(
        self, query: str, *, limit: int, newest_first: bool, chat_id: int | None = None
    ) -> list[tuple[Piece, str]]:
        """``Store.search`` on the search connection (bounded; see storage.search)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(
            lambda: self._search_store().search(
                query, limit=limit, newest_first=newest_first, chat_id=chat_id
            )
        )
        try:
            return await loop.run_in_executor(self._reader_executor, call)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def ping(self) -> None:
        return await self._run(self.sync.ping)

    async def database_file(self) -> Path | None:
        return await self._run(self.sync.database_file)

    async def database_bytes(self) -> int:
        return await self._run(self.sync.database_bytes)

    async def aclose(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not self.sync:
            await asyncio.get_running_loop().run_in_executor(self._reader_executor, reader.close)
        self._reader_executor.shutdown(wait=True)
        await self.run(self.sync.close)
        self._executor.shutdown(wait=True)

    # --- SourceStore ---------------------------------------------------------------------
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
        return await self._run(
            self.sync.add_source,
            name,
            url,
            kind=kind,
            interval_seconds=interval_seconds,
            selector=selector,
            trusted=trusted,
            added_by=added_by,
        )

    async def get_source(self, name: str) -> Source | None:
        return await self._run(self.sync.get_source, name)

    async def get_source_by_id(self, source_id: int) -> Source | None:
        return await self._run(self.sync.get_source_by_id, source_id)

    async def source_by_url(self, url: str) -> Source | None:
        return await self._run(self.sync.source_by_url, url)

    async def list_sources(self, *, active_only: bool = False) -> list[Source]:
        return await self._run(self.sync.list_sources, active_only=active_only)

    async def find_sources(self, prefix: str, limit: int = 25) -> list[Source]:
        return await self._run(self.sync.find_sources, prefix, limit)

    async def remove_source(self, name: str) -> bool:
        return await self._run(self.sync.remove_source, name)

    async def update_source(self, source_id: int, **changes: Unpack[SourceChanges]) -> Source:
        return await self._run(self.sync.update_source, source_id, **changes)

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
        return await self._run(
            self.sync.record_fetch_ok,
            source_id,
            etag=etag,
            last_modified=last_modified,
            title=title,
            url=url,
            note=note,
        )

    async def record_fetch_error(self, source_id: int, error: str) -> int:
        return await self._run(self.sync.record_fetch_error, source_id, error)

    # --- EntryFailureStore -------------------------------------------------------------
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
        return await self._run(
            self.sync.record_entry_failure,
            source_id,
            key,
            label=label,
            error=error,
            entry_json=entry_json,
            extra_keys=extra_keys,
            post=post,
        )

    async def give_up_entry(self, source_id: int, key: str) -> None:
        return await self._run(self.sync.give_up_entry, source_id, key)

    async def clear_entry_failure(self, source_id: int, key: str) -> None:
        return await self._run(self.sync.clear_entry_failure, source_id, key)

    async def pending_entry_failures(self, source_id: int) -> list[EntryFailure]:
        return await self._run(self.sync.pending_entry_failures, source_id)

    async def skipped_entries(
        self, source_id: int | None = None, limit: int = 50
    ) -> list[EntryFailure]:
        return await self._run(self.sync.skipped_entries, source_id, limit)

    # --- PieceStore ----------------------------------------------------------------------
    async def piece_id_for_url(self, url: str) -> int | None:
        return await self._run(self.sync.piece_id_for_url, url)

    async def piece_id_for_guid(self, guid: str, source_id: int | None) -> int | None:
        return await self._run(self.sync.piece_id_for_guid, guid, source_id)

    async def recent_fingerprints(self, limit: int = 5000) -> list[tuple[int, str]]:
        return await self._run(self.sync.recent_fingerprints, limit)

    async def seen_keys(self, source_id: int, keys: list[str]) -> set[str]:
        return await self._run(self.sync.seen_keys, source_id, keys)

    async def mark_seen_many(self, source_id: int, keys: list[str]) -> None:
        return await self._run(self.sync.mark_seen_many, source_id, keys)

    async def save_piece(
        self, draft: PieceDraft, *, route: Router | None = None, duplicate_of: int | None = None
    ) -> SaveResult:
        return await self._run(self.sync.save_piece, draft, route=route, duplicate_of=duplicate_of)

    async def chat_candidates(self, chat_id: int) -> list[RouteCandidate]:
        return await self._run(self.sync.chat_candidates, chat_id)

    async def get_piece(self, piece_id: int) -> Piece | None:
        return await self._run(self.sync.get_piece, piece_id)

    async def count_pieces(
        self,
    ) -> int:
        return await self._run(
            self.sync.count_pieces,
        )

    async def latest_pieces(
        self,
        limit: int = 3,
        *,
        source_id: int | None = None,
        author: str | None = None,
        keyword: str | None = None,
        chat_id: int | None = None,
    ) -> list[Piece]:
        if keyword:  # a full-text query: the search connection
            found = await self._search(keyword, limit=limit, newest_first=True, chat_id=chat_id)
            return [p for p, _ in found]
        return await self._run(
            self.sync.latest_pieces, limit, source_id=source_id, author=author, chat_id=chat_id
        )

    async def search(
        self,
        query: str,
        *,
        limit: int = 5,
        newest_first: bool = False,
        chat_id: int | None = None,
    ) -> list[tuple[Piece, str]]:
        return await self._search(query, limit=limit, newest_first=newest_first, chat_id=chat_id)

    async def similar_pieces(
        self, piece_id: int, terms: list[str], limit: int = 3, *, chat_id: int | None = None
    ) -> list[Piece]:
        return await self._run(self.sync.similar_pieces, piece_id, terms, limit, chat_id=chat_id)

    async def add_piece_request(self, piece_id: int, chat_id: int) -> None:
        return await self._run(self.sync.add_piece_request, piece_id, chat_id)

    async def find_authors(
        self, prefix: str = "", limit: int = 25, *, chat_id: int | None = None
    ) -> list[tuple[str, int]]:
        return await self._run(self.sync.find_authors, prefix, limit, chat_id=chat_id)

    async def get_author(self, name: str) -> tuple[str, str | None] | None:
        return await self._run(self.sync.get_author, name)

    # --- ChatStore -----------------------------------------------------------------------
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
        return await self._run(
            self.sync.ensure_chat,
            platform,
            platform_chat_id,
            kind=kind,
            thread_id=thread_id,
            title=title,
            reactivate=reactivate,
        )

    async def get_chat(
        self, platform: str, platform_chat_id: str, thread_id: str | None = None
    ) -> Chat | None:
        return await self._run(self.sync.get_chat, platform, platform_chat_id, thread_id)

    async def get_chat_by_id(self, chat_id: int) -> Chat | None:
        return await self._run(self.sync.get_chat_by_id, chat_id)

    async def chats_for_platform_id(self, platform: str, platform_chat_id: str) -> list[Chat]:
        return await self._run(self.sync.chats_for_platform_id, platform, platform_chat_id)

    async def set_chat_active(
        self, platform: str, platform_chat_id: str, active: bool, reason: str | None = None
    ) -> int:
        return await self._run(
            self.sync.set_chat_active, platform, platform_chat_id, active, reason
        )

    async def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        return await self._run(self.sync.migrate_chat, platform, old_id, new_id)

    async def update_chat_settings(self, chat_id: int, settings: ChatSettings) -> None:
        return await self._run(self.sync.update_chat_settings, chat_id, settings)

    async def count_chats(self, *, active_only: bool = True) -> int:
        return await self._run(self.sync.count_chats, active_only=active_only)

    async def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        return await self._run(self.sync.known_chat_ids, platform, platform_chat_ids)

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
        return await self._run(
            self.sync.add_subscription,
            chat_id,
            kind,
            target,
            source_id=source_id,
            created_by=created_by,
            limit=limit,
        )

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        return await self._run(self.sync.get_subscription, subscription_id)

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        return await self._run(self.sync.list_subscriptions, chat_id)

    async def count_subscriptions(self, chat_id: int | None = None) -> int:
        return await self._run(self.sync.count_subscriptions, chat_id)

    async def remove_subscription(self, chat_id: int, subscription_id: int) -> bool:
        return await self._run(self.sync.remove_subscription, chat_id, subscription_id)

    async def set_subscription_filters(
        self, chat_id: int, subscription_id: int, include: list[str], exclude: list[str]
    ) -> bool:
        return await self._run(
            self.sync.set_subscription_filters, chat_id, subscription_id, include, exclude
        )

    async def subscribed_chat_ids_for_source(self, source_id: int) -> list[int]:
        return await self._run(self.sync.subscribed_chat_ids_for_source, source_id)

    # --- OutboxStore ---------------------------------------------------------------------
    async def reset_in_flight(self, platform: str | None = None) -> int:
        return await self._run(self.sync.reset_in_flight, platform)

    async def claim_due(
        self, platform: str, *, limit: int = 50, now: datetime | None = None
    ) -> list[tuple[Delivery, Chat]]:
        return await self._run(self.sync.claim_due, platform, limit=limit, now=now)

    async def mark_sent(self, delivery_id: int, message_id: str) -> None:
        return await self._run(self.sync.mark_sent, delivery_id, message_id)

    async def mark_retry(self, delivery_id: int, error: str, delay_seconds: float) -> None:
        return await self._run(self.sync.mark_retry, delivery_id, error, delay_seconds)

    async def postpone(
        self, delivery_id: int, until: datetime, reason: str, *, retry: bool = False
    ) -> None:
        return await self._run(self.sync.postpone, delivery_id, until, reason, retry=retry)

    async def outbox_by_platform(self) -> list[tuple[str, str, int, str | None]]:
        return await self._run(self.sync.outbox_by_platform)

    async def delivery_outcomes_since(self, since: datetime) -> dict[str, int]:
        return await self._run(self.sync.delivery_outcomes_since, since)

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        return await self._run(self.sync.mark_failed, delivery_id, error)

    async def retarget_delivery(self, delivery_id: int) -> None:
        return await self._run(self.sync.retarget_delivery, delivery_id)

    async def release_digest(self, chat_id: int) -> int:
        return await self._run(self.sync.release_digest, chat_id)

    async def release_quiet_hours(self, chat_id: int) -> int:
        return await self._run(self.sync.release_quiet_hours, chat_id)

    async def digest_pieces(self, chat_id: int) -> list[int]:
        return await self._run(self.sync.digest_pieces, chat_id)

    async def mark_digest_sent(self, chat_id: int, piece_ids: list[int], message_id: str) -> None:
        return await self._run(self.sync.mark_digest_sent, chat_id, piece_ids, message_id)

    async def digest_chats(
        self,
    ) -> list[Chat]:
        return await self._run(
            self.sync.digest_chats,
        )

    async def delivery_for(self, piece_id: int, chat_id: int) -> Delivery | None:
        return await self._run(self.sync.delivery_for, piece_id, chat_id)

    async def count_due(self, platform: str) -> int:
        return await self._run(self.sync.count_due, platform)

    async def queue_depth(
        self,
    ) -> dict[str, int]:
        return await self._run(
            self.sync.queue_depth,
        )

    async def count_deliveries(self, piece_id: int | None = None, state: str | None = None) -> int:
        return await self._run(self.sync.count_deliveries, piece_id, state)

    async def add_notice(self, chat_id: int, text: str) -> None:
        return await self._run(self.sync.add_notice, chat_id, text)

    async def claim_notices(self, platform: str, limit: int = 20) -> list[tuple[int, Chat, str]]:
        return await self._run(self.sync.claim_notices, platform, limit)

    async def record_message(
        self, platform: str, platform_chat_id: str, message_id: str, piece_id: int | None
    ) -> None:
        return await self._run(
            self.sync.record_message, platform, platform_chat_id, message_id, piece_id
        )

    async def piece_for_message(
        self, platform: str, platform_chat_id: str, message_id: str
    ) -> int | None:
        return await self._run(self.sync.piece_for_message, platform, platform_chat_id, message_id)

    async def message_ids(self, platform: str, platform_chat_id: str) -> list[str]:
        return await self._run(self.sync.message_ids, platform, platform_chat_id)

    async def piece_was_shown_in(self, platform: str, platform_chat_id: str, piece_id: int) -> bool:
        return await self._run(self.sync.piece_was_shown_in, platform, platform_chat_id, piece_id)

    # --- ReaderStore ---------------------------------------------------------------------
    async def queue_backfill(self, chat_id: int, subscription_id: int, piece_ids: list[int]) -> int:
        return await self._run(self.sync.queue_backfill, chat_id, subscription_id, piece_ids)

    async def add_saved(
        self, platform: str, user_id: str, piece_id: int, *, limit: int | None = None
    ) -> bool:
        return await self._run(self.sync.add_saved, platform, user_id, piece_id, limit=limit)

    async def remove_saved(self, platform: str, user_id: str, piece_id: int) -> bool:
        return await self._run(self.sync.remove_saved, platform, user_id, piece_id)

    async def list_saved(self, platform: str, user_id: str, limit: int = 50) -> list[Piece]:
        return await self._run(self.sync.list_saved, platform, user_id, limit)

    async def count_saved(self, platform: str, user_id: str) -> int:
        return await self._run(self.sync.count_saved, platform, user_id)

    async def queue_corrections(self, piece_id: int, reason: str, since: datetime) -> int:
        return await self._run(self.sync.queue_corrections, piece_id, reason, since)

    async def claim_corrections(
        self, platform: str, limit: int = 20, now: datetime | None = None
    ) -> list[tuple[Correction, Chat]]:
        return await self._run(self.sync.claim_corrections, platform, limit, now)

    async def finish_correction(
        self, correction_id: int, *, error: str | None = None, retry_in: float | None = None
    ) -> None:
        return await self._run(
            self.sync.finish_correction, correction_id, error=error, retry_in=retry_in
        )

    async def reset_corrections_in_flight(self, platform: str) -> int:
        return await self._run(self.sync.reset_corrections_in_flight, platform)

    async def corrections_for(self, piece_id: int, chat_id: int) -> list[Correction]:
        return await self._run(self.sync.corrections_for, piece_id, chat_id)

    async def record_vote(self, chat_id: int, piece_id: int, user_id: str, vote: int) -> None:
        return await self._run(self.sync.record_vote, chat_id, piece_id, user_id, vote)

    async def piece_votes(self, chat_id: int, piece_id: int) -> tuple[int, int]:
        return await self._run(self.sync.piece_votes, chat_id, piece_id)

    async def chat_taste(self, chat_id: int, limit: int = 200) -> tuple[int, list[tuple[int, int]]]:
        return await self._run(self.sync.chat_taste, chat_id, limit)

    async def hold_back(self, chat_id: int, holds: list[tuple[int, str]], *, noted: bool) -> None:
        return await self._run(self.sync.hold_back, chat_id, holds, noted=noted)

    async def held_pieces(self, chat_id: int) -> list[tuple[int, str]]:
        return await self._run(self.sync.held_pieces, chat_id)

    async def held_chats(self, platform: str) -> list[Chat]:
        return await self._run(self.sync.held_chats, platform)

    async def fall_back(self, chat_id: int, to_chat_id: int, reason: str) -> list[str]:
        return await self._run(self.sync.fall_back, chat_id, to_chat_id, reason)

    # --- KeyValueStore -------------------------------------------------------------------
    async def get_value(self, key: str) -> str | None:
        return await self._run(self.sync.get_value, key)

    async def get_translation(self, piece_id: int, language: str) -> tuple[str, str, str] | None:
        return await self._run(self.sync.get_translation, piece_id, language)

    async def save_translation(
        self, piece_id: int, language: str, title: str, summary: str, method: str
    ) -> None:
        return await self._run(
            self.sync.save_translation, piece_id, language, title, summary, method
        )

    async def set_value(self, key: str, value: str | None) -> None:
        return await self._run(self.sync.set_value, key, value)

    # --- Storage -------------------------------------------------------------------------
