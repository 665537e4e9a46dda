"""Connecting to PostgreSQL: a pool of async connections, migrations, and errors that never
carry the password.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.rows import dict_row
from psycopg.types.string import StrDumperUnknown
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.database_url import PostgresURL
from bot.errors import StorageBusy, StorageError
from bot.types import Chat, Piece
from storage.postgres import schema
from storage.protocols import Router
from storage.rows import chat_from_row

# Every statement has a ceiling, so nothing a user asks for holds a connection for long;
# /search sets its own, shorter one (storage.search.SEARCH_BUDGET).
STATEMENT_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10

Conn = psycopg.AsyncConnection[dict[str, Any]]


def worker_name() -> str:
    """A name for this process in lease columns: host, pid and a random tail (pids repeat)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def clean_error(url: PostgresURL, exc: BaseException) -> str:
    """A driver message, one line, with anything secret in the URL taken out."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    for secret in url.passwords:
        if len(secret) >= 1:
            text = text.replace(secret, "***")
    return text.replace(url.secret_conninfo(), str(url))[:300]


def migrate_sync(url: PostgresURL) -> list[str]:
    """Apply pending migrations (blocking); return their names."""
    try:
        with psycopg.connect(url.secret_conninfo(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            return schema.apply(conn)
    except psycopg.Error as exc:
        raise StorageError(f"{url}: {clean_error(url, exc)}") from None


def pending_sync(url: PostgresURL) -> list[str]:
    try:
        with psycopg.connect(url.secret_conninfo(), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            return schema.pending(conn)
    except psycopg.Error as exc:
        raise StorageError(f"{url}: {clean_error(url, exc)}") from None


class _NulFreeText(StrDumperUnknown):
    """Text without NUL characters: SQLite stores them, PostgreSQL refuses the whole row."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "") if "\x00" in obj else obj)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_dumper(str, _NulFreeText)
    # Times come back as UTC-aware datetimes, like SQLite's ISO text parsed by rows.to_time.
    await conn.set_autocommit(True)
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    await conn.execute("SET application_name = 'commentary-bot'")
    await conn.set_autocommit(False)


class PgBase:
    """The pool and the small helpers every concern's queries use."""

    url: PostgresURL
    _pool: AsyncConnectionPool[Conn]

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Conn]:
        """One connection, one transaction: committed on exit, rolled back on an exception."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StorageError(
                f"{self.url}: no connection ({clean_error(self.url, exc)})"
            ) from None
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as exc:
            raise StorageBusy(f"{self.url}: busy ({clean_error(self.url, exc)})") from None
        except psycopg.Error as exc:  # no driver exception crosses the storage seam
            raise StorageError(f"{self.url}: {clean_error(self.url, exc)}") from None

    async def _mark_seen(
        self, conn: Conn, source_id: int, keys: list[str], piece_id: int | None
    ) -> None:
        """Mark entries seen in the caller's transaction (the pieces concern's job)."""
        raise NotImplementedError

    async def _fan_out(
        self, conn: Conn, piece_id: int, route: Router, *, only_source_id: int | None = None
    ) -> int:
        """Write a piece's delivery rows in the caller's transaction (the outbox's job)."""
        raise NotImplementedError

    async def _piece_in(self, conn: Conn, piece_id: int) -> Piece | None:
        """A piece read in the caller's transaction (the pieces concern's job)."""
        raise NotImplementedError

    @staticmethod
    async def _one(
        conn: Conn, sql: str, params: Sequence[Any] | None = None
    ) -> dict[str, Any] | None:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchone()

    @staticmethod
    async def _all(
        conn: Conn, sql: str, params: Sequence[Any] | None = None
    ) -> list[dict[str, Any]]:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall()

    @classmethod
    async def _chats_by_id(cls, conn: Conn, chat_ids: Iterable[int]) -> dict[int, Chat]:
        """The chats these rows name, in one query (claims and fan-outs touch many rows)."""
        rows = await cls._all(conn, "SELECT * FROM chats WHERE id = ANY(%s)", [list(set(chat_ids))])
        return {r["id"]: chat_from_row(r) for r in rows}

    @staticmethod
    async def _run(conn: Conn, sql: str, params: Sequence[Any] | None = None) -> int:
        """Execute; return the affected row count."""
        cursor = await conn.execute(sql, params)
        return cursor.rowcount


async def open_pool(url: PostgresURL, *, max_size: int = 10) -> AsyncConnectionPool[Conn]:
    """Migrate, then open a pool; a one-line ``StorageError`` if the server cannot be used."""
    await asyncio.to_thread(migrate_sync, url)
    pool = AsyncConnectionPool(
        url.secret_conninfo(),
        connection_class=Conn,
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S},
        configure=_configure,
        open=False,
        name="commentary",
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except PoolTimeout as exc:
        await pool.close()
        raise StorageError(f"{url}: cannot connect ({clean_error(url, exc)})") from None
    return pool
