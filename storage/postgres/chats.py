"""Chats, their settings, and subscriptions, on PostgreSQL."""

from __future__ import annotations

import json

import psycopg

from bot.errors import LimitReached, SubscriptionExists
from bot.types import Chat, ChatSettings, Subscription
from storage.postgres.db import Conn, PgBase
from storage.rows import chat_from_row, settings_to_json, subscription_from_row, utcnow


class PgChats(PgBase):
    async def ensure_chat(
        self,
        platform: str,
        platform_chat_id: str,
        *,
        kind: str = "private",
        thread_id: str | None = None,
        title: str | None = None,
        reactivate: bool = False,
    ) -> Chat:
        """The chat, created on first sight; ``reactivate`` marks it active again."""
        async with self._tx() as conn:
            return await self._ensure_chat(
                conn, platform, platform_chat_id, kind, thread_id, title, reactivate
            )

    async def _ensure_chat(
        self,
        conn: Conn,
        platform: str,
        platform_chat_id: str,
        kind: str,
        thread_id: str | None,
        title: str | None,
        reactivate: bool,
    ) -> Chat:
        await self._run(
            conn,
            "INSERT INTO chats (platform, platform_chat_id, thread_id, kind, title, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (platform, platform_chat_id, thread_id)"
            " DO UPDATE SET title = coalesce(excluded.title, chats.title)",
            [platform, str(platform_chat_id), thread_id or "", kind, title, utcnow()],
        )
        if reactivate:
            await self._run(
                conn,
                "UPDATE chats SET active = true, inactive_reason = NULL WHERE platform = %s"
                " AND platform_chat_id = %s",
                [platform, str(platform_chat_id)],
            )
        row = await self._one(
            conn,
            "SELECT * FROM chats WHERE platform = %s AND platform_chat_id = %s AND thread_id = %s",
            [platform, str(platform_chat_id), thread_id or ""],
        )
        assert row is not None
        return chat_from_row(row)

    async def get_chat(
        self, platform: str, platform_chat_id: str, thread_id: str | None = None
    ) -> Chat | None:
        async with self._tx() as conn:
            row = await self._one(
                conn,
                "SELECT * FROM chats WHERE platform = %s AND platform_chat_id = %s"
                " AND thread_id = %s",
                [platform, str(platform_chat_id), thread_id or ""],
            )
        return chat_from_row(row) if row else None

    async def get_chat_by_id(self, chat_id: int) -> Chat | None:
        async with self._tx() as conn:
            return await self._chat_by_id(conn, chat_id)

    async def _chat_by_id(self, conn: Conn, chat_id: int) -> Chat | None:
        row = await self._one(conn, "SELECT * FROM chats WHERE id = %s", [chat_id])
        return chat_from_row(row) if row else None

    async def chats_for_platform_id(self, platform: str, platform_chat_id: str) -> list[Chat]:
        async with self._tx() as conn:
            return await self._chats_for(conn, platform, platform_chat_id)

    async def _chats_for(self, conn: Conn, platform: str, platform_chat_id: str) -> list[Chat]:
        rows = await self._all(
            conn,
            "SELECT * FROM chats WHERE platform = %s AND platform_chat_id = %s ORDER BY id",
            [platform, str(platform_chat_id)],
        )
        return [chat_from_row(r) for r in rows]

    async def set_chat_active(
        self, platform: str, platform_chat_id: str, active: bool, reason: str | None = None
    ) -> int:
        """Mark every chat row with that platform id (all its topics) active or inactive."""
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "UPDATE chats SET active = %s, inactive_reason = %s WHERE platform = %s"
                " AND platform_chat_id = %s",
                [active, None if active else reason, platform, str(platform_chat_id)],
            )
            if not active:
                # Pending posts to a gone chat would only fail again: park them with a reason.
                await self._run(
                    conn,
                    "UPDATE deliveries SET state = 'skipped', reason = %s, worker = NULL,"
                    " lease_until = NULL WHERE state IN ('pending', 'sending', 'digest')"
                    " AND chat_id IN (SELECT id FROM chats WHERE platform = %s"
                    " AND platform_chat_id = %s)",
                    [f"chat inactive: {reason}", platform, str(platform_chat_id)],
                )
        return count

    async def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        """Move a chat to its new platform id (Telegram group -> supergroup)."""
        async with self._tx() as conn:
            if await self._chats_for(conn, platform, new_id):
                # Both exist: keep the old rows' data by moving what does not clash.
                for old in await self._chats_for(conn, platform, old_id):
                    new = await self._ensure_chat(
                        conn, platform, new_id, old.kind, old.thread_id, None, False
                    )
                    await self._run(
                        conn,
                        "UPDATE subscriptions s SET chat_id = %s WHERE s.chat_id = %s"
                        " AND NOT EXISTS (SELECT 1 FROM subscriptions t WHERE t.chat_id = %s"
                        " AND t.kind = s.kind AND lower(t.target) = lower(s.target))",
                        [new.id, old.id, new.id],
                    )
                    await self._run(
                        conn,
                        "UPDATE deliveries d SET chat_id = %s WHERE d.chat_id = %s"
                        " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.chat_id = %s"
                        " AND e.piece_id = d.piece_id)",
                        [new.id, old.id, new.id],
                    )
            else:
                await self._run(
                    conn,
                    "UPDATE chats SET platform_chat_id = %s WHERE platform = %s"
                    " AND platform_chat_id = %s",
                    [str(new_id), platform, str(old_id)],
                )

    async def update_chat_settings(self, chat_id: int, settings: ChatSettings) -> None:
        async with self._tx() as conn:
            await self._run(
                conn,
                "UPDATE chats SET settings = %s WHERE id = %s",
                [settings_to_json(settings), chat_id],
            )

    async def count_chats(self, *, active_only: bool = True) -> int:
        sql = "SELECT count(*) AS n FROM chats" + (" WHERE active" if active_only else "")
        async with self._tx() as conn:
            row = await self._one(conn, sql)
        return int(row["n"]) if row else 0

    async def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT DISTINCT platform_chat_id FROM chats WHERE platform = %s"
                " AND platform_chat_id = ANY(%s)",
                [platform, [str(i) for i in platform_chat_ids]],
            )
        return {r["platform_chat_id"] for r in rows}

    # --- subscriptions --------------------------------------------------------------------
    async def add_subscription(
        self,
        chat_id: int,
        kind: str,
        target: str,
        *,
        source_id: int | None = None,
        created_by: str | None = None,
        limit: int | None = None,
    ) -> Subscription:
        async with self._tx() as conn:
            # The chat row is locked so two processes cannot both pass the limit check.
            await self._run(conn, "SELECT 1 FROM chats WHERE id = %s FOR UPDATE", [chat_id])
            if limit is not None:
                row = await self._one(
                    conn, "SELECT count(*) AS n FROM subscriptions WHERE chat_id = %s", [chat_id]
                )
                if row and row["n"] >= limit:
                    raise LimitReached(f"this chat already has {limit} subscriptions (the limit)")
            existing = await self._one(
                conn,
                "SELECT id FROM subscriptions WHERE chat_id = %s AND kind = %s"
                " AND lower(target) = lower(%s)",
                [chat_id, kind, target],
            )
            if existing:
                raise SubscriptionExists(f"already subscribed (#{existing['id']})")
            try:
                row = await self._one(
                    conn,
                    "INSERT INTO subscriptions (chat_id, kind, target, source_id, created_by,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                    [chat_id, kind, target, source_id, created_by, utcnow()],
                )
            except psycopg.errors.UniqueViolation:
                raise SubscriptionExists("already subscribed") from None
        assert row is not None
        return subscription_from_row(row)

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self._tx() as conn:
            row = await self._one(
                conn, "SELECT * FROM subscriptions WHERE id = %s", [subscription_id]
            )
        return subscription_from_row(row) if row else None

    async def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        async with self._tx() as conn:
            rows = await self._all(
                conn, "SELECT * FROM subscriptions WHERE chat_id = %s ORDER BY id", [chat_id]
            )
        return [subscription_from_row(r) for r in rows]

    async def count_subscriptions(self, chat_id: int | None = None) -> int:
        async with self._tx() as conn:
            if chat_id is None:
                row = await self._one(conn, "SELECT count(*) AS n FROM subscriptions")
            else:
                row = await self._one(
                    conn, "SELECT count(*) AS n FROM subscriptions WHERE chat_id = %s", [chat_id]
                )
        return int(row["n"]) if row else 0

    async def remove_subscription(self, chat_id: int, subscription_id: int) -> bool:
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "DELETE FROM subscriptions WHERE id = %s AND chat_id = %s",
                [subscription_id, chat_id],
            )
        return count > 0

    async def set_subscription_filters(
        self, chat_id: int, subscription_id: int, include: list[str], exclude: list[str]
    ) -> bool:
        async with self._tx() as conn:
            count = await self._run(
                conn,
                "UPDATE subscriptions SET include = %s, exclude = %s WHERE id = %s"
                " AND chat_id = %s",
                [
                    json.dumps(include, ensure_ascii=False),
                    json.dumps(exclude, ensure_ascii=False),
                    subscription_id,
                    chat_id,
                ],
            )
        return count > 0
