"""Entries that failed to become pieces, on PostgreSQL (see ``storage/entry_failures.py``)."""

from __future__ import annotations

import json
from typing import Any

from bot.types import EntryFailure
from storage.postgres.db import PgBase
from storage.rows import to_time, utcnow


def _text(value: str, limit: int) -> str:
    # Feed data can hold lone surrogates and NUL characters, which PostgreSQL cannot store.
    return value[:limit].encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _failure_from_row(row: dict[str, Any]) -> EntryFailure:
    return EntryFailure(
        source_id=row["source_id"],
        entry_key=row["entry_key"],
        label=row["label"],
        tries=row["tries"],
        last_error=row["last_error"],
        entry_json=row["entry_json"],
        extra_keys=json.loads(row["extra_keys"] or "[]"),
        post=bool(row["post"]),
        first_failed_at=to_time(row["first_failed_at"]),
        last_failed_at=to_time(row["last_failed_at"]),
        gave_up_at=to_time(row["gave_up_at"]),
    )


class PgEntryFailures(PgBase):
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
        """Count one more failed try of an entry; return its tries so far."""
        now = utcnow()
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "INSERT INTO entry_failures (source_id, entry_key, label, tries, last_error,"
                " entry_json, extra_keys, post, first_failed_at, last_failed_at)"
                " VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (source_id, entry_key) DO UPDATE SET"
                " tries = entry_failures.tries + 1, last_error = excluded.last_error,"
                " last_failed_at = excluded.last_failed_at,"
                " entry_json = coalesce(excluded.entry_json, entry_failures.entry_json),"
                " post = entry_failures.post AND excluded.post RETURNING tries",
                [
                    source_id,
                    _text(key, 600),
                    _text(label, 300),
                    _text(error, 500),
                    _text(entry_json, 10_000_000) if entry_json else None,
                    json.dumps([_text(k, 600) for k in extra_keys or []]),
                    post,
                    now,
                    now,
                ],
            )
        return int(row["tries"]) if row else 0

    async def give_up_entry(self, source_id: int, key: str) -> None:
        """Stop trying an entry: it and its extra keys are marked seen; the row stays."""
        key = _text(key, 600)
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "UPDATE entry_failures SET gave_up_at = %s, entry_json = NULL"
                " WHERE source_id = %s AND entry_key = %s RETURNING extra_keys",
                [utcnow(), source_id, key],
            )
            extra = json.loads(row["extra_keys"]) if row else []
            await self._mark_seen(conn, source_id, [key, *extra], None)

    async def clear_entry_failure(self, source_id: int, key: str) -> None:
        """The entry worked after all (or was stored by another path)."""
        async with self._tx() as conn:
            await self._run(
                conn,
                "DELETE FROM entry_failures WHERE source_id = %s AND entry_key = %s",
                [source_id, _text(key, 600)],
            )

    async def pending_entry_failures(self, source_id: int) -> list[EntryFailure]:
        """Failed entries still being tried, oldest first."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT * FROM entry_failures WHERE source_id = %s AND gave_up_at IS NULL"
                " ORDER BY first_failed_at, entry_key",
                [source_id],
            )
        return [_failure_from_row(r) for r in rows]

    async def skipped_entries(
        self, source_id: int | None = None, limit: int = 50
    ) -> list[EntryFailure]:
        """Entries given up on, newest first (for status and the operator)."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT * FROM entry_failures WHERE gave_up_at IS NOT NULL"
                " AND (source_id = %s OR %s::bigint IS NULL)"
                " ORDER BY gave_up_at DESC, entry_key LIMIT %s",
                [source_id, source_id, limit],
            )
        return [_failure_from_row(r) for r in rows]
