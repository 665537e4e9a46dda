"""Repair line-break hyphenation left by copying text out of print-style layouts.

"Syr-ia" and "de-pendence" are artefacts; "well-managed" and "al-Sham" are real words. The
decision is made from evidence, never from a list of known words: the joined form elsewhere in
the same document, word frequencies (wordfreq), and capitalisation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from wordfreq import zipf_frequency

# A two-part letter compound, optionally broken over a line ("infil-\ntrated").
_COMPOUND = re.compile(r"(?<![\w-])([^\W\d_]+)-[ \t]*(\n[ \t]*)?([^\W\d_]+)(?![\w-])")
_WORD = re.compile(r"[^\W\d_]+")
_SOFT_HYPHEN = "\u00ad"

# Zipf thresholds (wordfreq's log scale: 3 = once per million words).
_JOINED_IS_WORD = 2.5  # the joined form is a real word
_VERY_COMMON = 5.0  # "anything", "without", "another"
_TIE = 0.3
# Both halves this common as words of their own ("set-up", "e-bike", "back-end", "pre-trained"):
# the hyphen is the writer's, even where the page also spells the word joined ("ebike"), unless
# the joined word is very common ("any-thing"). Artefacts split a word where a half is no word
# ("Syr-ia", "de-pendence", "Mos-cow").
_HALF_IS_WORD = 3.5
# wordfreq's "small" lists (words seen at least about once per million): wordfreq keeps every
# list it reads for the life of the process, and its default large ones take 30 to 115 MB per
# language (Arabic 84, Russian 115) against 4 to 10 MB. On every second AEB and WCXB page no
# join decision differs between the two (5,973 compounds).
_WORDLIST = "small"


@lru_cache(maxsize=65536)
def _zipf(word: str, lang: str) -> float:
    try:
        return zipf_frequency(word, lang, wordlist=_WORDLIST)
    except (LookupError, ValueError):
        return 0.0


def word_zipf(word: str, lang: str = "en") -> float:
    """How common ``word`` is in ``lang`` (wordfreq's Zipf scale; 0 for an unknown word)."""
    return _zipf(word.casefold(), lang)


def clear_caches() -> None:
    """Forget the word frequencies looked up so far."""
    _zipf.cache_clear()


@lru_cache(maxsize=64)
def supports(language: str | None) -> bool:
    """Whether wordfreq can score words of ``language`` here.

    Chinese, Japanese and Korean need optional tokenizers (jieba, MeCab) and raise ImportError
    without them; other languages have no word list. Those get no hyphen repair at all: the
    repair is a nicety, a crash on a whole page is not.
    """
    lang = _wordfreq_lang(language)
    try:
        zipf_frequency("a", lang, wordlist=_WORDLIST)
    except Exception:  # noqa: BLE001 - ImportError, LookupError, or whatever a tokenizer raises
        return False
    return True


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
    line_broken: bool = False,
) -> bool:
    """Decide whether ``left-right`` is a line-break artefact to join into one word.

    ``line_broken``: the hyphen ends a line or a space follows it ("infil-\ntrated",
    "plant- ing"), the marks of a word broken at the end of a line.
    """
    if right[:1].isupper():
        return False  # "al-Sham", "An-Nusra", "France-Russia": names keep their hyphen
    if len(left) >= 2 and left.isupper():
        return False  # "US-trained", "UN-backed"
    if not line_broken and _compound_of_words(left, right, language):
        return False
    if joined_elsewhere:
        return True
    if hyphenated_elsewhere or not supports(language):
        return False
    lang = _wordfreq_lang(language)
    z_joined = _zipf((left + right).lower(), lang)
    if z_joined < _JOINED_IS_WORD:
        return False  # "intelligence-sharing", "well-managed": no such joined word
    # wordfreq scores "well-being" as the phrase "well being": a real compound reads at least as
    # often as two words as it does joined; an artefact's halves ("Syr", "ia") rarely do.
    z_phrase = _zipf(f"{left} {right}".lower(), lang)
    if z_joined > z_phrase:
        return True  # "Syr-ia", "de-pendence", "Mos-cow", "gov-ernment"
    # Very common joined words tie with their halves ("any-thing" ~ "any thing").
    return z_joined >= _VERY_COMMON and z_phrase - z_joined < _TIE


