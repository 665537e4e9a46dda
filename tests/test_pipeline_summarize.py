"""Extractive summaries, the JSON contract and the card."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.pipeline import extract_document, format_card, piece_to_json, summarize
from bot.pipeline.sentences import split_sentences

FIX = Path(__file__).parent / "fixtures" / "pipeline"


@pytest.fixture(scope="module")
def piece():
    return extract_document((FIX / "column_copied.txt").read_bytes())


def test_lengths_and_limits(piece):
    short = summarize(piece, "short")
    standard = summarize(piece, "standard")
    long = summarize(piece, "long")
    assert len(short.sentences) == 1 and len(short.text) <= 200
    assert 1 <= len(standard.sentences) <= 3 and len(standard.text) <= 600
    assert len(standard.sentences) < len(long.sentences) <= 6
    for s in (short, standard, long):
        assert s.method == "extractive"
        assert s.text == " ".join(s.sentences)
        for sentence in s.sentences:
            assert sentence in piece.text  # extractive: every sentence is in the source


def test_opinion_aware_and_in_order(piece):
    standard = summarize(piece, "standard")
    assert any("should" in s or "must" in s for s in standard.sentences)
    positions = [piece.text.index(s) for s in standard.sentences]
    assert positions == sorted(positions)
    # Never the pull quote twice.
    joined = " ".join(standard.sentences)
    assert joined.count("publish every contract") <= 1


def test_deterministic_and_thread_safe(piece):
    first = summarize(piece, "long")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: summarize(piece, "long"), range(8)))
    assert all(r == first for r in results)


def test_unknown_length(piece):
    with pytest.raises(ValueError):
        summarize(piece, "huge")


def test_sentence_splitting():
    assert split_sentences("The U.S. and the U.N. met Dr. Smith. He left.") == [
        "The U.S. and the U.N. met Dr. Smith.",
        "He left.",
    ]
    assert split_sentences("قال الوزير إن الحل ممكن. هل هذا صحيح؟ نعم، بالتأكيد!", "ar") == [
        "قال الوزير إن الحل ممكن.",
        "هل هذا صحيح؟",
        "نعم، بالتأكيد!",
    ]


def test_json_contract(piece):
    data = piece_to_json(piece, summarize(piece))
    assert list(data) == [
        "title", "standfirst", "authors", "published", "outlet", "language", "url", "text",
        "pull_quotes", "author_bio", "disclaimer", "summary", "summary_method",
        "summary_sentences",
    ]  # fmt: skip
    assert data["published"] is None
    json.dumps(data)  # serialisable as is
    dated = extract_document((FIX / "column_layout_b.html").read_bytes())
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00",
        piece_to_json(dated, summarize(dated))["published"],
    )


def test_card(piece):
    card = format_card(piece, summarize(piece))
    assert card.startswith(piece.title)
    assert "By Helena Marchetti, Tomasz Wielgosz" in card
    assert "Summary (extractive, standard):" in card
    assert "Pull quotes:" in card and "About the author:" in card
