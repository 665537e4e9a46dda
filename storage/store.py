"""One facade over the storage modules, and an async wrapper that keeps SQLite off the loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.types import Piece
from storage.chats import ChatsMixin
from storage.db import connect, open_database
from storage.entry_failures import EntryFailuresMixin
from storage.outbox import OutboxMixin
from storage.pieces import PiecesMixin
from storage.sources import SourcesMixin


class Store(SourcesMixin, PiecesMixin, ChatsMixin, OutboxMixin, EntryFailuresMixin):
    """Typed, blocking access to the database (the only place with SQL)."""

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
            return row[2] or ""
    return ""


class AsyncStore:
    """Every ``Store`` method as a coroutine, run on one dedicated thread (the single writer).

    ``await store.latest_pieces(3)`` runs ``Store.latest_pieces`` on the database thread, so
    slow queries never block the event loop and SQLite sees one connection from one thread.
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

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.sync, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.run(attr, *args, **kwargs)

        call.__name__ = name
        return call

    def _search_store(self) -> Store:
        if self._reader is None:
            if self._reader_path:
                reader = Store(connect(self._reader_path))
                reader.db.execute("PRAGMA query_only = ON")
                self._reader = reader
            else:  # an in-memory database has no second connection
                self._reader = self.sync
        return self._reader

    async def search(
        self, query: str, *, limit: int = 5, newest_first: bool = False
    ) -> list[tuple[Piece, str]]:
        """``Store.search`` on the search connection (bounded; see storage.search)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(
            lambda: self._search_store().search(query, limit=limit, newest_first=newest_first)
        )
        return await loop.run_in_executor(self._reader_executor, call)

    async def latest_pieces(
        self,
        limit: int = 3,
        *,
        source_id: int | None = None,
        author: str | None = None,
        keyword: str | None = None,
    ) -> list[Piece]:
        if keyword:  # a full-text query: the search connection
            return [p for p, _ in await self.search(keyword, limit=limit, newest_first=True)]
        return await self.run(self.sync.latest_pieces, limit, source_id=source_id, author=author)

    async def aclose(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader is not self.sync:
            await asyncio.get_running_loop().run_in_executor(self._reader_executor, reader.close)
        self._reader_executor.shutdown(wait=True)
        await self.run(self.sync.close)
        self._executor.shutdown(wait=True)
