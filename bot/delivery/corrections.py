"""Corrections in place: when a piece changed at its source enough to matter to a reader.

A change counts when the title or the summary says something else: words added, removed or
replaced by other words. Typo-level edits change nothing: punctuation, case, spacing,
typographic quotes, and a misspelt word swapped for its correct spelling (the two are a letter
or two apart and at most one of them is a word of the language). "million" -> "billion" is
one letter too, but both are words, so it counts.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Reply, post_for
from bot.types import ChatSettings, Piece, Translation

# Posts older than this are left as they are (the window: nobody rereads them, and
# platforms stop allowing edits of old messages).
CORRECTION_WINDOW = timedelta(hours=48)

_WORD = re.compile(r"\w+(?:'\w+)*", re.UNICODE)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
TYPO_RARITY = 1.5  # Zipf units (log10): a misspelling is over 30 times rarer than its word


def _words(text: str | None) -> list[str]:
    folded = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).casefold()
    return _WORD.findall(folded)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent swaps (Damerau), for short words."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=4096)
def _frequency(word: str, language: str) -> float:
    """wordfreq's Zipf frequency of the word (0 for unknown words and languages)."""
    try:
        from wordfreq import zipf_frequency  # loaded only when a correction is judged
    except ImportError:  # pragma: no cover - a dependency
        return 0.0
    # The "small" lists, as the pipeline uses: 4-10 MB a language instead of 30-115 MB kept
    # for the life of the process; a misspelling is rare in either.
    try:
        return float(zipf_frequency(word, language, wordlist="small"))
    except (LookupError, ValueError):  # a language wordfreq does not know
        return float(zipf_frequency(word, "en", wordlist="small"))


def _typo_pair(old: str, new: str, language: str) -> bool:
    """A misspelling and its fix (or the reverse), not one word for another.

    The two are a letter or two apart and one of them is far rarer than the other: common
    misspellings are in word lists too, but some 30 times rarer than the word they miss.
    "million" -> "billion" is one letter, but both are common words, so it is no typo.
    """
    if any(c.isdigit() for c in old + new):
        return False  # 1.5% -> 15%: numbers are facts
    longest = max(len(old), len(new))
    allowed = 1 if longest < 6 else 2
    if longest < 3 or _distance(old, new) > allowed:
        return False
    return abs(_frequency(old, language) - _frequency(new, language)) >= TYPO_RARITY


def changed(old: str | None, new: str | None, language: str | None = None) -> bool:
    """Whether ``new`` says something else than ``old`` (typo-level edits do not count)."""
    before, after = _words(old), _words(new)
    if before == after:
        return False
    lang = (language or "en").lower()[:2]
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op != "replace" or a2 - a1 != b2 - b1:
            return True  # words added or removed
        for old_word, new_word in zip(before[a1:a2], after[b1:b2], strict=True):
            if not _typo_pair(old_word, new_word, lang):
                return True
    return False


def change_reason(
    piece: Piece, previous_title: str | None, previous_summary: str | None
) -> str | None:
    """Why posts of ``piece`` need correcting ("the title changed", ...), or None."""
    title = changed(previous_title, piece.title, piece.language)
    summary = changed(previous_summary, piece.summary, piece.language)
    if title and summary:
        return "the title and the summary changed"
    if title:
        return "the title changed"
    if summary:
        return "the summary changed"
    return None


def local_time(moment: datetime, settings: ChatSettings) -> str:
    """HH:MM in the chat's time zone (UTC when it has an unknown one)."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ValueError, KeyError, OSError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%H:%M")


def corrected_post(
    piece: Piece,
    settings: ChatSettings,
    moment: datetime,
    reason: str,
    translation: Translation | None = None,
) -> Reply:
    """The piece's post as it reads now, marked "Updated HH:MM" with the reason."""
    post = post_for(piece, settings.length, translation=translation)
    post.text = f"Updated {local_time(moment, settings)}: {reason} at the source."
    return post
