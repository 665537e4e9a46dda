"""The delivery outbox: fan-out rows, claim-send-mark, notices, and posted message ids.

A future PostgreSQL backend replaces ``claim_due`` with ``FOR UPDATE SKIP LOCKED``; the
worker's cycle (claim, send, mark) stays the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.types import Chat, Delivery, Route
from storage.chats import ChatsMixin
from storage.rows import chat_from_row, delivery_from_row, to_text, utcnow


class OutboxMixin(ChatsMixin):
    def _write_routes(self, piece_id: int, routes: list[Route], chats: dict[int, Chat]) -> int:
        """One delivery row per route (inside the caller's transaction); how many will post."""
        now = to_text(utcnow())
        created = 0
        for found in routes:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO deliveries (piece_id, chat_id, subscription_id, platform,"
                " state, next_attempt_at, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
            created += cursor.rowcount if found.state == "pending" else 0
        return created

    # --- the worker's cycle ----------------------------------------------------------------
    def reset_in_flight(self, platform: str | None = None) -> int:
        """After a restart, rows left 'sending' go back to 'pending' (at most one was sent)."""
        sql = "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
        params: list[Any] = []
        if platform:
            sql += " AND platform = ?"
            params.append(platform)
        with self.db.atomic():
            return self.db.execute(sql, params).rowcount

    def claim_due(
        self, platform: str, *, limit: int = 50, now: datetime | None = None
    ) -> list[tuple[Delivery, Chat]]:
        """Claim due pending deliveries, oldest first, marking them 'sending'."""
        now_text = to_text(now or utcnow())
        with self.db.atomic():
            rows = self._all(
                "SELECT d.*, c.id AS c_id FROM deliveries d JOIN chats c ON c.id = d.chat_id"
                " WHERE d.platform = ? AND d.state = 'pending' AND c.active = 1 AND"
                " (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ?",
                [platform, now_text, limit],
            )
            if rows:
                marks = ",".join("?" * len(rows))
                self.db.execute(
                    f"UPDATE deliveries SET state = 'sending' WHERE id IN ({marks})",
                    [r["id"] for r in rows],
                )
        out = []
        for row in rows:
            row["state"] = "sending"
            chat = self.get_chat_by_id(row["chat_id"])
            if chat is not None:  # the join above found it; a removal since leaves the row
                out.append((delivery_from_row(row), chat))
        return out

    def mark_sent(self, delivery_id: int, message_id: str) -> None:
        with self.db.atomic():
            row = self._one(
                "SELECT d.piece_id, c.platform, c.platform_chat_id FROM deliveries d JOIN chats c"
                " ON c.id = d.chat_id WHERE d.id = ?",
                [delivery_id],
            )
            self.db.execute(
                "UPDATE deliveries SET state = 'sent', platform_message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                [str(message_id), to_text(utcnow()), delivery_id],
            )
            if row:
                self._record_message(
                    row["platform"], row["platform_chat_id"], str(message_id), row["piece_id"]
                )

    def mark_retry(self, delivery_id: int, error: str, delay_seconds: float) -> None:
        now = utcnow()
        when = now + timedelta(seconds=delay_seconds)
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = attempts + 1,"
                " last_error = ?, next_attempt_at = ?, retried_at = ? WHERE id = ?",
                [error[:300], to_text(when), to_text(now), delivery_id],
            )

    def postpone(
        self, delivery_id: int, until: datetime, reason: str, *, retry: bool = False
    ) -> None:
        """Delay without counting an attempt (quiet hours, a platform's retry_after).

        ``retry``: the platform refused this send (a 429), so `status` counts it as retried.
        """
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, reason = ?,"
                " retried_at = CASE WHEN ? THEN ? ELSE retried_at END WHERE id = ?",
                [to_text(until), reason, int(retry), to_text(utcnow()), delivery_id],
            )

    def mark_failed(self, delivery_id: int, error: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ?,"
                " failed_at = ? WHERE id = ?",
                [error[:300], to_text(utcnow()), delivery_id],
            )

    def retarget_delivery(self, delivery_id: int) -> None:
        """Back to pending at once (e.g. the chat migrated and its id was updated)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = NULL WHERE id = ?",
                [delivery_id],
            )

    def release_digest(self, chat_id: int) -> int:
        """Turn a chat's held digest rows into pending ones; return how many."""
        with self.db.atomic():
            return self.db.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = NULL"
                " WHERE chat_id = ? AND state = 'digest'",
                [chat_id],
            ).rowcount

    def release_quiet_hours(self, chat_id: int) -> int:
        """Posts a chat's quiet hours held become due now (the hours changed or ended)."""
        with self.db.atomic():
            return self.db.execute(
                "UPDATE deliveries SET next_attempt_at = NULL, reason = NULL"
                " WHERE chat_id = ? AND state = 'pending' AND reason = 'quiet hours'",
                [chat_id],
            ).rowcount

    def digest_pieces(self, chat_id: int) -> list[int]:
        rows = self._all(
            "SELECT piece_id FROM deliveries WHERE chat_id = ? AND state = 'digest' ORDER BY id",
            [chat_id],
        )
        return [r["piece_id"] for r in rows]

    def mark_digest_sent(self, chat_id: int, piece_ids: list[int], message_id: str) -> None:
        if not piece_ids:
            return
        marks = ",".join("?" * len(piece_ids))
        with self.db.atomic():
            self.db.execute(
                f"UPDATE deliveries SET state = 'sent', sent_at = ?, platform_message_id = ?"
                f" WHERE chat_id = ? AND state = 'digest' AND piece_id IN ({marks})",
                [to_text(utcnow()), str(message_id), chat_id, *piece_ids],
            )

    def digest_chats(self) -> list[Chat]:
        rows = self._all(
            "SELECT DISTINCT c.* FROM chats c JOIN deliveries d ON d.chat_id = c.id"
            " WHERE d.state = 'digest' AND c.active = 1"
        )
        return [chat_from_row(r) for r in rows]

    def delivery_for(self, piece_id: int, chat_id: int) -> Delivery | None:
        row = self._one(
            "SELECT * FROM deliveries WHERE piece_id = ? AND chat_id = ?", [piece_id, chat_id]
        )
        return delivery_from_row(row) if row else None

    def count_due(self, platform: str) -> int:
        """Deliveries due now or in flight for a platform (drain checks)."""
        return self._count(
            "SELECT count(*) AS n FROM deliveries d JOIN chats c ON c.id = d.chat_id WHERE"
            " d.platform = ? AND d.state IN ('pending', 'sending') AND c.active = 1 AND"
            " (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)",
            [platform, to_text(utcnow())],
        )

    def queue_depth(self) -> dict[str, int]:
        rows = self._all("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    def outbox_by_platform(self) -> list[tuple[str, str, int, str | None]]:
        """(platform, state, rows, oldest created_at) for the states still to send or failed."""
        rows = self._all(
            "SELECT platform, state, count(*) AS n, min(created_at) AS oldest FROM deliveries"
            " WHERE state IN ('pending', 'sending', 'digest', 'failed')"
            " GROUP BY platform, state ORDER BY platform, state"
        )
        return [(r["platform"], r["state"], r["n"], r["oldest"]) for r in rows]

    def delivery_outcomes_since(self, since: datetime) -> dict[str, int]:
        """Messages sent, failed and retried since ``since`` (each row counted once per kind)."""
        at = to_text(since)
        counts = {}
        for kind, column in (
            ("sent", "sent_at"),
            ("failed", "failed_at"),
            ("retried", "retried_at"),
        ):
            counts[kind] = self._count(
                f"SELECT count(*) AS n FROM deliveries WHERE {column} IS NOT NULL"
                f" AND {column} >= ?",
                [at],
            )
        return counts

    def count_deliveries(self, piece_id: int | None = None, state: str | None = None) -> int:
        sql, params = "SELECT count(*) AS n FROM deliveries WHERE 1 = 1", list[Any]()
        if piece_id is not None:
            sql += " AND piece_id = ?"
            params.append(piece_id)
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        return self._count(sql, params)

    # --- notices ----------------------------------------------------------------------------
    def add_notice(self, chat_id: int, text: str) -> None:
        chat = self.get_chat_by_id(chat_id)
        if chat is None:
            return
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO notices (chat_id, platform, text, created_at) VALUES (?, ?, ?, ?)",
                [chat_id, chat.platform, text, to_text(utcnow())],
            )

    def claim_notices(self, platform: str, limit: int = 20) -> list[tuple[int, Chat, str]]:
        with self.db.atomic():
            rows = self._all(
                "SELECT n.* FROM notices n JOIN chats c ON c.id = n.chat_id WHERE"
                " n.platform = ? AND n.state = 'pending' AND c.active = 1 ORDER BY n.id LIMIT ?",
                [platform, limit],
            )
            if rows:
                marks = ",".join("?" * len(rows))
                self.db.execute(
                    f"UPDATE notices SET state = 'sent' WHERE id IN ({marks})",
                    [r["id"] for r in rows],
                )
        out = []
        for row in rows:
            chat = self.get_chat_by_id(row["chat_id"])
            if chat is not None:
                out.append((row["id"], chat, row["text"]))
        return out

    # --- message ids ---------------------------------------------------------------------------
    def record_message(
        self, platform: str, platform_chat_id: str, message_id: str, piece_id: int | None
    ) -> None:
        with self.db.atomic():
            self._record_message(platform, platform_chat_id, message_id, piece_id)

    def _record_message(
        self, platform: str, platform_chat_id: str, message_id: str, piece_id: int | None
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO messages (platform, platform_chat_id, message_id, piece_id,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            [platform, str(platform_chat_id), str(message_id), piece_id, to_text(utcnow())],
        )

    def piece_for_message(
        self, platform: str, platform_chat_id: str, message_id: str
    ) -> int | None:
        row = self._one(
            "SELECT piece_id FROM messages WHERE platform = ? AND platform_chat_id = ?"
            " AND message_id = ?",
            [platform, str(platform_chat_id), str(message_id)],
        )
        return row["piece_id"] if row else None

    def message_ids(self, platform: str, platform_chat_id: str) -> list[str]:
        rows = self._all(
            "SELECT message_id FROM messages WHERE platform = ? AND platform_chat_id = ?",
            [platform, str(platform_chat_id)],
        )
        return [r["message_id"] for r in rows]

    def piece_was_shown_in(self, platform: str, platform_chat_id: str, piece_id: int) -> bool:
        row = self._one(
            "SELECT 1 AS ok FROM messages WHERE platform = ? AND platform_chat_id = ?"
            " AND piece_id = ? LIMIT 1",
            [platform, str(platform_chat_id), piece_id],
        )
        return row is not None
