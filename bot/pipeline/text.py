"""Small text helpers every extraction step shares: spacing, comparison keys, word counts."""

from __future__ import annotations

import re

_WORD_RUN = re.compile(r"[^\W_]+")
_SPACE_CHARS = r"[ \t\u00a0\u2000-\u200b\u202f\u3000]"
# Only what needs changing: a space followed by more spacing, or any other spacing character
# (matching every single space made this the busiest regex of the extraction).
_SPACES = re.compile(rf" {_SPACE_CHARS}+|[\t\u00a0\u2000-\u200b\u202f\u3000]{_SPACE_CHARS}*")


# Bidi embeddings/overrides/isolates and zero-width characters: they can make a title read
# differently from what it says ("Evil\u202egnp.exe"). ZWJ/ZWNJ and LRM/RLM are kept: real
# scripts and emoji need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


def strip_invisible(text: str) -> str:
    """Remove bidi control and zero-width characters."""
    return _INVISIBLE.sub("", text)


def norm(text: str) -> str:
    """Lower-cased words only: the key used to compare paragraphs, quotes and names."""
    return " ".join(_WORD_RUN.findall(text.casefold()))


def tidy(text: str) -> str:
    """Collapse runs of spaces on each line and strip the ends."""
    return _SPACES.sub(" ", text).strip()


def word_count(text: str) -> int:
    return len(norm(text).split())


_SENTENCE_END = (".", "!", "?", "…", "؟", "۔", "。", "！", "？")
_CLOSING = "\"'”’»)]*_"


def ends_like_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSING).endswith(_SENTENCE_END)
