"""Text as the full-text index holds it: Arabic marks and tatweel folded away.

Writers use Arabic short vowels and the other marks (harakat, shadda, sukun, superscript alef,
Quranic annotation signs) or leave them out, and stretch words with the tatweel; a search must
find a word either way. Both backends fold the same characters, on what the index stores and
on what the user types: SQLite through ``fold_for_search`` (a function registered on every
connection and called by the index triggers), PostgreSQL through ``commentary_fold``, whose
pattern is built from the same ranges (``postgres_fold_pattern``).
"""

from __future__ import annotations

import re

# (first, last) code points, inclusive.
ARABIC_FOLDED: tuple[tuple[int, int], ...] = (
    (0x0610, 0x061A),  # honorific and Quranic signs above/below letters
    (0x064B, 0x065F),  # harakat: tanween, fatha, damma, kasra, shadda, sukun, maddah ...
    (0x0670, 0x0670),  # superscript alef
    (0x06D6, 0x06ED),  # Quranic annotation signs
    (0x0640, 0x0640),  # tatweel
)

_FOLD = re.compile(
    "[" + "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in ARABIC_FOLDED) + "]"
)


def fold_for_search(text: str | None) -> str | None:
    """``text`` with Arabic marks and tatweel removed (other text comes back unchanged)."""
    if not text:
        return text
    return _FOLD.sub("", text)


def postgres_fold_pattern() -> str:
    """The same character class for PostgreSQL's ``regexp_replace`` (``\\uXXXX`` escapes)."""
    parts = (f"\\u{a:04X}-\\u{b:04X}" if a != b else f"\\u{a:04X}" for a, b in ARABIC_FOLDED)
    return "[" + "".join(parts) + "]"
