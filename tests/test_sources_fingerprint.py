"""Simhash fingerprints for near-duplicate pieces."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata

from bot.sources.fingerprint import fingerprint, hamming, is_near_duplicate

WORDS = (
    "city housing tax empty homes council policy market rent owners vacancy rate budget "
    "school transport voters election reform climate energy price wage labour union trade "
    "court ruling law justice health care hospital doctor patient nurse drug cost insurance"
).split()


def article(seed: int, n: int = 600) -> str:
    rng = random.Random(seed)
    sentences = []
    for _ in range(n // 12):
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return " ".join(sentences)


def test_format_and_determinism() -> None:
    fp = fingerprint(article(1))
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert fp == fingerprint(article(1))


def test_normalization_ignores_case_punctuation_and_spacing() -> None:
    text = article(2)
    noisy = re.sub(r"\s+", "  \n", text.upper()).replace(".", " ,!")
    assert fingerprint(text) == fingerprint(noisy)


def test_small_edit_is_near_duplicate() -> None:
    text = article(3)
    words = text.split()
    edited = " ".join(words[:100] + ["(Updated"] + words[100:300] + words[302:]) + " Corrected."
    assert hamming(fingerprint(text), fingerprint(edited)) <= 3
    assert is_near_duplicate(text, edited)


def test_syndicated_copy_with_boilerplate_is_near_duplicate() -> None:
    text = article(4, 900)
    copy = "This column first appeared in The Example Times. " + text + " Follow us on social."
    assert is_near_duplicate(text, copy)


def test_different_articles_are_far_apart() -> None:
    distances = [hamming(fingerprint(article(i)), fingerprint(article(i + 100))) for i in range(20)]
    assert min(distances) > 6
    assert not any(is_near_duplicate(article(i), article(i + 100)) for i in range(5))


def test_short_texts_are_conservative() -> None:
    a = "Why cities should tax empty homes now"
    b = "Why cities should tax empty homes today"
    assert not is_near_duplicate(a, b)
    assert is_near_duplicate(a, a.upper() + "!")
    assert not is_near_duplicate("", "x")
    assert is_near_duplicate("", "   ")


def test_hamming() -> None:
    assert hamming("0" * 16, "0" * 16) == 0
    assert hamming("0" * 16, "f" * 16) == 64
    assert hamming("0000000000000001", "0000000000000003") == 1


def _reference_simhash(text: str) -> str:
    """The textbook per-shingle, per-bit simhash the stored fingerprints were made with."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
    if len(words) < 40:
        digest = hashlib.blake2b(("exact:" + " ".join(words)).encode(), digest_size=8).digest()
        return digest.hex()
    weights = [0] * 64
    for i in range(len(words) - 2):
        shingle = " ".join(words[i : i + 3]).encode()
        h = int.from_bytes(hashlib.blake2b(shingle, digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if (h >> bit) & 1 else -1
    return f"{sum(1 << bit for bit, w in enumerate(weights) if w > 0):016x}"


def test_same_values_as_the_textbook_simhash() -> None:
    # Fingerprints already in a database must stay comparable with new ones.
    texts = [article(i, n) for i, n in ((6, 30), (7, 45), (8, 600), (9, 2400))]
    texts.append("Ünïcode straße ΣΊΣΥΦΟΣ ﬁnance " * 30)
    texts.append("رأي الكاتب في السياسة 中文 字符 𝐁𝐨𝐥𝐝 " * 12)  # multi-byte and non-BMP words
    texts.append(article(10, 300) + " " + article(10, 300))  # repeated shingles weigh more
    for text in texts:
        assert fingerprint(text) == _reference_simhash(text)
