"""Repair line-break hyphenation left by copying text out of print-style layouts.

"Syr-ia" and "de-pendence" are artefacts; "well-managed" and "al-Sham" are real words. The
decision is made from evidence, never from a list of known words: the joined form elsewhere in
the same document, word frequencies (wordfreq), and capitalisation.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from wordfreq import zipf_frequency

# A two-part letter compound, optionally broken over a line ("infil-\ntrated").
_COMPOUND = re.compile(r"(?<![\w-])([^\W\d_]+)-[ \t]*(\n[ \t]*)?([^\W\d_]+)(?![\w-])")
_WORD = re.compile(r"[^\W\d_]+")
_SOFT_HYPHEN = "\u00ad"

# Zipf thresholds (wordfreq's log scale: 3 = once per million words).
_JOINED_IS_WORD = 2.5  # the joined form is a real word
_PART_IS_WORD = 3.0  # a fragment this frequent is a word on its own
_JOINED_BEATS_PARTS = 4.2  # both halves are words, but the joined word is very common


@lru_cache(maxsize=65536)
def _zipf(word: str, lang: str) -> float:
    try:
        return zipf_frequency(word, lang)
    except (LookupError, ValueError):
        return 0.0


def _wordfreq_lang(language: str | None) -> str:
    lang = (language or "en").split("-")[0].lower()
    return lang or "en"


def should_join(
    left: str,
    right: str,
    *,
    joined_elsewhere: bool = False,
    hyphenated_elsewhere: bool = False,
    language: str | None = None,
) -> bool:
    """Decide whether ``left-right`` is a line-break artefact to join into one word."""
    if right[:1].isupper():
        return False  # "al-Sham", "An-Nusra", "France-Russia": names keep their hyphen
    if len(left) >= 2 and left.isupper():
        return False  # "US-trained", "UN-backed"
    if joined_elsewhere:
        return True
    if hyphenated_elsewhere:
        return False
    lang = _wordfreq_lang(language)
    joined = (left + right).lower()
    z_joined = _zipf(joined, lang)
    if z_joined < _JOINED_IS_WORD:
        return False
    z_left = _zipf(left.lower(), lang)
    z_right = _zipf(right.lower(), lang)
    # A one- or two-letter prefix is "a word" far too easily ("de", "di", "co"); require more.
    left_word = z_left >= (_PART_IS_WORD + 1.5 if len(left) <= 2 else _PART_IS_WORD)
    right_word = z_right >= (_PART_IS_WORD + 1.5 if len(right) <= 2 else _PART_IS_WORD)
    if not (left_word and right_word):
        return True  # "de-pendence", "Syr-ia", "di-plomacy": a fragment plus a real joined word
    return z_joined >= _JOINED_BEATS_PARTS  # "any-thing" -> "anything", but "well-being" stays


def repair_hyphenation(
    text: str, *, context: str | None = None, language: str | None = None
) -> str:
    """Join words split by line-break hyphenation, keeping real hyphenated words.

    ``context`` is more text of the same document (body, standfirst, bio) used as evidence.
    """
    if not text:
        return text
    text = text.replace(_SOFT_HYPHEN, "")
    if "-" not in text:
        return text
    evidence = text if context is None else f"{text}\n{context}"
    words = Counter(w.lower() for w in _WORD.findall(evidence))
    hyphenated = Counter(
        f"{m.group(1)}-{m.group(3)}".lower() for m in _COMPOUND.finditer(evidence)
    )

    def fix(m: re.Match[str]) -> str:
        left, newline, right = m.group(1), m.group(2), m.group(3)
        join = should_join(
            left,
            right,
            joined_elsewhere=words[(left + right).lower()] > 0,
            hyphenated_elsewhere=hyphenated[f"{left}-{right}".lower()] > 1,
            language=language,
        )
        if join:
            return left + right
        if newline:
            return f"{left}-{right}"
        return m.group(0)

    return _COMPOUND.sub(fix, text)
