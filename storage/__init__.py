"""Storage behind typed Protocols (``storage.protocols``); SQLite is the implementation.

The only package with SQL. Callers depend on ``Storage`` (or one concern's Protocol) and
see only ``bot.errors`` exceptions. ``COMMENTARY_DATABASE`` picks the backend: SQLite (a
path, the default) or PostgreSQL (a postgresql:// URL: ``storage.postgres``).
"""

from __future__ import annotations

from pathlib import Path

import storage._sqlite_utils  # noqa: F401 - first: sqlite-utils without numpy (see there)
from bot.database_url import PostgresURL
from bot.errors import (
    AlreadyExists,
    InvalidSearch,
    NotFound,
    SearchTooBroad,
    SourceExists,
    StorageBusy,
    StorageError,
    SubscriptionExists,
)
from storage.db import backup, integrity_check, open_database
from storage.protocols import (
    ChatStore,
    KeyValueStore,
    OutboxStore,
    PieceStore,
    SourceChanges,
    SourceStore,
    Storage,
)
from storage.store import AsyncStore, Store

__all__ = [
    "AlreadyExists",
    "AsyncStore",
    "ChatStore",
    "InvalidSearch",
    "KeyValueStore",
    "NotFound",
    "OutboxStore",
    "PieceStore",
    "SearchTooBroad",
    "SourceChanges",
    "SourceExists",
    "SourceStore",
    "StorageBusy",
    "StorageError",
    "Storage",
    "Store",
    "SubscriptionExists",
    "backup",
    "integrity_check",
    "open_database",
    "open_store",
]


async def open_store(location: Path | PostgresURL) -> Storage:
    """The store for ``COMMENTARY_DATABASE``: PostgreSQL for a postgresql:// URL, else SQLite."""
    if isinstance(location, PostgresURL):
        from storage.postgres import PostgresStore

        return await PostgresStore.open(location)
    return AsyncStore.open(location)
