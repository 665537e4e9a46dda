"""The PostgreSQL store: every concern's queries over one async connection pool."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from bot.database_url import PostgresURL
from storage.postgres.chats import PgChats
from storage.postgres.db import Conn, open_pool, worker_name
from storage.postgres.entry_failures import PgEntryFailures
from storage.postgres.locks import SessionLock
from storage.postgres.outbox import PgOutbox
from storage.postgres.pieces import PgPieces
from storage.postgres.reader import PgReader
from storage.postgres.sources import PgSources
from storage.postgres.translations import PgTranslations
from storage.protocols import Storage


class PostgresStore(
    PgSources, PgReader, PgPieces, PgChats, PgOutbox, PgEntryFailures, PgTranslations, Storage
):
    """Async access to a PostgreSQL database (psycopg 3 + psycopg-pool).

    Safe to share between processes: claims use leases held under ``worker_id``.
    """

    def __init__(
        self, url: PostgresURL, pool: AsyncConnectionPool[Conn], *, worker_id: str
    ) -> None:
        self.url = url
        self._pool = pool
        self.worker_id = worker_id
        self._claims = 0

    @classmethod
    async def open(
        cls, url: PostgresURL, *, max_connections: int = 10, worker_id: str | None = None
    ) -> PostgresStore:
        """Migrate the schema if needed and open the pool (``StorageError`` if unreachable)."""
        pool = await open_pool(url, max_size=max_connections)
        return cls(url, pool, worker_id=worker_id or worker_name())

    async def aclose(self) -> None:
        await self._pool.close()

    def session_lock(self, name: str) -> SessionLock:
        """A lock one process at a time holds (e.g. the sender for one bot token)."""
        return SessionLock(self.url, name)

    async def claim_once(self, name: str, seconds: float) -> bool:
        """True for the first process to claim ``name`` (a webhook update two replicas got),
        False for every later claim until ``seconds`` have passed."""
        self._claims += 1
        async with self._tx() as conn:
            if self._claims % 200 == 1:  # now and then, forget claims past their time
                await self._run(
                    conn, "DELETE FROM leases WHERE name LIKE 'once:%%' AND until < now()"
                )
            row = await self._one(
                conn,
                "INSERT INTO leases (name, owner, until)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until"
                " WHERE leases.until < now() RETURNING name",
                [f"once:{name}", self.worker_id, seconds],
            )
        return row is not None

    async def ping(self) -> None:
        """A trivial query: raises if the database cannot answer."""
        async with self._tx() as conn:
            await self._one(conn, "SELECT 1")

    async def database_file(self) -> PostgresURL:
        """Where the data lives, for ``status`` (prints without the password)."""
        return self.url

    async def database_bytes(self) -> int:
        async with self._tx() as conn:
            row = await self._one(conn, "SELECT pg_database_size(current_database()) AS n")
        return int(row["n"]) if row else 0

    async def get_value(self, key: str) -> str | None:
        async with self._tx() as conn:
            row = await self._one(conn, "SELECT value FROM kv WHERE key = %s", [key])
        return row["value"] if row else None

    async def set_value(self, key: str, value: str | None) -> None:
        async with self._tx() as conn:
            await self._run(
                conn,
                "INSERT INTO kv (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value",
                [key, value],
            )
