"""The delivery outbox on PostgreSQL: fan-out rows, leased claims, notices, message ids.

Several processes may send for the same platform. A claim takes due rows with
``FOR UPDATE SKIP LOCKED`` (no two claims see the same row), marks them 'sending' with this
process's worker id and a lease; a row whose lease ran out (its process died mid-send) is due
again, so nothing is lost, and at most the sends that were in flight are repeated. No process
resets rows that another one holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.types import Chat, Delivery, RouteCandidate
from storage.postgres.db import Conn, PgBase
from storage.protocols import Router
from storage.rows import chat_from_row, delivery_from_row, subscription_from_row, to_text, utcnow

DELIVERY_LEASE_SECONDS = 120.0


class PgOutbox(PgBase):
    worker_id: str
    lease_seconds: float = DELIVERY_LEASE_SECONDS

    async def _candidates(self, conn: Conn, where: str, params: list[Any]) -> list[RouteCandidate]:
        """Subscriptions matching ``where`` with their chats (routing's candidates)."""
        subs = [
            subscription_from_row(r)
            for r in await self._all(
                conn, f"SELECT * FROM subscriptions WHERE {where} ORDER BY id", params
            )
        ]
        if not subs:
            return []
        chats = await self._chats_by_id(conn, (s.chat_id for s in subs))
        return [RouteCandidate(s, chats[s.chat_id]) for s in subs if s.chat_id in chats]

    async def _fan_out(
        self, conn: Conn, piece_id: int, route: Router, *, only_source_id: int | None = None
    ) -> int:
        """Write the delivery rows ``route`` decides on (inside the caller's transaction)."""
        piece = await self._piece_in(conn, piece_id)
        if piece is None:
            return 0
        if only_source_id is not None:
            candidates = await self._candidates(
                conn, "kind = 'source' AND source_id = %s", [only_source_id]
            )
        else:
            candidates = await self._candidates(
                conn,
                "(kind = 'source' AND source_id = %s)"
                " OR (kind = 'author' AND lower(target) = ANY(%s)) OR kind = 'keyword'",
                [piece.source_id, [a.lower() for a in piece.authors]],
            )
        chats = {c.chat.id: c.chat for c in candidates}
        now = utcnow()
        created = 0
        for found in route(piece, candidates, seen_in=only_source_id):
            count = await self._run(
                conn,
                "INSERT INTO deliveries (piece_id, chat_id, subscription_id, platform, state,"
                " next_attempt_at, reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (piece_id, chat_id) DO NOTHING",
                [
                    piece_id,
                    found.chat_id,
                    found.subscription_id,
                    chats[found.chat_id].platform,
                    found.state,
                    now,
                    found.reason,
                    now,
                ],
            )
            created += count if found.state == "pending" else 0
        return created

    async def chat_candidates(self, chat_id: int) -> list[RouteCandidate]:
        async with self._tx() as conn:
            return await self._candidates(conn, "chat_id = %s", [chat_id])

    # --- the worker's cycle ----------------------------------------------------------------
    async def reset_in_flight(self, platform: str | None = None) -> int:
        """Rows whose lease has run out go back to 'pending'; rows another live process holds
        are left alone (unlike SQLite's single process, which resets all its own at start)."""
        sql = (
            "UPDATE deliveries SET state = 'pending', worker = NULL, lease_until = NULL"
            " WHERE state = 'sending' AND (lease_until IS NULL OR lease_until < now()"
            " OR worker = %s)"
        )
        params: list[Any] = [self.worker_id]
        if platform:
            sql += " AND platform = %s"
            params.append(platform)
        async with self._tx() as conn:
            return await self._run(conn, sql, params)

    async def claim_due(
        self, platform: str, *, limit: int = 50, now: datetime | None = None
    ) -> list[tuple[Delivery, Chat]]:
        """Claim due deliveries (pending and due, or 'sending' with an expired lease)."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "WITH due AS (SELECT d.id FROM deliveries d JOIN chats c ON c.id = d.chat_id"
                " WHERE d.platform = %s AND c.active AND ((d.state = 'pending'"
                " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s))"
                " OR (d.state = 'sending' AND coalesce(d.lease_until < now(), true)))"
                " ORDER BY d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED)"
                " UPDATE deliveries d SET state = 'sending', worker = %s,"
                " lease_until = now() + make_interval(secs => %s)"
                " FROM due WHERE d.id = due.id RETURNING d.*",
                [platform, now or utcnow(), limit, self.worker_id, self.lease_seconds],
            )
            rows.sort(key=lambda r: r["id"])
            chats = await self._chats_by_id(conn, (r["chat_id"] for r in rows))
        return [(delivery_from_row(r), chats[r["chat_id"]]) for r in rows]

    async def mark_sent(self, delivery_id: int, message_id: str) -> None:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "UPDATE deliveries d SET state = 'sent', platform_message_id = %s, sent_at = %s,"
                " attempts = attempts + 1, last_error = NULL, worker = NULL, lease_until = NULL"
                " FROM chats c WHERE c.id = d.chat_id AND d.id = %s"
                " RETURNING d.piece_id, c.platform, c.platform_chat_id",
                [str(message_id), utcnow(), delivery_id],
            )
            if row:
                await self._record_message(
                    conn, row["platform"], row["platform_chat_id"], str(message_id), row["piece_id"]
                )

    async def mark_retry(self, delivery_id: int, error: str, delay_seconds: float) -> None:
        now = utcnow()
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE deliveries SET state = 'pending', attempts = attempts + 1,"
                " last_error = %s, next_attempt_at = %s, retried_at = %s, worker = NULL,"
                " lease_until = NULL WHERE id = %s",
                [error[:300], now + timedelta(seconds=delay_seconds), now, delivery_id],
            )

    async def postpone(
        self, delivery_id: int, until: datetime, reason: str, *, retry: bool = False
    ) -> None:
        """Delay without counting an attempt (quiet hours; ``retry``: a platform's 429)."""
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE deliveries SET state = 'pending', next_attempt_at = %s, reason = %s,"
                " retried_at = CASE WHEN %s THEN %s ELSE retried_at END, worker = NULL,"
                " lease_until = NULL WHERE id = %s",
                [until, reason, retry, utcnow(), delivery_id],
            )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1,"
                " last_error = %s, failed_at = %s, worker = NULL, lease_until = NULL"
                " WHERE id = %s",
                [error[:300], utcnow(), delivery_id],
            )

    async def retarget_delivery(self, delivery_id: int) -> None:
        """Back to pending at once (e.g. the chat migrated and its id was updated)."""
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE deliveries SET state = 'pending', next_attempt_at = NULL, worker = NULL,"
                " lease_until = NULL WHERE id = %s",
                [delivery_id],
            )

    async def release_quiet_hours(self, chat_id: int) -> int:
        """Posts a chat's quiet hours held become due now (the hours changed or ended)."""
        async with self._tx() as conn:
            return await self._run(
                conn,
                "UPDATE deliveries SET next_attempt_at = NULL, reason = NULL"
                " WHERE chat_id = %s AND state = 'pending' AND reason = 'quiet hours'",
                [chat_id],
            )

    async def release_digest(self, chat_id: int) -> int:
        """Turn a chat's held digest rows into pending ones; return how many."""
        async with self._tx() as conn:
            return await self._run(
                conn,
                "UPDATE deliveries SET state = 'pending', next_attempt_at = NULL"
                " WHERE chat_id = %s AND state = 'digest'",
                [chat_id],
            )

    async def digest_pieces(self, chat_id: int) -> list[int]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT piece_id FROM deliveries WHERE chat_id = %s AND state = 'digest'"
                " ORDER BY id",
                [chat_id],
            )
        return [r["piece_id"] for r in rows]

    async def mark_digest_sent(self, chat_id: int, piece_ids: list[int], message_id: str) -> None:
        if not piece_ids:
            return
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE deliveries SET state = 'sent', sent_at = %s, platform_message_id = %s"
                " WHERE chat_id = %s AND state = 'digest' AND piece_id = ANY(%s)",
                [utcnow(), str(message_id), chat_id, list(piece_ids)],
            )

    async def digest_chats(self) -> list[Chat]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT c.* FROM chats c WHERE c.active AND EXISTS (SELECT 1 FROM deliveries d"
                " WHERE d.chat_id = c.id AND d.state = 'digest') ORDER BY c.id",
            )
        return [chat_from_row(r) for r in rows]

    async def delivery_for(self, piece_id: int, chat_id: int) -> Delivery | None:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT * FROM deliveries WHERE piece_id = %s AND chat_id = %s",
                [piece_id, chat_id],
            )
        return delivery_from_row(row) if row else None

    async def count_due(self, platform: str) -> int:
        """Deliveries due now or in flight for a platform (drain checks)."""
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT count(*) AS n FROM deliveries d JOIN chats c ON c.id = d.chat_id WHERE"
                " d.platform = %s AND d.state IN ('pending', 'sending') AND c.active AND"
                " (d.next_attempt_at IS NULL OR d.next_attempt_at <= %s)",
                [platform, utcnow()],
            )
        return int(row["n"]) if row else 0

    async def queue_depth(self) -> dict[str, int]:
        async with self._tx() as conn:
            rows = await self._all(
                conn, "SELECT state, count(*) AS n FROM deliveries GROUP BY state"
            )
        return {r["state"]: int(r["n"]) for r in rows}

    async def outbox_by_platform(self) -> list[tuple[str, str, int, str | None]]:
        """(platform, state, rows, oldest created_at as ISO text) for rows to send or failed."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT platform, state, count(*) AS n, min(created_at) AS oldest FROM deliveries"
                " WHERE state IN ('pending', 'sending', 'digest', 'failed')"
                " GROUP BY platform, state ORDER BY platform, state",
            )
        return [(r["platform"], r["state"], int(r["n"]), to_text(r["oldest"])) for r in rows]

    async def delivery_outcomes_since(self, since: datetime) -> dict[str, int]:
        """Messages sent, failed and retried since ``since`` (each row counted once per kind)."""
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT count(*) FILTER (WHERE sent_at >= %s) AS sent,"
                " count(*) FILTER (WHERE failed_at >= %s) AS failed,"
                " count(*) FILTER (WHERE retried_at >= %s) AS retried FROM deliveries"
                " WHERE sent_at >= %s OR failed_at >= %s OR retried_at >= %s",
                [since] * 6,
            )
        assert row is not None
        return {k: int(row[k]) for k in ("sent", "failed", "retried")}

    async def sending_workers(self, platform: str) -> list[str]:
        """Worker ids holding deliveries in flight (who is sending, for operators and benches)."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT worker, count(*) AS n FROM deliveries WHERE platform = %s"
                " AND state = 'sending' AND worker IS NOT NULL GROUP BY worker ORDER BY n DESC",
                [platform],
            )
        return [r["worker"] for r in rows]

    async def count_deliveries(self, piece_id: int | None = None, state: str | None = None) -> int:
        sql = "SELECT count(*) AS n FROM deliveries WHERE true"
        params: list[Any] = []
        if piece_id is not None:
            sql += " AND piece_id = %s"
            params.append(piece_id)
        if state is not None:
            sql += " AND state = %s"
            params.append(state)
        async with self._tx() as conn:
            row = await self._one(conn, sql, params)
        return int(row["n"]) if row else 0

    # --- notices ----------------------------------------------------------------------------
    async def add_notice(self, chat_id: int, text: str) -> None:
        async with self._tx() as conn:
            await self._run(
                conn,
                "INSERT INTO notices (chat_id, platform, text, created_at)"
                " SELECT id, platform, %s, %s FROM chats WHERE id = %s",
                [text, utcnow(), chat_id],
            )

    async def claim_notices(self, platform: str, limit: int = 20) -> list[tuple[int, Chat, str]]:
        """Take pending notices, each by one process (SKIP LOCKED); sent at most once."""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "WITH due AS (SELECT n.id FROM notices n JOIN chats c ON c.id = n.chat_id"
                " WHERE n.platform = %s AND n.state = 'pending' AND c.active ORDER BY n.id"
                " LIMIT %s FOR UPDATE OF n SKIP LOCKED)"
                " UPDATE notices n SET state = 'sent', worker = %s FROM due WHERE n.id = due.id"
                " RETURNING n.*",
                [platform, limit, self.worker_id],
            )
            rows.sort(key=lambda r: r["id"])
            chats = await self._chats_by_id(conn, (r["chat_id"] for r in rows))
        return [(r["id"], chats[r["chat_id"]], r["text"]) for r in rows]

    # --- message ids ---------------------------------------------------------------------------
    async def record_message(
        self, platform: str, platform_chat_id: str, message_id: str, piece_id: int | None
    ) -> None:
        async with self._tx() as conn:
            await self._record_message(conn, platform, platform_chat_id, message_id, piece_id)

    async def _record_message(
        self,
        conn: Conn,
        platform: str,
        platform_chat_id: str,
        message_id: str,
        piece_id: int | None,
    ) -> None:
        await self._run(
            conn,
            "INSERT INTO messages (platform, platform_chat_id, message_id, piece_id, created_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (platform, platform_chat_id, message_id)"
            " DO UPDATE SET piece_id = excluded.piece_id, created_at = excluded.created_at",
            [platform, str(platform_chat_id), str(message_id), piece_id, utcnow()],
        )

    async def piece_for_message(
        self, platform: str, platform_chat_id: str, message_id: str
    ) -> int | None:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT piece_id FROM messages WHERE platform = %s AND platform_chat_id = %s"
                " AND message_id = %s",
                [platform, str(platform_chat_id), str(message_id)],
            )
        return row["piece_id"] if row else None

    async def message_ids(self, platform: str, platform_chat_id: str) -> list[str]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT message_id FROM messages WHERE platform = %s AND platform_chat_id = %s",
                [platform, str(platform_chat_id)],
            )
        return [r["message_id"] for r in rows]

    async def piece_was_shown_in(self, platform: str, platform_chat_id: str, piece_id: int) -> bool:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT 1 AS ok FROM messages WHERE platform = %s AND platform_chat_id = %s"
                " AND piece_id = %s LIMIT 1",
                [platform, str(platform_chat_id), piece_id],
            )
        return row is not None
