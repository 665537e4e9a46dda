"""Plain word and phrase matching for keyword subscriptions and filters.

Linear in the text: terms are compared against a set of the text's words (and phrases by
substring on normalized text); no user-supplied regular expression is ever compiled.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
_TERM = re.compile(r'([+-]?)"([^"]*)"|([+-]?)(\S+)')


def normalize(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


@dataclass
class MatchText:
    """A text prepared once for many term checks."""

    normalized: str
    words: frozenset[str]

    @classmethod
    def of(cls, *parts: str | None) -> MatchText:
        normalized = normalize(" ".join(p for p in parts if p))
        return cls(normalized, frozenset(normalized.split()))

    def contains(self, term: str) -> bool:
        needle = normalize(term)
        if not needle:
            return True
        if " " not in needle:
            return needle in self.words
        return f" {needle} " in f" {self.normalized} "


def parse_terms(text: str) -> tuple[list[str], list[str]]:
    """Split ``+word -word "a phrase" -"a phrase"`` into (include, exclude) lists."""
    include: list[str] = []
    exclude: list[str] = []
    for match in _TERM.finditer(text):
        sign = match.group(1) if match.group(2) is not None else match.group(3)
        term = match.group(2) if match.group(2) is not None else match.group(4)
        term = term.strip()
        if not term or not normalize(term):
            continue
        (exclude if sign == "-" else include).append(term)
    return include, exclude


def keyword_matches(query: str, text: MatchText) -> bool:
    """A keyword subscription matches when all its words/phrases occur and no -terms do."""
    include, exclude = parse_terms(query)
    return (
        bool(include)
        and all(text.contains(t) for t in include)
        and not any(text.contains(t) for t in exclude)
    )


def filter_verdict(include: list[str], exclude: list[str], text: MatchText) -> str | None:
    """None when the text passes the filters, else the reason it does not."""
    for term in include:
        if not text.contains(term):
            return f'filter +"{term}" not found'
    for term in exclude:
        if text.contains(term):
            return f'filter -"{term}" matched'
    return None
