"""The two owner-settable limits, kept in the kv table so /limits changes them without a restart."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.durations import parse_duration

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_KEY = "limit.max_subscriptions_per_chat"
MIN_CHAT_INTERVAL_KEY = "limit.min_chat_interval"


async def max_subscriptions(services: Services) -> int:
    """Subscriptions one chat may have: the owner's override, else the setting."""
    value = await services.store.get_value(MAX_SUBSCRIPTIONS_KEY)
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            # A hand-edited bad value must not lock every chat out: fall back and say so.
            log.warning("kv %s=%r is not a number; using the setting", MAX_SUBSCRIPTIONS_KEY, value)
    return services.settings.commentary_max_subscriptions_per_chat


async def min_chat_interval(services: Services) -> int:
    """Shortest poll interval (seconds) for sources added from a chat."""
    value = await services.store.get_value(MIN_CHAT_INTERVAL_KEY)
    if value:
        try:
            return parse_duration(value)  # bare digits are seconds, "30m" works too
        except ValueError:
            log.warning(
                "kv %s=%r is not a duration; using the setting", MIN_CHAT_INTERVAL_KEY, value
            )
    return services.settings.min_chat_interval_seconds
