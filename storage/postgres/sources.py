"""Sources and their fetch state, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.errors import SourceExists
from bot.types import Source
from storage.postgres.db import Conn, PgBase
from storage.rows import source_from_row, utcnow

_UPDATABLE = frozenset(
    {
        "name",
        "url",
        "kind",
        "interval_seconds",
        "selector",
        "title",
        "etag",
        "last_modified",
        "last_ok_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "paused",
        "paused_reason",
        "next_run_at",
        "first_poll_done",
    }
)


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PgSources(PgBase):
    async def add_source(
        self,
        name: str,
        url: str,
        *,
        kind: str = "feed",
        interval_seconds: int = 1800,
        selector: str | None = None,
        trusted: bool = True,
        added_by: str | None = None,
    ) -> Source:
        async with self._tx() as conn:
            if await self._one(conn, "SELECT 1 FROM sources WHERE lower(name) = lower(%s)", [name]):
                raise SourceExists(f"a source named {name!r} already exists")
            other = await self._one(conn, "SELECT name FROM sources WHERE url = %s", [url])
            if other:
                raise SourceExists(f"{url} is already followed as {other['name']!r}")
            row = await self._one(
                conn,
                "INSERT INTO sources (name, url, kind, interval_seconds, selector, trusted,"
                " added_by, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING *",
                [name, url, kind, interval_seconds, selector, trusted, added_by, utcnow()],
            )
            if row is None:  # another process added it between the check and the insert
                raise SourceExists(f"a source named {name!r} or at {url} already exists")
        return source_from_row(row)

    async def get_source(self, name: str) -> Source | None:
        async with self._tx() as conn:
            row = await self._one(
                conn, "SELECT * FROM sources WHERE lower(name) = lower(%s)", [name]
            )
        return source_from_row(row) if row else None

    async def get_source_by_id(self, source_id: int) -> Source | None:
        async with self._tx() as conn:
            return await self._source_by_id(conn, source_id)

    async def _source_by_id(self, conn: Conn, source_id: int) -> Source | None:
        row = await self._one(conn, "SELECT * FROM sources WHERE id = %s", [source_id])
        return source_from_row(row) if row else None

    async def source_by_url(self, url: str) -> Source | None:
        async with self._tx() as conn:
            row = await self._one(conn, "SELECT * FROM sources WHERE url = %s", [url])
        return source_from_row(row) if row else None

    async def list_sources(self, *, active_only: bool = False) -> list[Source]:
        sql = "SELECT * FROM sources"
        if active_only:
            sql += " WHERE NOT paused"
        async with self._tx() as conn:
            rows = await self._all(conn, sql + " ORDER BY lower(name), id")
        return [source_from_row(r) for r in rows]

    async def find_sources(self, prefix: str, limit: int = 25) -> list[Source]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT * FROM sources WHERE name ILIKE %s ESCAPE '\\' OR title ILIKE %s"
                " ESCAPE '\\' ORDER BY lower(name) LIMIT %s",
                [like_escape(prefix) + "%", "%" + like_escape(prefix) + "%", limit],
            )
        return [source_from_row(r) for r in rows]

    async def remove_source(self, name: str) -> bool:
        async with self._tx() as conn:
            count = await self._run(
                conn, "DELETE FROM sources WHERE lower(name) = lower(%s)", [name]
            )
        return count > 0

    async def update_source(self, source_id: int, **changes: Any) -> Source:
        """Set columns of a source (the same names as SQLite's; datetimes stay datetimes)."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown source fields: {sorted(unknown)}")
        async with self._tx() as conn:
            if changes:
                assignments = ", ".join(f"{k} = %s" for k in changes)
                await self._run(
                    conn,
                    f"UPDATE sources SET {assignments} WHERE id = %s",
                    [*changes.values(), source_id],
                )
            source = await self._source_by_id(conn, source_id)
        return source  # type: ignore[return-value]  # same contract as SQLite: the id exists

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
        """A successful round; ``note`` (an entry given up) stays as the last error to show."""
        changes: dict[str, Any] = {
            "etag": etag,
            "last_modified": last_modified,
            "last_ok_at": utcnow(),
            "consecutive_failures": 0,
            "last_error": note[:500] if note else None,
        }
        if note:
            changes["last_error_at"] = utcnow()
        if title:
            changes["title"] = title
        if url:
            changes["url"] = url
        await self.update_source(source_id, **changes)

    async def record_fetch_error(self, source_id: int, error: str) -> int:
        """Count a failure; return the number of consecutive failures."""
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "UPDATE sources SET last_error = %s, last_error_at = %s,"
                " consecutive_failures = consecutive_failures + 1 WHERE id = %s"
                " RETURNING consecutive_failures",
                [error[:500], utcnow(), source_id],
            )
        return row["consecutive_failures"] if row else 0

    async def subscribed_chat_ids_for_source(self, source_id: int) -> list[int]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT DISTINCT s.chat_id FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
                " WHERE s.source_id = %s AND c.active ORDER BY s.chat_id",
                [source_id],
            )
        return [r["chat_id"] for r in rows]

    # --- leases: several processes poll, each source once per interval -------------------------
    async def claim_due_sources(
        self, worker: str, *, limit: int = 20, lease_seconds: float = 300.0
    ) -> list[Source]:
        """Sources due now (``next_run_at`` passed or unset) that no live lease holds.

        Each is leased to ``worker`` until polled (``finish_source_poll``) or the lease expires,
        so however many processes ask, a due source goes to one of them.
        """
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "WITH due AS (SELECT id FROM sources WHERE NOT paused"
                " AND (next_run_at IS NULL OR next_run_at <= now())"
                " AND (lease_until IS NULL OR lease_until < now())"
                " ORDER BY next_run_at NULLS FIRST, id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " UPDATE sources s SET lease_owner = %s,"
                " lease_until = now() + make_interval(secs => %s)"
                " FROM due WHERE s.id = due.id RETURNING s.*",
                [limit, worker, lease_seconds],
            )
        return [source_from_row(r) for r in sorted(rows, key=lambda r: r["id"])]

    async def renew_source_leases(
        self, worker: str, source_ids: list[int], lease_seconds: float
    ) -> int:
        """Extend the leases ``worker`` holds on sources still being polled."""
        async with self._tx() as conn:
            return await self._run(
                conn,
                "UPDATE sources SET lease_until = now() + make_interval(secs => %s)"
                " WHERE id = ANY(%s) AND lease_owner = %s",
                [lease_seconds, list(source_ids), worker],
            )

    async def lease_source(self, source_id: int, worker: str, lease_seconds: float) -> bool:
        """Lease one source now, due or not (adding a source polls it at once), unless
        another process holds it."""
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "UPDATE sources SET lease_owner = %s,"
                " lease_until = now() + make_interval(secs => %s) WHERE id = %s"
                " AND (lease_until IS NULL OR lease_until < now() OR lease_owner = %s)",
                [worker, lease_seconds, source_id, worker],
            )
        return count > 0

    async def finish_source_poll(self, source_id: int, worker: str, next_run_at: datetime) -> bool:
        """Set the next run and drop the lease (only if ``worker`` still holds it)."""
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "UPDATE sources SET next_run_at = %s, lease_owner = NULL, lease_until = NULL"
                " WHERE id = %s AND lease_owner = %s",
                [next_run_at, source_id, worker],
            )
        return count > 0
