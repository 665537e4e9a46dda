"""When a source's next round is due: backoff after failures, and the due time by its record."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.types import Source

MAX_BACKOFF = 24 * 3600


def backoff_seconds(interval: int, failures: int) -> float:
    return float(min(interval * (2 ** max(failures - 1, 0)), MAX_BACKOFF))


def expected_next_run(source: Source) -> datetime | None:
    """The next round by the source's own record, for when no scheduler holds its job (the
    bot is not running): the last round plus the interval or the backoff; a source never
    polled is due since it was added (its first round runs as soon as the bot starts).
    None for a paused source."""
    if source.paused:
        return None
    tried = [t for t in (source.last_ok_at, source.last_error_at) if t is not None]
    if not tried:
        return source.created_at
    delay = (
        backoff_seconds(source.interval_seconds, source.consecutive_failures)
        if source.consecutive_failures
        else float(source.interval_seconds)
    )
    return max(tried) + timedelta(seconds=delay)
