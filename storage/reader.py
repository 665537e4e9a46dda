"""Reader features on SQLite: a calm start (backfill), read-later lists, votes, corrections.

Each is a few small tables beside the outbox; ``storage/postgres/reader.py`` mirrors them.
"""

from __future__ import annotations

from bot.errors import LimitReached
from bot.types import Piece
from storage.entry_failures import EntryFailuresMixin
from storage.rows import to_text, utcnow


class ReaderMixin(EntryFailuresMixin):
    # --- a calm start ------------------------------------------------------------------------
    def queue_backfill(self, chat_id: int, subscription_id: int, piece_ids: list[int]) -> int:
        """Queue posts of earlier pieces for one chat, in the order given; how many.

        A piece the chat already has a delivery row for (sent, held or filtered) is left
        alone: the unique row keeps a piece at one post per chat.
        """
        chat = self.get_chat_by_id(chat_id)
        if chat is None or not piece_ids:
            return 0
        now = to_text(utcnow())
        created = 0
        with self.db.atomic():
            for piece_id in piece_ids:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (piece_id, chat_id, subscription_id,"
                    " platform, state, next_attempt_at, reason, created_at)"
                    " SELECT id, ?, ?, ?, 'pending', ?, 'asked for earlier pieces', ?"
                    " FROM pieces WHERE id = ?",
                    [chat_id, subscription_id, chat.platform, now, now, piece_id],
                )
                created += cursor.rowcount
        return created

    # --- read later --------------------------------------------------------------------------
    def add_saved(
        self, platform: str, user_id: str, piece_id: int, *, limit: int | None = None
    ) -> bool:
        """Keep a piece in a person's list; False if it was there (or there is no such piece).

        ``LimitReached`` when the list already holds ``limit`` pieces.
        """
        with self.db.atomic():
            if limit is not None and self.count_saved(platform, user_id) >= limit:
                if not self._one(
                    "SELECT 1 AS ok FROM saved_pieces WHERE platform = ? AND user_id = ?"
                    " AND piece_id = ?",
                    [platform, user_id, piece_id],
                ):
                    raise LimitReached(f"your list holds at most {limit} pieces")
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO saved_pieces (platform, user_id, piece_id, saved_at)"
                " SELECT ?, ?, id, ? FROM pieces WHERE id = ?",
                [platform, user_id, to_text(utcnow()), piece_id],
            )
        return cursor.rowcount > 0

    def remove_saved(self, platform: str, user_id: str, piece_id: int) -> bool:
        with self.db.atomic():
            cursor = self.db.execute(
                "DELETE FROM saved_pieces WHERE platform = ? AND user_id = ? AND piece_id = ?",
                [platform, user_id, piece_id],
            )
        return cursor.rowcount > 0

    def list_saved(self, platform: str, user_id: str, limit: int = 50) -> list[Piece]:
        """The person's saved pieces, the last saved first."""
        rows = self._all(
            "SELECT p.* FROM saved_pieces s JOIN pieces p ON p.id = s.piece_id"
            " WHERE s.platform = ? AND s.user_id = ? ORDER BY s.saved_at DESC, s.rowid DESC"
            " LIMIT ?",
            [platform, user_id, limit],
        )
        return self._hydrate(rows)

    def count_saved(self, platform: str, user_id: str) -> int:
        return self._count(
            "SELECT count(*) AS n FROM saved_pieces WHERE platform = ? AND user_id = ?",
            [platform, user_id],
        )
