"""Fields a piece falls back on when the page or text does not state them."""

from __future__ import annotations

from urllib.parse import urlsplit

from .endmatter import bio_subjects


def authors_from_bio(bio: str | None) -> list[str]:
    """The bio's subjects ("Jane Doe is a ...", "Jane Doe and John Roe are ...") when they read
    as personal names."""
    return bio_subjects(bio) if bio else []


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
