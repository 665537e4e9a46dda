"""One facade over the storage modules, and an async wrapper that keeps SQLite off the loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.chats import ChatsMixin
from storage.db import open_database
from storage.outbox import OutboxMixin
from storage.pieces import PiecesMixin
from storage.sources import SourcesMixin


class Store(SourcesMixin, PiecesMixin, ChatsMixin, OutboxMixin):
    """Typed, blocking access to the database (the only place with SQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_database(path))

    def close(self) -> None:
        self.db.conn.close()

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


class AsyncStore:
    """Every ``Store`` method as a coroutine, run on one dedicated thread (the single writer).

    ``await store.latest_pieces(3)`` runs ``Store.latest_pieces`` on the database thread, so
    slow queries never block the event loop and SQLite sees one connection from one thread.
    """

    def __init__(self, store: Store) -> None:
        self.sync = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

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

    async def aclose(self) -> None:
        await self.run(self.sync.close)
        self._executor.shutdown(wait=True)
