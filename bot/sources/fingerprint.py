"""Content fingerprints (64-bit simhash) to spot the same piece under different URLs."""

from __future__ import annotations

import hashlib
import re
import unicodedata

BITS = 64
SHINGLE = 3
# Below this many words a simhash is noise: two unrelated short teasers can land a few bits
# apart. Short texts get an exact hash instead, so only identical texts match.
MIN_WORDS = 40

_WORD = re.compile(r"\w+", re.UNICODE)
_MASK = (1 << BITS) - 1


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _WORD.findall(text)


def _hash64(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "big")


def fingerprint(text: str) -> str:
    """64-bit simhash over word 3-shingles of normalized text, as 16 hex chars."""
    words = _words(text)
    if len(words) < MIN_WORDS:
        return f"{_hash64('exact:' + ' '.join(words)):016x}"
    counts: dict[str, int] = {}
    for i in range(len(words) - SHINGLE + 1):
        shingle = " ".join(words[i : i + SHINGLE])
        counts[shingle] = counts.get(shingle, 0) + 1
    weights = [0] * BITS
    for shingle, count in counts.items():
        h = _hash64(shingle)
        for bit in range(BITS):
            if (h >> bit) & 1:
                weights[bit] += count
            else:
                weights[bit] -= count
    value = 0
    for bit, weight in enumerate(weights):
        if weight > 0:
            value |= 1 << bit
    return f"{value & _MASK:016x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex fingerprints."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_near_duplicate(a: str, b: str, max_distance: int = 3) -> bool:
    """True if texts ``a`` and ``b`` are near duplicates (short texts must match exactly).

    To compare stored fingerprints use ``hamming(fa, fb) <= max_distance``.
    """
    return hamming(fingerprint(a), fingerprint(b)) <= max_distance
