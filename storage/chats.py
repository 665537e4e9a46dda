"""Chats, their settings, and subscriptions."""

from __future__ import annotations

import json
from typing import Any

from bot.errors import LimitReached, NotFound, SubscriptionExists
from bot.types import (
    Chat,
    ChatKind,
    ChatSettings,
    RouteCandidate,
    Subscription,
    SubscriptionKind,
)
from storage.db import Queries
from storage.rows import (
    chat_from_row,
    settings_to_json,
    subscription_from_row,
    to_text,
    utcnow,
)


class ChatsMixin(Queries):
    def ensure_chat(
        self,
        platform: str,
        platform_chat_id: str,
        *,
        kind: ChatKind = "private",
        thread_id: str | None = None,
        title: str | None = None,
        reactivate: bool = False,
    ) -> Chat:
        """The chat, created on first sight; ``reactivate`` marks it active again."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO chats (platform, platform_chat_id, thread_id, kind, title, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, platform_chat_id, thread_id)"
                " DO UPDATE SET title = coalesce(excluded.title, chats.title)",
                [platform, str(platform_chat_id), thread_id or "", kind, title, to_text(utcnow())],
            )
            if reactivate:
                self.db.execute(
                    "UPDATE chats SET active = 1, inactive_reason = NULL WHERE platform = ?"
                    " AND platform_chat_id = ?",
                    [platform, str(platform_chat_id)],
                )
        chat = self.get_chat(platform, platform_chat_id, thread_id)
        if chat is None:  # only a concurrent migration could do this
            raise NotFound(f"chat {platform}:{platform_chat_id} is gone")
        return chat

    def get_chat(
        self, platform: str, platform_chat_id: str, thread_id: str | None = None
    ) -> Chat | None:
        row = self._one(
            "SELECT * FROM chats WHERE platform = ? AND platform_chat_id = ? AND thread_id = ?",
            [platform, str(platform_chat_id), thread_id or ""],
        )
        return chat_from_row(row) if row else None

    def get_chat_by_id(self, chat_id: int) -> Chat | None:
        row = self._one("SELECT * FROM chats WHERE id = ?", [chat_id])
        return chat_from_row(row) if row else None

    def chats_for_platform_id(self, platform: str, platform_chat_id: str) -> list[Chat]:
        rows = self._all(
            "SELECT * FROM chats WHERE platform = ? AND platform_chat_id = ?",
            [platform, str(platform_chat_id)],
        )
        return [chat_from_row(r) for r in rows]

    def set_chat_active(
        self, platform: str, platform_chat_id: str, active: bool, reason: str | None = None
    ) -> int:
        """Mark every chat row with that platform id (all its topics) active or inactive."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE chats SET active = ?, inactive_reason = ? WHERE platform = ?"
                " AND platform_chat_id = ?",
                [int(active), None if active else reason, platform, str(platform_chat_id)],
            )
            if not active:
                # Pending posts to a gone chat would only fail again: park them with a reason.
                self.db.execute(
                    "UPDATE deliveries SET state = 'skipped', reason = ? WHERE state IN"
                    " ('pending', 'sending', 'digest') AND chat_id IN (SELECT id FROM chats"
                    " WHERE platform = ? AND platform_chat_id = ?)",
                    [f"chat inactive: {reason}", platform, str(platform_chat_id)],
                )
        return cursor.rowcount

    def migrate_chat(self, platform: str, old_id: str, new_id: str) -> None:
        """Move a chat to its new platform id (Telegram group -> supergroup)."""
        with self.db.atomic():
            if self.chats_for_platform_id(platform, new_id):
                # Both exist: keep the old rows' data by moving subscriptions over.
                for old in self.chats_for_platform_id(platform, old_id):
                    new = self.ensure_chat(platform, new_id, kind=old.kind, thread_id=old.thread_id)
                    self.db.execute(
                        "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?",
                        [new.id, old.id],
                    )
                    self.db.execute(
                        "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?",
                        [new.id, old.id],
                    )
            else:
                self.db.execute(
                    "UPDATE chats SET platform_chat_id = ? WHERE platform = ? AND"
                    " platform_chat_id = ?",
                    [str(new_id), platform, str(old_id)],
                )

    def update_chat_settings(self, chat_id: int, settings: ChatSettings) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE chats SET settings = ? WHERE id = ?", [settings_to_json(settings), chat_id]
            )

    def count_chats(self, *, active_only: bool = True) -> int:
        sql = "SELECT count(*) AS n FROM chats" + (" WHERE active = 1" if active_only else "")
        return self._count(sql)

    def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        found: set[str] = set()
        ids = [str(i) for i in platform_chat_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._all(
                f"SELECT DISTINCT platform_chat_id FROM chats WHERE platform = ? AND"
                f" platform_chat_id IN ({marks})",
                [platform, *chunk],
            )
            found.update(r["platform_chat_id"] for r in rows)
        return found

    # --- subscriptions --------------------------------------------------------------------
    def add_subscription(
        self,
        chat_id: int,
        kind: SubscriptionKind,
        target: str,
        *,
        source_id: int | None = None,
        created_by: str | None = None,
        limit: int | None = None,
    ) -> Subscription:
        with self.db.atomic():
            if limit is not None and self.count_subscriptions(chat_id) >= limit:
                raise LimitReached(f"this chat already has {limit} subscriptions (the limit)")
            existing = self._one(
                "SELECT id FROM subscriptions WHERE chat_id = ? AND kind = ? AND target = ?",
                [chat_id, kind, target],
            )
            if existing:
                raise SubscriptionExists(f"already subscribed (#{existing['id']})")
            subscription_id = self._insert(
                "INSERT INTO subscriptions (chat_id, kind, target, source_id, created_by,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [chat_id, kind, target, source_id, created_by, to_text(utcnow())],
            )
        subscription = self.get_subscription(subscription_id)
        if subscription is None:
            raise NotFound("the subscription is gone")
        return subscription

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        row = self._one("SELECT * FROM subscriptions WHERE id = ?", [subscription_id])
        return subscription_from_row(row) if row else None

    def list_subscriptions(self, chat_id: int) -> list[Subscription]:
        rows = self._all("SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", [chat_id])
        return [subscription_from_row(r) for r in rows]

    def count_subscriptions(self, chat_id: int | None = None) -> int:
        if chat_id is None:
            return self._count("SELECT count(*) AS n FROM subscriptions")
        return self._count("SELECT count(*) AS n FROM subscriptions WHERE chat_id = ?", [chat_id])

    def remove_subscription(self, chat_id: int, subscription_id: int) -> bool:
        with self.db.atomic():
            cursor = self.db.execute(
                "DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", [subscription_id, chat_id]
            )
        return cursor.rowcount > 0

    def set_subscription_filters(
        self, chat_id: int, subscription_id: int, include: list[str], exclude: list[str]
    ) -> bool:
        with self.db.atomic():
            cursor = self.db.execute(
                'UPDATE subscriptions SET include = ?, "exclude" = ? WHERE id = ? AND chat_id = ?',
                [
                    json.dumps(include, ensure_ascii=False),
                    json.dumps(exclude, ensure_ascii=False),
                    subscription_id,
                    chat_id,
                ],
            )
        return cursor.rowcount > 0

    def subscribed_chat_ids_for_source(self, source_id: int) -> list[int]:
        rows = self._all(
            "SELECT DISTINCT s.chat_id FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
            " WHERE s.source_id = ? AND c.active = 1",
            [source_id],
        )
        return [r["chat_id"] for r in rows]

    def _chats_by_id(self, chat_ids: set[int]) -> dict[int, Chat]:
        """Chats by id, read in batches (a fan-out touches thousands)."""
        found: dict[int, Chat] = {}
        ids = sorted(chat_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._all(f"SELECT * FROM chats WHERE id IN ({marks})", chunk):
                found[row["id"]] = chat_from_row(row)
        return found

    def _candidates(self, where: str, params: list[Any]) -> list[RouteCandidate]:
        """Subscriptions matching ``where`` (on ``subscriptions``) with their chats, by id."""
        subs = [
            subscription_from_row(r)
            for r in self._all(f"SELECT * FROM subscriptions WHERE {where} ORDER BY id", params)
        ]
        chats = self._chats_by_id({s.chat_id for s in subs})
        return [RouteCandidate(s, chats[s.chat_id]) for s in subs if s.chat_id in chats]
