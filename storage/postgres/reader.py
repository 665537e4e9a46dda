"""Reader features on PostgreSQL (see ``storage/reader.py``): backfill, saved pieces, votes,
corrections."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.errors import LimitReached
from bot.types import Chat, Correction, Piece
from storage.postgres.pieces import PgPieces
from storage.reader import correction_from_row
from storage.rows import chat_from_row, utcnow

CORRECTION_LEASE_SECONDS = 120.0
# A newer correction of the same post is waiting: this one can go (the same current text).
_NEWER_WAITING = (
    "EXISTS (SELECT 1 FROM corrections o WHERE o.piece_id = corrections.piece_id"
    " AND o.chat_id = corrections.chat_id AND o.message_id = corrections.message_id"
    " AND o.state = 'pending' AND o.id <> corrections.id)"
)


class PgReader(PgPieces):
    worker_id: str

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

    # --- corrections ---------------------------------------------------------------------------
    async def queue_corrections(self, piece_id: int, reason: str, since: datetime) -> int:
        now = utcnow()
        async with self._tx() as conn:
            # Translations of the old title and summary are stale now: made again on demand.
            await self._run(conn, "DELETE FROM translations WHERE piece_id = %s", [piece_id])
            rows = await self._all(
                conn,
                "SELECT d.chat_id, c.platform, d.platform_message_id AS message_id"
                " FROM deliveries d JOIN chats c ON c.id = d.chat_id"
                " JOIN messages m ON m.platform = c.platform"
                " AND m.platform_chat_id = c.platform_chat_id"
                " AND m.message_id = d.platform_message_id AND m.piece_id = d.piece_id"
                " WHERE d.piece_id = %s AND d.state = 'sent' AND d.sent_at >= %s"
                " AND d.platform_message_id IS NOT NULL ORDER BY d.id",
                [piece_id, since],
            )
            for row in rows:
                await self._run(
                    conn,
                    "INSERT INTO corrections (piece_id, chat_id, platform, message_id, reason,"
                    " state, created_at) VALUES (%s, %s, %s, %s, %s, 'pending', %s)"
                    " ON CONFLICT (piece_id, chat_id, message_id) WHERE state = 'pending'"
                    " DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at",
                    [piece_id, row["chat_id"], row["platform"], row["message_id"], reason, now],
                )
        return len(rows)

    async def claim_corrections(
        self, platform: str, limit: int = 20, now: datetime | None = None
    ) -> list[tuple[Correction, Chat]]:
        """Claim due corrections (pending and due, or 'sending' with an expired lease)."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "WITH due AS (SELECT r.id FROM corrections r JOIN chats c ON c.id = r.chat_id"
                " WHERE r.platform = %s AND c.active AND ((r.state = 'pending'"
                " AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= %s))"
                " OR (r.state = 'sending' AND coalesce(r.lease_until < now(), true)))"
                " ORDER BY r.id LIMIT %s FOR UPDATE OF r SKIP LOCKED)"
                " UPDATE corrections r SET state = 'sending', worker = %s,"
                " lease_until = now() + make_interval(secs => %s)"
                " FROM due WHERE r.id = due.id RETURNING r.*",
                [platform, now or utcnow(), limit, self.worker_id, CORRECTION_LEASE_SECONDS],
            )
            rows.sort(key=lambda r: r["id"])
            chats = await self._chats_by_id(conn, (r["chat_id"] for r in rows))
        return [(correction_from_row(r), chats[r["chat_id"]]) for r in rows]

    async def finish_correction(
        self, correction_id: int, *, error: str | None = None, retry_in: float | None = None
    ) -> None:
        now = utcnow()
        async with self._tx() as conn:
            if error is None:
                await self._run(
                    conn,
                    "UPDATE corrections SET state = 'done', done_at = %s,"
                    " attempts = attempts + 1, last_error = NULL, worker = NULL,"
                    " lease_until = NULL WHERE id = %s",
                    [now, correction_id],
                )
            elif retry_in is not None:
                await self._run(
                    conn,
                    f"DELETE FROM corrections WHERE id = %s AND {_NEWER_WAITING}",
                    [correction_id],
                )
                await self._run(
                    conn,
                    "UPDATE corrections SET state = 'pending', attempts = attempts + 1,"
                    " last_error = %s, next_attempt_at = %s, worker = NULL, lease_until = NULL"
                    " WHERE id = %s",
                    [error[:300], now + timedelta(seconds=retry_in), correction_id],
                )
            else:
                await self._run(
                    conn,
                    "UPDATE corrections SET state = 'failed', done_at = %s,"
                    " attempts = attempts + 1, last_error = %s, worker = NULL,"
                    " lease_until = NULL WHERE id = %s",
                    [now, error[:300], correction_id],
                )

    async def reset_corrections_in_flight(self, platform: str) -> int:
        """Rows whose lease ran out (or this process's own) wait again; others are left alone."""
        mine = (
            "state = 'sending' AND platform = %s"
            " AND (lease_until IS NULL OR lease_until < now() OR worker = %s)"
        )
        async with self._tx() as conn:
            await self._run(
                conn,
                f"DELETE FROM corrections WHERE {mine} AND {_NEWER_WAITING}",
                [platform, self.worker_id],
            )
            return await self._run(
                conn,
                "UPDATE corrections SET state = 'pending', worker = NULL, lease_until = NULL"
                f" WHERE {mine}",
                [platform, self.worker_id],
            )

    async def corrections_for(self, piece_id: int, chat_id: int) -> list[Correction]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT * FROM corrections WHERE piece_id = %s AND chat_id = %s ORDER BY id DESC",
                [piece_id, chat_id],
            )
        return [correction_from_row(r) for r in rows]

    # --- votes and held-back pieces ------------------------------------------------------------
    async def record_vote(self, chat_id: int, piece_id: int, user_id: str, vote: int) -> None:
        async with self._tx() as conn:
            if vote == 0:
                await self._run(
                    conn,
                    "DELETE FROM votes WHERE chat_id = %s AND piece_id = %s AND user_id = %s",
                    [chat_id, piece_id, user_id],
                )
                return
            await self._run(
                conn,
                "INSERT INTO votes (chat_id, piece_id, user_id, vote, voted_at)"
                " SELECT %s, id, %s, %s, %s FROM pieces WHERE id = %s"
                " ON CONFLICT (chat_id, piece_id, user_id) DO UPDATE SET vote = excluded.vote,"
                " voted_at = excluded.voted_at",
                [chat_id, user_id, 1 if vote > 0 else -1, utcnow(), piece_id],
            )

    async def piece_votes(self, chat_id: int, piece_id: int) -> tuple[int, int]:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT count(*) FILTER (WHERE vote = 1) AS up,"
                " count(*) FILTER (WHERE vote = -1) AS down"
                " FROM votes WHERE chat_id = %s AND piece_id = %s",
                [chat_id, piece_id],
            )
        return (int(row["up"]), int(row["down"])) if row else (0, 0)

    async def chat_taste(self, chat_id: int, limit: int = 200) -> tuple[int, list[tuple[int, int]]]:
        async with self._tx() as conn:
            row = await self._one(
                conn, "SELECT count(*) AS n FROM votes WHERE chat_id = %s", [chat_id]
            )
            rows = await self._all(
                conn,
                "SELECT piece_id, sum(vote) AS net FROM votes WHERE chat_id = %s"
                " GROUP BY piece_id ORDER BY max(voted_at) DESC, piece_id DESC LIMIT %s",
                [chat_id, limit],
            )
        total = int(row["n"]) if row else 0
        return total, [(r["piece_id"], int(r["net"])) for r in rows]

    async def hold_back(self, chat_id: int, holds: list[tuple[int, str]], *, noted: bool) -> None:
        state = "held_noted" if noted else "held"
        async with self._tx() as conn:
            for piece_id, reason in holds:
                await self._run(
                    conn,
                    "UPDATE deliveries SET state = %s, reason = %s, worker = NULL,"
                    " lease_until = NULL WHERE chat_id = %s AND piece_id = %s",
                    [state, reason[:300], chat_id, piece_id],
                )

    async def held_pieces(self, chat_id: int) -> list[tuple[int, str]]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT piece_id, reason FROM deliveries WHERE chat_id = %s AND state = 'held'"
                " ORDER BY id",
                [chat_id],
            )
        return [(r["piece_id"], r["reason"] or "") for r in rows]

    async def held_chats(self, platform: str) -> list[Chat]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT * FROM chats c WHERE c.active AND c.platform = %s AND c.id IN"
                " (SELECT chat_id FROM deliveries WHERE state = 'held') ORDER BY c.id",
                [platform],
            )
        return [chat_from_row(r) for r in rows]

    # --- topics and threads ---------------------------------------------------------------------
    async def fall_back(self, chat_id: int, to_chat_id: int, reason: str) -> list[str]:
        async with self._tx() as conn:
            moved = await self._all(
                conn,
                "UPDATE subscriptions s SET chat_id = %s WHERE s.chat_id = %s AND NOT EXISTS"
                " (SELECT 1 FROM subscriptions o WHERE o.chat_id = %s AND o.kind = s.kind"
                " AND lower(o.target) = lower(s.target)) RETURNING s.id, s.kind, s.target",
                [to_chat_id, chat_id, to_chat_id],
            )
            await self._run(conn, "DELETE FROM subscriptions WHERE chat_id = %s", [chat_id])
            await self._run(
                conn,
                "UPDATE deliveries d SET chat_id = %s, state = 'pending', next_attempt_at = NULL,"
                " worker = NULL, lease_until = NULL WHERE d.chat_id = %s"
                " AND d.state IN ('pending', 'sending') AND NOT EXISTS (SELECT 1 FROM deliveries o"
                " WHERE o.chat_id = %s AND o.piece_id = d.piece_id)",
                [to_chat_id, chat_id, to_chat_id],
            )
            await self._run(
                conn,
                "UPDATE corrections SET state = 'failed', last_error = %s, worker = NULL,"
                " lease_until = NULL WHERE chat_id = %s AND state IN ('pending', 'sending')",
                [reason[:300], chat_id],
            )
            await self._run(
                conn,
                "UPDATE chats SET active = false, inactive_reason = %s WHERE id = %s",
                [reason[:300], chat_id],
            )
        return [f"{r['kind']} {r['target']}" for r in sorted(moved, key=lambda r: r["id"])]
