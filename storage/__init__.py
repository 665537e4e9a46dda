"""SQLite storage through sqlite-utils: the only package that holds SQL."""

from storage.chats import SubscriptionExists
from storage.db import StorageError, backup, integrity_check, open_database
from storage.search import SearchSyntaxError, SearchTooBroad
from storage.sources import SourceExists
from storage.store import AsyncStore, Store

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
]
