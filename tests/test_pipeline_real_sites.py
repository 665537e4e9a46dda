"""Pages of the kind real sites serve: other scripts, broken bytes, messy metadata.

Fixtures are written for the project; each stands for a class of pages, not for a site.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.pipeline import extract_document
from bot.pipeline.hyphenation import HyphenRepairer, supports

FIX = Path(__file__).parent / "fixtures" / "pipeline"


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


@pytest.mark.parametrize("name", ["korean_column.html", "chinese_column.html"])
def test_languages_without_a_word_list_tokenizer_extract(name):
    # wordfreq needs MeCab/jieba for these; hyphen repair is skipped instead of crashing.
    piece = extract_document(read(name))
    assert piece.language in ("ko", "zh")
    assert "-" in piece.text  # the compound is left as written
    assert len(piece.text) > 100


def test_hyphen_repair_degrades_for_unsupported_languages():
    assert not supports("ko") and not supports("zh") and not supports("xx")
    assert supports("en")
    assert HyphenRepairer("신도시-구도심", "ko")("신도시-구도심") == "신도시-구도심"
    assert HyphenRepairer("gov-ernment", "en")("gov-ernment") == "government"


def test_one_invalid_byte_keeps_the_page_utf8():
    body = "<p>" + "Le café du coin a fermé ; la rue a perdu son âme et ses habitués. " * 6
    page = f"<html><head><meta charset='utf-8'><title>Un café fermé</title></head><body>{body}"
    raw = page.encode("utf-8")
    cut = raw.index(b"rue")
    raw = raw[:cut] + b"\x92" + raw[cut:] + b"</p></body></html>"  # a stray Windows-1252 quote
    piece = extract_document(raw)
    assert "café" in piece.text and "habitués" in piece.text
    assert "Ã" not in piece.text  # no mojibake
