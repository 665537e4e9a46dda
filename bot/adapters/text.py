"""Text helpers every adapter shares: which links are safe to send, and how long text is split.

Platform-neutral (no platform library here); each adapter passes its own limits, and Telegram
its own way of measuring length (UTF-16 code units).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_url(url: str | None, *, max_length: int | None = None) -> str | None:
    """The URL if it is an absolute http(s) link fit to send (never ``javascript:``), else None."""
    if not url:
        return None
    url = url.strip()
    if max_length is not None and len(url) > max_length:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if _CONTROL.search(url) or any(ch.isspace() for ch in url):
        return None
    return url


def split_text(text: str, limit: int, *, measure: Callable[[str], int] = len) -> list[str]:
    """Split text into chunks of at most ``limit`` (as ``measure`` counts).

    Cuts at paragraph breaks first, then line breaks, then sentence ends, then spaces, and only
    then mid-word (never between a backslash and the character it escapes), so a long reply
    reads as a few whole messages.
    """
    text = text.strip()
    chunks: list[str] = []
    while text and measure(text) > limit:
        cut = _best_cut(text, limit, measure)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            chunks.append(head)
    if text:
        chunks.append(text)
    return chunks


def prefix_that_fits(text: str, limit: int, *, measure: Callable[[str], int] = len) -> str:
    """The longest start of ``text`` within ``limit`` that ends at a good boundary."""
    if measure(text) <= limit:
        return text
    return text[: _best_cut(text, limit, measure)]


def _best_cut(text: str, limit: int, measure: Callable[[str], int]) -> int:
    # The longest prefix (in characters) that fits the limit as measured.
    end = min(len(text), limit)
    while end > 1 and measure(text[:end]) > limit:
        end -= max(1, (measure(text[:end]) - limit) // 2)
    window = text[: end + 1]
    floor = end // 2  # a tiny first chunk just to land on a boundary is worse than a hard cut
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at >= floor:
            return at
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= end]
    if ends and ends[-1] >= floor:
        return ends[-1]
    at = window.rfind(" ")
    if at >= floor:
        return at
    cut = max(end, 1)
    while cut > 1 and text[cut - 1] == "\\":
        cut -= 1
    return cut
