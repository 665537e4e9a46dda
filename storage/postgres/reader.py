"""Reader features on PostgreSQL (see ``storage/reader.py``): backfill, saved pieces, votes,
corrections."""

from __future__ import annotations

from storage.postgres.db import PgBase
from storage.rows import utcnow


class PgReader(PgBase):
    # --- a calm start ------------------------------------------------------------------------
    async def queue_backfill(self, chat_id: int, subscription_id: int, piece_ids: list[int]) -> int:
        if not piece_ids:
            return 0
        now = utcnow()
        created = 0
        async with self._tx() as conn:
            chat = await self._one(conn, "SELECT platform FROM chats WHERE id = %s", [chat_id])
            if chat is None:
                return 0
            for piece_id in piece_ids:
                created += await self._run(
                    conn,
                    "INSERT INTO deliveries (piece_id, chat_id, subscription_id, platform, state,"
                    " next_attempt_at, reason, created_at)"
                    " SELECT id, %s, %s, %s, 'pending', %s, 'asked for earlier pieces', %s"
                    " FROM pieces WHERE id = %s ON CONFLICT (piece_id, chat_id) DO NOTHING",
                    [chat_id, subscription_id, chat["platform"], now, now, piece_id],
                )
        return created
