"""SQLite storage through sqlite-utils: the only package that holds SQL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.database_url import PostgresURL
from storage.chats import SubscriptionExists
from storage.db import StorageError, backup, integrity_check, open_database
from storage.search import SearchSyntaxError, SearchTooBroad
from storage.sources import SourceExists
from storage.store import AsyncStore, Store

if TYPE_CHECKING:
    from storage.postgres import PostgresStore

__all__ = [
    "AsyncStore",
    "SearchSyntaxError",
    "SearchTooBroad",
    "SourceExists",
    "StorageError",
    "Store",
    "SubscriptionExists",
    "backup",
    "integrity_check",
    "open_database",
    "open_store",
]


async def open_store(location: Path | PostgresURL) -> AsyncStore | PostgresStore:
    """The store for ``COMMENTARY_DATABASE``: PostgreSQL for a postgresql:// URL, else SQLite."""
    if isinstance(location, PostgresURL):
        from storage.postgres import PostgresStore

        return await PostgresStore.open(location)
    return AsyncStore.open(location)
