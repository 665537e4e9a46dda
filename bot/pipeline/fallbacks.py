"""Fields a piece falls back on when the page or text does not state them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .names import is_person_name


def authors_from_bio(bio: str | None) -> list[str]:
    """The bio's subject ("Jane Doe is a ...") when it reads as a personal name."""
    if not bio:
        return []
    subject = re.split(r",|\b(?:is|was|has been|serves as|writes)\b", bio, maxsplit=1)[0].strip()
    return [subject] if is_person_name(subject) else []


def fallback_title(text: str) -> str:
    """The first line of the text, cut to 120 characters at a word."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= 120:
        return first
    cut = first[:120].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def outlet_from_url(url: str | None) -> str | None:
    """The host name without "www." as a last-resort outlet name."""
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None
