"""Translated titles and summaries, cached per piece and language (one LLM request each)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.rows import to_text, utcnow


class TranslationsMixin:
    db: Database

    def get_translation(self, piece_id: int, language: str) -> tuple[str, str, str] | None:
        """(title, summary, method) of a cached translation, or None."""
        row = self.db.execute(
            "SELECT title, summary, method FROM translations WHERE piece_id = ? AND language = ?",
            [piece_id, language],
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def save_translation(
        self, piece_id: int, language: str, title: str, summary: str, method: str
    ) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO translations (piece_id, language, title, summary, method,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (piece_id, language)"
                " DO UPDATE SET title = excluded.title, summary = excluded.summary,"
                " method = excluded.method, created_at = excluded.created_at",
                [piece_id, language, title, summary, method, to_text(utcnow())],
            )
