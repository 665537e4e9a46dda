"""Durations as people write them: ``90s``, ``15m``, ``2h``, ``1h30m``, ``1d``."""

from __future__ import annotations

import re

from bot.errors import InvalidDuration

_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """Return seconds; ``InvalidDuration`` (a ``ValueError``) with a short hint otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        return int(cleaned)  # bare numbers are seconds
    if not cleaned or _PART.sub("", cleaned):
        raise InvalidDuration(f"{text!r} is not a duration; write e.g. 90s, 15m, 2h")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise InvalidDuration(f"{text!r} is not a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: 90 -> ``1m30s``, 3600 -> ``1h``."""
    seconds = int(round(seconds))
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


# How often a source may be polled. Longer than a week is no poll at all, and a value past
# timedelta's range (999,999,999 days) made every later start die with OverflowError.
MIN_SOURCE_INTERVAL = 10
MAX_SOURCE_INTERVAL = 7 * 86400


def check_source_interval(seconds: int) -> int:
    """``seconds`` if it is a usable poll interval, else ValueError with the bound."""
    if seconds < MIN_SOURCE_INTERVAL:
        raise ValueError(f"The shortest interval is {MIN_SOURCE_INTERVAL}s.")
    if seconds > MAX_SOURCE_INTERVAL:
        raise ValueError(f"The longest interval is {format_duration(MAX_SOURCE_INTERVAL)}.")
    return seconds
