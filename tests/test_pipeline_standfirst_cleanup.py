"""A standfirst is the editor's summary line: never a counter, a "read more" teaser, a section
label or the first heading of a numbered list; summary sentences start on their first word."""

from __future__ import annotations

import pytest

from bot.pipeline import extract_html, extract_text
from bot.pipeline.summarize import candidate_sentences

BODY = (
    "<p>The harbour board has raised mooring fees for the third time in four years, and the "
    "small boats that fish from the old quay pay the same rate as the yachts beside them.</p>"
    "<p>Fishing families say the fees now take a month of their catch, and two of them have "
    "already sold their boats to buyers from further up the coast this autumn.</p>"
    "<p>The board should set a working-boat rate and publish how it spends the fees, as the "
    "port towns to the south have done for a decade without losing money.</p>"
)


def page(description: str = "", subheadline: str = "") -> str:
    sub = f"<h2>{subheadline}</h2>" if subheadline else ""
    return (
        "<html lang='en'><head>"
        "<meta property='og:title' content='The quay needs a fair fee'>"
        f"<meta name='description' content='{description}'></head><body><article>"
        f"<h1>The quay needs a fair fee</h1>{sub}{BODY}"
        "<h2>2. What other ports do</h2><p>They charge by use, not by length.</p>"
        "</article></body></html>"
    )


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "ANALYSIS | Small boats pay yacht rates on the old quay, and the board should stop it.",
            "Small boats pay yacht rates on the old quay, and the board should stop it.",
        ),
        ("2,310 views The harbour board has raised mooring fees again and fishing ...", None),
        ("The board raised mooring fees once more. Read on for what it means for ... →", None),
    ],
)
def test_description_cleaned_or_refused(description: str, expected: str | None) -> None:
    piece = extract_html(page(description), url="https://quay.example/opinion/fees")
    assert piece.standfirst == expected


def test_first_numbered_heading_is_not_the_standfirst() -> None:
    html = page(subheadline="1. Why the fees rose")
    piece = extract_html(html, url="https://quay.example/opinion/fees")
    assert piece.standfirst != "1. Why the fees rose"


def test_summary_sentences_start_on_their_first_word() -> None:
    piece = extract_text(
        "The quay needs a fair fee\n\n"
        "⚓🌊 The harbour board has raised mooring fees for the third time in four years.\n\n"
        "Fishing families say the fees now take a month of their catch every single year.\n\n"
        "The board should set a working-boat rate and publish how it spends the money."
    )
    texts = [s.text for s in candidate_sentences(piece)]
    assert texts[0] == "The harbour board has raised mooring fees for the third time in four years."


@pytest.mark.parametrize(
    "description",
    [
        "Independent reviews of garden tools and outdoor gear since 1998, tested by gardeners.",
        "Unabhängige Nachrichten, Hintergründe und Meinungen aus Stadt und Landkreis.",
        "Quayside Gazette webpage",
    ],
)
def test_site_wide_description_is_not_the_standfirst(description: str) -> None:
    """A site's tagline or name in the description speaks of the site, not of this piece."""
    piece = extract_html(page(description), url="https://quay.example/opinion/fees")
    assert piece.standfirst is None


def test_description_naming_the_topic_in_other_words_is_kept() -> None:
    description = "Working boats should not pay what yachts pay to moor at the old quay."
    piece = extract_html(page(description), url="https://quay.example/opinion/fees")
    assert piece.standfirst == description


@pytest.mark.parametrize(
    "subheadline",
    ["Last chance to grab our winter deal: save up to 35% today", "Use code QUAY10 at checkout"],
)
def test_shop_promo_is_not_the_standfirst(subheadline: str) -> None:
    piece = extract_html(page(subheadline=subheadline), url="https://quay.example/opinion/fees")
    assert piece.standfirst is None


def test_cut_off_teasers_are_not_summary_sentences() -> None:
    piece = extract_text(
        "The quay needs a fair fee\n\n"
        "The harbour board has raised mooring fees for the third time in four years.\n\n"
        "Wer im Hafen arbeitet, kennt die Gebühren seit Jahren und weiß, dass sie…\n\n"
        "Every winter the board promises a review of the rates, and every spring the...\n\n"
        "The board should set a working-boat rate and publish how it spends the money."
    )
    texts = [s.text for s in candidate_sentences(piece)]
    assert not any(t.endswith(("...", "…")) for t in texts)
    assert texts[-1].startswith("The board should set")
