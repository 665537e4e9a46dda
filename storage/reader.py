"""Reader features on SQLite: a calm start (backfill), read-later lists, votes, corrections.

Each is a few small tables beside the outbox; ``storage/postgres/reader.py`` mirrors them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.errors import LimitReached
from bot.types import Chat, Correction, Piece
from storage.entry_failures import EntryFailuresMixin
from storage.rows import to_text, to_time, utcnow


def correction_from_row(row: dict[str, Any]) -> Correction:
    return Correction(
        id=row["id"],
        piece_id=row["piece_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        reason=row["reason"],
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=to_time(row["created_at"]),
        done_at=to_time(row["done_at"]),
    )


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

    # --- corrections ---------------------------------------------------------------------------
    def queue_corrections(self, piece_id: int, reason: str, since: datetime) -> int:
        """One correction per post of the piece sent since ``since``; how many posts.

        Only the piece's own posts count (a digest that listed it is left alone), found through
        the message ids recorded when they were sent. A post with a correction still waiting
        gets the new reason instead of a second row.
        """
        now = to_text(utcnow())
        with self.db.atomic():
            # Translations of the old title and summary are stale now: made again on demand.
            self.db.execute("DELETE FROM translations WHERE piece_id = ?", [piece_id])
            rows = self._all(
                "SELECT d.chat_id, c.platform, d.platform_message_id AS message_id"
                " FROM deliveries d JOIN chats c ON c.id = d.chat_id"
                " JOIN messages m ON m.platform = c.platform"
                " AND m.platform_chat_id = c.platform_chat_id"
                " AND m.message_id = d.platform_message_id AND m.piece_id = d.piece_id"
                " WHERE d.piece_id = ? AND d.state = 'sent' AND d.sent_at >= ?"
                " AND d.platform_message_id IS NOT NULL ORDER BY d.id",
                [piece_id, to_text(since)],
            )
            for row in rows:
                self.db.execute(
                    "INSERT INTO corrections (piece_id, chat_id, platform, message_id, reason,"
                    " state, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)"
                    " ON CONFLICT (piece_id, chat_id, message_id) WHERE state = 'pending'"
                    " DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at",
                    [piece_id, row["chat_id"], row["platform"], row["message_id"], reason, now],
                )
        return len(rows)

    def claim_corrections(
        self, platform: str, limit: int = 20, now: datetime | None = None
    ) -> list[tuple[Correction, Chat]]:
        """Claim due corrections of active chats, oldest first (marked 'sending')."""
        with self.db.atomic():
            rows = self._all(
                "SELECT r.* FROM corrections r JOIN chats c ON c.id = r.chat_id"
                " WHERE r.platform = ? AND r.state = 'pending' AND c.active = 1"
                " AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?) ORDER BY r.id LIMIT ?",
                [platform, to_text(now or utcnow()), limit],
            )
            if rows:
                marks = ",".join("?" * len(rows))
                self.db.execute(
                    f"UPDATE corrections SET state = 'sending' WHERE id IN ({marks})",
                    [r["id"] for r in rows],
                )
        out = []
        for row in rows:
            row["state"] = "sending"
            chat = self.get_chat_by_id(row["chat_id"])
            if chat is not None:
                out.append((correction_from_row(row), chat))
        return out

    def finish_correction(
        self, correction_id: int, *, error: str | None = None, retry_in: float | None = None
    ) -> None:
        """Done; or failed for good (``error``); or tried again in ``retry_in`` seconds."""
        now = utcnow()
        with self.db.atomic():
            if error is None:
                self.db.execute(
                    "UPDATE corrections SET state = 'done', done_at = ?, attempts = attempts + 1,"
                    " last_error = NULL WHERE id = ?",
                    [to_text(now), correction_id],
                )
            elif retry_in is not None:
                when = now + timedelta(seconds=retry_in)
                # A newer correction of the same post may be waiting: it edits to the same
                # (current) text, so this one goes instead of waiting beside it.
                self.db.execute(
                    "DELETE FROM corrections WHERE id = ? AND EXISTS (SELECT 1 FROM corrections o"
                    " WHERE o.piece_id = corrections.piece_id AND o.chat_id = corrections.chat_id"
                    " AND o.message_id = corrections.message_id AND o.state = 'pending')",
                    [correction_id],
                )
                self.db.execute(
                    "UPDATE corrections SET state = 'pending', attempts = attempts + 1,"
                    " last_error = ?, next_attempt_at = ? WHERE id = ?",
                    [error[:300], to_text(when), correction_id],
                )
            else:
                self.db.execute(
                    "UPDATE corrections SET state = 'failed', done_at = ?, attempts = attempts + 1,"
                    " last_error = ? WHERE id = ?",
                    [to_text(now), error[:300], correction_id],
                )

    def reset_corrections_in_flight(self, platform: str) -> int:
        """After a restart, corrections left 'sending' wait again (unless a newer one does)."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM corrections WHERE state = 'sending' AND platform = ? AND EXISTS"
                " (SELECT 1 FROM corrections o WHERE o.piece_id = corrections.piece_id"
                " AND o.chat_id = corrections.chat_id AND o.message_id = corrections.message_id"
                " AND o.state = 'pending')",
                [platform],
            )
            return self.db.execute(
                "UPDATE corrections SET state = 'pending' WHERE state = 'sending' AND platform = ?",
                [platform],
            ).rowcount

    def corrections_for(self, piece_id: int, chat_id: int) -> list[Correction]:
        """The piece's corrections in a chat, newest first (for /why)."""
        rows = self._all(
            "SELECT * FROM corrections WHERE piece_id = ? AND chat_id = ? ORDER BY id DESC",
            [piece_id, chat_id],
        )
        return [correction_from_row(r) for r in rows]

    # --- votes and held-back pieces ------------------------------------------------------------
    def record_vote(self, chat_id: int, piece_id: int, user_id: str, vote: int) -> None:
        """A member's vote on a piece in a chat (+1, -1; 0 takes it back); one per member."""
        with self.db.atomic():
            if vote == 0:
                self.db.execute(
                    "DELETE FROM votes WHERE chat_id = ? AND piece_id = ? AND user_id = ?",
                    [chat_id, piece_id, user_id],
                )
                return
            self.db.execute(
                "INSERT INTO votes (chat_id, piece_id, user_id, vote, voted_at)"
                " SELECT ?, id, ?, ?, ? FROM pieces WHERE id = ?"
                " ON CONFLICT (chat_id, piece_id, user_id) DO UPDATE SET vote = excluded.vote,"
                " voted_at = excluded.voted_at",
                [chat_id, user_id, 1 if vote > 0 else -1, to_text(utcnow()), piece_id],
            )

    def piece_votes(self, chat_id: int, piece_id: int) -> tuple[int, int]:
        """(likes, dislikes) of a piece in a chat."""
        row = self._one(
            "SELECT coalesce(sum(vote = 1), 0) AS up, coalesce(sum(vote = -1), 0) AS down"
            " FROM votes WHERE chat_id = ? AND piece_id = ?",
            [chat_id, piece_id],
        )
        return (int(row["up"]), int(row["down"])) if row else (0, 0)

    def chat_taste(self, chat_id: int, limit: int = 200) -> tuple[int, list[tuple[int, int]]]:
        """(votes in all, [(piece id, net vote)] of the most recently voted pieces)."""
        total = self._count("SELECT count(*) AS n FROM votes WHERE chat_id = ?", [chat_id])
        rows = self._all(
            "SELECT piece_id, sum(vote) AS net FROM votes WHERE chat_id = ?"
            " GROUP BY piece_id ORDER BY max(voted_at) DESC, piece_id DESC LIMIT ?",
            [chat_id, limit],
        )
        return total, [(r["piece_id"], int(r["net"])) for r in rows]

    def hold_back(self, chat_id: int, holds: list[tuple[int, str]], *, noted: bool) -> None:
        """Mark the chat's rows of these pieces held back with a reason (``noted``: listed)."""
        state = "held_noted" if noted else "held"
        with self.db.atomic():
            for piece_id, reason in holds:
                self.db.execute(
                    "UPDATE deliveries SET state = ?, reason = ?"
                    " WHERE chat_id = ? AND piece_id = ?",
                    [state, reason[:300], chat_id, piece_id],
                )

    def held_pieces(self, chat_id: int) -> list[tuple[int, str]]:
        """Pieces held back and not listed yet: (piece id, reason), oldest first."""
        rows = self._all(
            "SELECT piece_id, reason FROM deliveries WHERE chat_id = ? AND state = 'held'"
            " ORDER BY id",
            [chat_id],
        )
        return [(r["piece_id"], r["reason"] or "") for r in rows]

    def held_chats(self, platform: str) -> list[Chat]:
        """Active chats of a platform with held-back pieces not listed yet."""
        rows = self._all(
            "SELECT c.id FROM chats c WHERE c.active = 1 AND c.platform = ? AND c.id IN"
            " (SELECT chat_id FROM deliveries WHERE state = 'held') ORDER BY c.id",
            [platform],
        )
        return [chat for chat in (self.get_chat_by_id(r["id"]) for r in rows) if chat]

    # --- topics and threads ---------------------------------------------------------------------
    def fall_back(self, chat_id: int, to_chat_id: int, reason: str) -> list[str]:
        """A topic or thread is gone: its subscriptions and waiting posts move to ``to_chat_id``
        and it is marked inactive (that row alone, not its whole group). Returns the moved
        subscriptions as ``kind target`` (one the other place already had is dropped)."""
        with self.db.atomic():
            subs = self._all(
                "SELECT id, kind, target FROM subscriptions WHERE chat_id = ? ORDER BY id",
                [chat_id],
            )
            moved = []
            for sub in subs:
                cursor = self.db.execute(
                    "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE id = ?",
                    [to_chat_id, sub["id"]],
                )
                if cursor.rowcount:
                    moved.append(f"{sub['kind']} {sub['target']}")
            self.db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id])
            self.db.execute(
                "UPDATE OR IGNORE deliveries SET chat_id = ?, state = 'pending',"
                " next_attempt_at = NULL WHERE chat_id = ? AND state IN ('pending', 'sending')",
                [to_chat_id, chat_id],
            )
            self.db.execute(
                "UPDATE corrections SET state = 'failed', last_error = ?"
                " WHERE chat_id = ? AND state IN ('pending', 'sending')",
                [reason[:300], chat_id],
            )
            self.db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?",
                [reason[:300], chat_id],
            )
        return moved
