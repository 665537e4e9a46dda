"""When a chat may receive its next message: the platform's pacing and the chat's quiet hours."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.delivery.sender import PlatformLimits
from bot.types import Chat, ChatSettings


class Pacer:
    """Spaces sends: a global rate, and per chat (stricter for groups and channels)."""

    def __init__(self, limits: PlatformLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._global_next = 0.0
        self._chat_next: dict[str, float] = {}

    @staticmethod
    def _key(chat: Chat) -> str:
        # Keyed on the platform chat, not the row: a group's forum topics share its limit.
        return chat.platform_chat_id

    def chat_gap(self, chat: Chat) -> float:
        gap = 1.0 / self.limits.per_chat_per_second
        if chat.kind in ("group", "channel", "thread"):
            gap = max(gap, 60.0 / self.limits.per_group_per_minute)
        return gap

    def ready_at(self, chat: Chat) -> float:
        return max(self._global_next, self._chat_next.get(self._key(chat), 0.0))

    def reserve(self, chat: Chat) -> float:
        """Book the next slot for ``chat``; return how long to wait for it."""
        now = self.clock()
        # A worker that fell behind (a claim took a while on the database thread) may catch
        # up on at most 50 ms of missed slots, so the rate holds without bursting.
        self._global_next = max(self._global_next, now - 0.05)
        start = max(self._global_next, self._chat_next.get(self._key(chat), 0.0))
        self._global_next = start + 1.0 / self.limits.global_per_second
        self._chat_next[self._key(chat)] = max(now, start) + self.chat_gap(chat)
        return max(0.0, start - now)

    def back_off(self, seconds: float, chat: Chat | None = None) -> None:
        """The platform said wait: nobody (or this chat) sends before then."""
        until = self.clock() + seconds
        if chat is None:
            self._global_next = max(self._global_next, until)
        else:
            self._chat_next[self._key(chat)] = max(self._chat_next.get(self._key(chat), 0.0), until)


def _zone(settings: ChatSettings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hm(text: str) -> tuple[int, int]:
    hours, minutes = text.split(":")
    return int(hours), int(minutes)


def quiet_until(settings: ChatSettings, now: datetime | None = None) -> datetime | None:
    """The end of the chat's quiet hours if ``now`` falls inside them, else None."""
    if not settings.quiet_start or not settings.quiet_end:
        return None
    local = (now or datetime.now(UTC)).astimezone(_zone(settings))
    start = local.replace(
        hour=_hm(settings.quiet_start)[0],
        minute=_hm(settings.quiet_start)[1],
        second=0,
        microsecond=0,
    )
    end = local.replace(
        hour=_hm(settings.quiet_end)[0], minute=_hm(settings.quiet_end)[1], second=0, microsecond=0
    )
    if start == end:
        return None
    if start < end:  # e.g. 13:00-15:00
        inside = start <= local < end
    else:  # wraps midnight, e.g. 22:00-07:00
        inside = local >= start or local < end
        if local >= start:
            end += timedelta(days=1)
    return end.astimezone(UTC) if inside else None


def digest_due(
    settings: ChatSettings, last_sent_day: str | None, now: datetime | None = None
) -> str | None:
    """The local date to send a digest for, if its time has come and it was not sent today."""
    local = (now or datetime.now(UTC)).astimezone(_zone(settings))
    hour, minute = _hm(settings.digest_time)
    if (local.hour, local.minute) < (hour, minute):
        return None
    today = local.date().isoformat()
    return None if last_sent_day == today else today
