"""Sources and their fetch state."""

from __future__ import annotations

from datetime import datetime
from typing import Unpack

from bot.errors import NotFound, SourceExists
from bot.types import Source, SourceKind
from storage.db import Queries
from storage.protocols import SourceChanges
from storage.rows import source_from_row, to_text, utcnow


class SourcesMixin(Queries):
    def add_source(
        self,
        name: str,
        url: str,
        *,
        kind: SourceKind = "feed",
        interval_seconds: int = 1800,
        selector: str | None = None,
        trusted: bool = True,
        added_by: str | None = None,
    ) -> Source:
        if self.get_source(name) is not None:
            raise SourceExists(f"a source named {name!r} already exists")
        same_url = self.source_by_url(url)
        if same_url is not None:
            raise SourceExists(f"{url} is already followed as {same_url.name!r}")
        with self.db.atomic():
            source_id = self._insert(
                "INSERT INTO sources (name, url, kind, interval_seconds, selector, trusted,"
                " added_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    name,
                    url,
                    kind,
                    interval_seconds,
                    selector,
                    int(trusted),
                    added_by,
                    to_text(utcnow()),
                ],
            )
        return self._source(source_id)

    def _source(self, source_id: int) -> Source:
        """The source just written (``NotFound`` if a concurrent removal won)."""
        source = self.get_source_by_id(source_id)
        if source is None:
            raise NotFound(f"source #{source_id} is gone")
        return source

    def get_source(self, name: str) -> Source | None:
        row = self._one("SELECT * FROM sources WHERE name = ? COLLATE NOCASE", [name])
        return source_from_row(row) if row else None

    def get_source_by_id(self, source_id: int) -> Source | None:
        row = self._one("SELECT * FROM sources WHERE id = ?", [source_id])
        return source_from_row(row) if row else None

    def source_by_url(self, url: str) -> Source | None:
        row = self._one("SELECT * FROM sources WHERE url = ?", [url])
        return source_from_row(row) if row else None

    def list_sources(self, *, active_only: bool = False) -> list[Source]:
        sql = "SELECT * FROM sources"
        if active_only:
            sql += " WHERE paused = 0"
        return [source_from_row(r) for r in self._all(sql + " ORDER BY name COLLATE NOCASE")]

    def find_sources(self, prefix: str, limit: int = 25) -> list[Source]:
        rows = self._all(
            "SELECT * FROM sources WHERE name LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\'"
            " ORDER BY name COLLATE NOCASE LIMIT ?",
            [_like_prefix(prefix), "%" + _like_escape(prefix) + "%", limit],
        )
        return [source_from_row(r) for r in rows]

    def remove_source(self, name: str) -> bool:
        source = self.get_source(name)
        if source is None:
            return False
        with self.db.atomic():
            self.db.execute("DELETE FROM sources WHERE id = ?", [source.id])
        return True

    def update_source(self, source_id: int, **changes: Unpack[SourceChanges]) -> Source:
        """Set columns of a source (datetimes become ISO text, booleans integers)."""
        allowed = {
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
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown source fields: {sorted(unknown)}")
        values = {
            k: (to_text(v) if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v)
            for k, v in changes.items()
        }
        if values:
            assignments = ", ".join(f"{k} = ?" for k in values)
            with self.db.atomic():
                self.db.execute(
                    f"UPDATE sources SET {assignments} WHERE id = ?", [*values.values(), source_id]
                )
        return self._source(source_id)

    def record_fetch_ok(
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
        changes: SourceChanges = {
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
        self.update_source(source_id, **changes)

    def record_fetch_error(self, source_id: int, error: str) -> int:
        """Count a failure; return the number of consecutive failures."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE sources SET last_error = ?, last_error_at = ?,"
                " consecutive_failures = consecutive_failures + 1 WHERE id = ?",
                [error[:500], to_text(utcnow()), source_id],
            )
        row = self._one("SELECT consecutive_failures FROM sources WHERE id = ?", [source_id])
        return row["consecutive_failures"] if row else 0


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"
