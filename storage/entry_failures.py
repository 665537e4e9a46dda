"""Entries that failed to become pieces: tries per entry, given up after a bound, kept on record."""

from __future__ import annotations

import json
from typing import Any

from bot.types import EntryFailure
from storage.pieces import PiecesMixin
from storage.rows import to_text, to_time, utcnow


def _text(value: str, limit: int) -> str:
    # Feed data can hold lone surrogates, which SQLite cannot store: they become "?".
    return value[:limit].encode("utf-8", "replace").decode("utf-8")


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


class EntryFailuresMixin(PiecesMixin):
    """Entries of a feed that failed: tried again a few times, then given up and reported."""

    def record_entry_failure(
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
        now = to_text(utcnow())
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO entry_failures (source_id, entry_key, label, tries, last_error,"
                " entry_json, extra_keys, post, first_failed_at, last_failed_at)"
                " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source_id, entry_key) DO UPDATE SET tries = tries + 1,"
                " last_error = excluded.last_error, last_failed_at = excluded.last_failed_at,"
                " entry_json = coalesce(excluded.entry_json, entry_failures.entry_json),"
                " post = min(entry_failures.post, excluded.post)",
                [
                    source_id,
                    _text(key, 600),
                    _text(label, 300),
                    _text(error, 500),
                    entry_json,
                    json.dumps([_text(k, 600) for k in extra_keys or []]),
                    int(post),
                    now,
                    now,
                ],
            )
        row = self._one(
            "SELECT tries FROM entry_failures WHERE source_id = ? AND entry_key = ?",
            [source_id, _text(key, 600)],
        )
        return row["tries"] if row else 0

    def give_up_entry(self, source_id: int, key: str) -> None:
        """Stop trying an entry: it and its extra keys are marked seen; the row stays."""
        key = _text(key, 600)
        with self.db.atomic():
            row = self._one(
                "SELECT extra_keys FROM entry_failures WHERE source_id = ? AND entry_key = ?",
                [source_id, key],
            )
            extra = json.loads(row["extra_keys"]) if row else []
            self.db.execute(
                "UPDATE entry_failures SET gave_up_at = ?, entry_json = NULL"
                " WHERE source_id = ? AND entry_key = ?",
                [to_text(utcnow()), source_id, key],
            )
            for seen in [key, *extra]:
                self._mark_seen(source_id, seen, None)

    def clear_entry_failure(self, source_id: int, key: str) -> None:
        """The entry worked after all (or was stored by another path)."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM entry_failures WHERE source_id = ? AND entry_key = ?",
                [source_id, _text(key, 600)],
            )

    def pending_entry_failures(self, source_id: int) -> list[EntryFailure]:
        """Failed entries still being tried, oldest first."""
        rows = self._all(
            "SELECT * FROM entry_failures WHERE source_id = ? AND gave_up_at IS NULL"
            " ORDER BY first_failed_at",
            [source_id],
        )
        return [_failure_from_row(r) for r in rows]

    def skipped_entries(self, source_id: int | None = None, limit: int = 50) -> list[EntryFailure]:
        """Entries given up on, newest first (for status and the operator)."""
        rows = self._all(
            "SELECT * FROM entry_failures WHERE gave_up_at IS NOT NULL"
            " AND (source_id = ? OR ? IS NULL) ORDER BY gave_up_at DESC LIMIT ?",
            [source_id, source_id, limit],
        )
        return [_failure_from_row(r) for r in rows]
