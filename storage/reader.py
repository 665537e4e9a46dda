"""Reader features on SQLite: a calm start (backfill), read-later lists, votes, corrections.

Each is a few small tables beside the outbox; ``storage/postgres/reader.py`` mirrors them.
"""

from __future__ import annotations

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
