"""Small text helpers every extraction step shares: spacing, comparison keys, word counts."""

from __future__ import annotations

import re

_WORD_RUN = re.compile(r"[^\W_]+")
_SPACE_CHARS = r"[ \t\u00a0\u2000-\u200b\u202f\u3000]"
# Only what needs changing: a space followed by more spacing, or any other spacing character
# (matching every single space made this the busiest regex of the extraction).
_SPACES = re.compile(rf" {_SPACE_CHARS}+|[\t\u00a0\u2000-\u200b\u202f\u3000]{_SPACE_CHARS}*")


# Characters that show nothing yet change what a title reads as or hide text from filters:
# bidi embeddings/overrides/isolates, zero-width spaces and word joiners, invisible operators
# (U+2061-2064), the Mongolian vowel separator, Hangul fillers, soft hyphens, the BOM, and
# tag characters (kept only inside an emoji flag sequence, where they belong).
# ZWJ/ZWNJ are kept everywhere (real scripts and emoji need them); the directional marks
# LRM/RLM/ALM only in text that has right-to-left letters.
_INVISIBLE = re.compile(
    "[\u00ad\u115f\u1160\u180e\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0]"
)
_TAGS = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,12}\U000e007f|[\U000e0000-\U000e007f]+")
_MARKS = re.compile("[\u061c\u200e\u200f]")
_RTL = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def strip_invisible(text: str) -> str:
    """Remove invisible and direction-changing characters (see ``_INVISIBLE``)."""
    text = _INVISIBLE.sub("", text)
    if _TAGS.search(text):
        text = _TAGS.sub(lambda m: m.group() if m.group()[0] == "\U0001f3f4" else "", text)
    if _MARKS.search(text) and not _RTL.search(text):
        text = _MARKS.sub("", text)
    return text


def clean_line(text: str | None, limit: int) -> str | None:
    """One line of web text for a label (a feed's title): visible characters, capped."""
    if not text:
        return None
    return cap(" ".join(strip_invisible(text).split()), limit) or None


def cap(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def norm(text: str) -> str:
    """Lower-cased words only: the key used to compare paragraphs, quotes and names."""
    return " ".join(_WORD_RUN.findall(text.casefold()))


def tidy(text: str) -> str:
    """Collapse runs of spaces on each line and strip the ends."""
    return _SPACES.sub(" ", text).strip()


def word_count(text: str) -> int:
    # The number of words norm() would join: no word holds a space, so counting them is enough.
    return len(_WORD_RUN.findall(text.casefold()))


_SENTENCE_END = (".", "!", "?", "…", "؟", "۔", "。", "！", "？")
_CLOSING = "\"'”’»)]*_"


def ends_like_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSING).endswith(_SENTENCE_END)
