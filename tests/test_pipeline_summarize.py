"""Extractive summaries, the JSON contract and the card."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.pipeline import extract_document, format_card, piece_to_json
from bot.pipeline.sentences import split_sentences
from bot.pipeline.summarize import summarize

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
        "pull_quotes", "author_bio", "disclaimer", "credit", "summary", "summary_method",
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


def test_genre_news_or_opinion(piece):
    from bot.pipeline.summarize import genre

    news = extract_document((FIX / "news_plain.html").read_bytes())
    assert genre(news) == "news"
    assert genre(piece) == "opinion"  # disclaimer formula, bio, pull quote
    layout_b = extract_document(
        (FIX / "column_layout_b.html").read_bytes(),
        url="https://riverside.example/opinion/2024/03/rivers-as-drains",
    )
    assert genre(layout_b) == "opinion"
    # The same news text filed under an opinion section, with the formula, reads as opinion.
    news.url = "https://eastfield.example/opinion/library"
    news.disclaimer = "The views expressed are the writer's own."
    assert genre(news) == "opinion"


def test_news_summary_is_the_lede():
    news = extract_document((FIX / "news_plain.html").read_bytes())
    from bot.pipeline.summarize import LEDE_WORDS, candidate_sentences

    opening = [s.text for s in candidate_sentences(news)]
    standard = summarize(news, "standard")
    # The opening sentences, in order, until they hold a lede's worth of words (27 + 18 here).
    assert standard.sentences == opening[:2]
    assert len(opening[0].split()) < LEDE_WORDS <= len(" ".join(opening[:2]).split())
    assert summarize(news, "short").sentences == opening[:1]
    long = summarize(news, "long")
    assert long.sentences[0] == standard.sentences[0] and len(long.sentences) > 1
    for s in long.sentences:
        assert s in news.text


def test_opinion_summary_opens_on_the_thesis(piece):
    from bot.pipeline.summarize import candidate_sentences

    standard = summarize(piece, "standard")
    assert standard.sentences[0] == candidate_sentences(piece)[0].text
    assert any("should" in s or "must" in s for s in standard.sentences[1:])


def test_summarize_all_equals_each_length_alone() -> None:
    """Ingestion computes the three lengths together; they must be the same summaries."""
    from bot.pipeline.summarize import summarize, summarize_all
    from bot.pipeline.text_input import extract_text

    text = (Path(__file__).parent / "fixtures" / "pipeline" / "column_copied.txt").read_text()
    piece = extract_text(text)
    together = summarize_all(piece)
    for length in ("short", "standard", "long"):
        assert together[length] == summarize(piece, length)


def test_genre_reads_opinion_sections_named_in_other_languages():
    from bot.pipeline.summarize import genre

    news = extract_document((FIX / "news_plain.html").read_bytes())
    news.disclaimer = None
    for path in ("/kolumnen/2024/bibliothek", "/meinung-analyse/bibliothek", "/kolumnister/a/x"):
        news.url = "https://zeitung.example" + path
        news.disclaimer = "Die Meinung des Autors muss nicht die der Redaktion sein."
        assert genre(news) == "opinion", path
    # French "comment ..." ("how ...") in a headline slug is not an opinion section.
    news.url = "https://journal.example/green/2024/comment-la-bibliotheque-a-ferme"
    news.disclaimer = None
    assert genre(news) == "news"
