"""Content fingerprints (64-bit simhash) to spot the same piece under different URLs.

The simhash is counted column-wise in C: every shingle's 8-byte hash goes into one buffer, and
for each of the 64 bits ``bytes.translate`` + ``bytes.count`` count how many hashes set it. The
value is bit for bit the one a per-shingle, per-bit Python loop gives (stored fingerprints stay
comparable), at a fraction of the cost.
"""

from __future__ import annotations

import re
import unicodedata
from hashlib import blake2b
from itertools import accumulate

BITS = 64
SHINGLE = 3
# Below this many words a simhash is noise: two unrelated short teasers can land a few bits
# apart. Short texts get an exact hash instead, so only identical texts match.
MIN_WORDS = 40
# Two fingerprints this many bits apart or fewer are the same piece (an edit, a syndicated copy
# with a line of boilerplate); unrelated articles land ~32 bits apart.
MAX_DISTANCE = 3

_WORD = re.compile(r"\w+", re.UNICODE)
_MASK = (1 << BITS) - 1
# _BIT_TABLES[j] maps a byte to 1 when its bit j is set, else to 0.
_BIT_TABLES = [bytes((v >> j) & 1 for v in range(256)) for j in range(8)]


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _WORD.findall(text)


def _digest(data: str) -> bytes:
    return blake2b(data.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def fingerprint_value(text: str) -> int:
    """The 64-bit simhash of ``text`` as an int (see :func:`fingerprint`)."""
    words = _words(text)
    if len(words) < MIN_WORDS:
        return int.from_bytes(_digest("exact:" + " ".join(words)), "big")
    # One hash per shingle occurrence: repeats weigh as often as they occur. A shingle is a
    # slice of the words joined and encoded once (the same bytes as joining its three words and
    # encoding them), hashed inline: the per-shingle join, encode and call cost a fifth.
    data = " ".join(words).encode("utf-8", "surrogatepass")
    starts = [0, *accumulate(len(w.encode("utf-8", "surrogatepass")) + 1 for w in words)]
    total = len(words) - SHINGLE + 1
    hashes = b"".join(
        [
            blake2b(data[starts[i] : starts[i + SHINGLE] - 1], digest_size=8).digest()
            for i in range(total)
        ]
    )
    value = 0
    for position in range(8):  # byte 0 is the most significant (big-endian)
        column = hashes[position::8]
        shift = (7 - position) * 8
        for j, table in enumerate(_BIT_TABLES):
            # bit set when more shingles set it than clear it (weight > 0)
            if 2 * column.translate(table).count(1) > total:
                value |= 1 << (shift + j)
    return value & _MASK


def fingerprint(text: str) -> str:
    """64-bit simhash over word 3-shingles of normalized text, as 16 hex chars."""
    return f"{fingerprint_value(text):016x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex fingerprints."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def near(a: int, b: int, max_distance: int = MAX_DISTANCE) -> bool:
    """Whether two fingerprint values are the same piece; the poller's duplicate test."""
    return (a ^ b).bit_count() <= max_distance


def is_near_duplicate(a: str, b: str, max_distance: int = MAX_DISTANCE) -> bool:
    """True if texts ``a`` and ``b`` are near duplicates (short texts must match exactly).

    The same test the poller applies to stored fingerprints (:func:`near`).
    """
    return near(fingerprint_value(a), fingerprint_value(b), max_distance)