def _compound_of_words(left: str, right: str, language: str | None) -> bool:
    """Both halves are common words and the joined form is not a very common word."""
    if not supports(language):
        return False
    lang = _wordfreq_lang(language)
    low_left, low_right = left.lower(), right.lower()
    return (
        _zipf(low_left, lang) >= _HALF_IS_WORD
        and _zipf(low_right, lang) >= _HALF_IS_WORD
        and _zipf(low_left + low_right, lang) < _VERY_COMMON
    )


class HyphenRepairer:
    """Repairs many strings of one document; the evidence is looked up per compound, lazily."""

    def __init__(self, document: str, language: str | None = None) -> None:
        self.language = language
        self._enabled = supports(language)
        self._document = document.replace(_SOFT_HYPHEN, "").lower()

    def _joined_elsewhere(self, joined: str) -> bool:
        # A substring test first (C speed); the word-boundary regex only confirms a hit.
        if joined not in self._document:
            return False
        return (
            re.search(rf"(?<![^\W\d_]){re.escape(joined)}(?![^\W\d_])", self._document) is not None
        )

    def _hyphenated_elsewhere(self, left: str, right: str) -> bool:
        # More than one "left-right" in the document (line-broken ones count). Every such compound
        # holds "left-", so fewer than two of those settles it without a regex.
        if self._document.count(f"{left}-") < 2:
            return False
        if self._document.count(f"{left}-{right}") < 2 and f"{left}-\n" not in self._document:
            if f"{left}- " not in self._document and f"{left}-\t" not in self._document:
                return False  # no second copy, not even one broken over a line
        pattern = rf"(?<![\w-]){re.escape(left)}-[ \t]*(?:\n[ \t]*)?{re.escape(right)}(?![\w-])"
        return len(re.findall(pattern, self._document)) > 1

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = text.replace(_SOFT_HYPHEN, "")
        if "-" not in text or not self._enabled:
            return text
        return _COMPOUND.sub(self._fix, text)

    def _fix(self, m: re.Match[str]) -> str:
        left, newline, right = m.group(1), m.group(2), m.group(3)
        if right[:1].isupper() or len(left) >= 2 and left.isupper():
            join = False  # should_join's first rules, which need no evidence
        else:
            low_left, low_right = left.lower(), right.lower()
            joined = self._joined_elsewhere(low_left + low_right)
            # Hyphenated evidence can only block a join the word frequencies would allow.
            hyphenated = (
                not joined
                and _zipf(low_left + low_right, _wordfreq_lang(self.language)) >= _JOINED_IS_WORD
                and self._hyphenated_elsewhere(low_left, low_right)
            )
            join = should_join(
                left,
                right,
                joined_elsewhere=joined,
                hyphenated_elsewhere=hyphenated,
                language=self.language,
                line_broken=bool(newline) or not m.group(0).count(f"{left}-{right}"),
            )
        if join:
            return left + right
        if newline:
            return f"{left}-{right}"
        return m.group(0)


def repair_hyphenation(
    text: str, *, context: str | None = None, language: str | None = None
) -> str:
    """Join words split by line-break hyphenation, keeping real hyphenated words.

    ``context`` is more text of the same document (body, standfirst, bio) used as evidence.
    """
    if not text or ("-" not in text and _SOFT_HYPHEN not in text):
        return text
    # The evidence counts each occurrence once, whether or not ``context`` already holds ``text``.
    evidence = context if context and text in context else f"{text}\n{context or ''}"
    return HyphenRepairer(evidence, language)(text)
