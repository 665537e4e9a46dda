"""Translated titles and summaries, cached per piece and language (as storage/translations.py)."""

from __future__ import annotations

from storage.postgres.db import PgBase
from storage.rows import utcnow


class PgTranslations(PgBase):
    async def get_translation(self, piece_id: int, language: str) -> tuple[str, str, str] | None:
        """(title, summary, method) of a cached translation, or None."""
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT title, summary, method FROM translations"
                " WHERE piece_id = %s AND language = %s",
                [piece_id, language],
            )
        return (row["title"], row["summary"], row["method"]) if row else None

    async def save_translation(
        self, piece_id: int, language: str, title: str, summary: str, method: str
    ) -> None:
        async with self._tx() as conn:
            await self._run(
                conn,
                "INSERT INTO translations (piece_id, language, title, summary, method,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (piece_id, language)"
                " DO UPDATE SET title = excluded.title, summary = excluded.summary,"
                " method = excluded.method, created_at = excluded.created_at",
                [piece_id, language, title, summary, method, utcnow()],
            )
