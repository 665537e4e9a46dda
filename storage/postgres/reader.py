"""Reader features on PostgreSQL (see ``storage/reader.py``): backfill, saved pieces, votes,
corrections."""

from __future__ import annotations

from bot.errors import LimitReached
from bot.types import Piece
from storage.postgres.pieces import PgPieces
from storage.rows import utcnow


class PgReader(PgPieces):
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

    # --- read later --------------------------------------------------------------------------
    async def add_saved(
        self, platform: str, user_id: str, piece_id: int, *, limit: int | None = None
    ) -> bool:
        async with self._tx() as conn:
            if limit is not None:
                row = await self._one(
                    conn,
                    "SELECT count(*) AS n FROM saved_pieces WHERE platform = %s AND user_id = %s",
                    [platform, user_id],
                )
                if row and row["n"] >= limit:
                    already = await self._one(
                        conn,
                        "SELECT 1 AS ok FROM saved_pieces WHERE platform = %s AND user_id = %s"
                        " AND piece_id = %s",
                        [platform, user_id, piece_id],
                    )
                    if already is None:
                        raise LimitReached(f"your list holds at most {limit} pieces")
            count = await self._run(
                conn,
                "INSERT INTO saved_pieces (platform, user_id, piece_id, saved_at)"
                " SELECT %s, %s, id, %s FROM pieces WHERE id = %s"
                " ON CONFLICT (platform, user_id, piece_id) DO NOTHING",
                [platform, user_id, utcnow(), piece_id],
            )
        return count > 0

    async def remove_saved(self, platform: str, user_id: str, piece_id: int) -> bool:
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "DELETE FROM saved_pieces WHERE platform = %s AND user_id = %s AND piece_id = %s",
                [platform, user_id, piece_id],
            )
        return count > 0

    async def list_saved(self, platform: str, user_id: str, limit: int = 50) -> list[Piece]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT p.* FROM saved_pieces s JOIN pieces p ON p.id = s.piece_id"
                " WHERE s.platform = %s AND s.user_id = %s"
                " ORDER BY s.saved_at DESC, p.id DESC LIMIT %s",
                [platform, user_id, limit],
            )
            return await self._hydrate(conn, rows)

    async def count_saved(self, platform: str, user_id: str) -> int:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT count(*) AS n FROM saved_pieces WHERE platform = %s AND user_id = %s",
                [platform, user_id],
            )
        return int(row["n"]) if row else 0
