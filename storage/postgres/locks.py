"""Session-level advisory locks: one process at a time holds a name (a bot token's sender).

The lock lives as long as the dedicated connection that took it, so a process that dies (even
``kill -9``) releases it when the server notices the connection is gone, and a standby takes
over. The name is hashed to PostgreSQL's 64-bit lock key; callers pass a digest, never a secret.
"""

from __future__ import annotations

import hashlib
import logging

import psycopg

from bot.database_url import PostgresURL
from storage.postgres.db import CONNECT_TIMEOUT_S, clean_error

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name``."""
    digest = hashlib.sha256(f"commentary-bot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SessionLock:
    """``pg_try_advisory_lock`` on a connection of its own."""

    def __init__(self, url: PostgresURL, name: str) -> None:
        self.url = url
        self.name = name
        self.key = lock_key(name)
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def acquire(self) -> bool:
        """Take the lock if free; False if another session holds it (or the server is away)."""
        if self._conn is not None and await self.held():
            return True
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url.secret_conninfo(),
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="commentary-bot lock",
            )
        except psycopg.Error as exc:
            log.warning("lock %s: cannot connect (%s)", self.name, clean_error(self.url, exc))
            return False
        row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key])).fetchone()
        if row and row[0]:
            self._conn = conn
            return True
        await conn.close()
        return False

    @property
    def backend_pid(self) -> int | None:
        """The server process of the session holding the lock (pg_stat_activity), if held."""
        return self._conn.info.backend_pid if self._conn is not None else None

    async def held(self) -> bool:
        """Whether this session still holds it (its connection alive and answering)."""
        if self._conn is None or self._conn.closed:
            self._conn = None
            return False
        try:
            await self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            await self._drop()
            return False

    async def release(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except psycopg.Error:
            pass  # the connection is gone, and the lock with it
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            await conn.close()
