"""Extraction from HTML and copied text, on fixtures written for the project."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import trafilatura

from bot.pipeline import ExtractionError, extract_document, extract_html, extract_text
from bot.pipeline.cleanup import clean_paragraphs
from bot.pipeline.dates import date_line
from bot.pipeline.hyphenation import repair_hyphenation
from bot.pipeline.summarize import summarize

FIX = Path(__file__).parent / "fixtures" / "pipeline"


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


@pytest.fixture(scope="module")
def copied():
    return extract_text(read("column_copied.txt").decode("utf-8"))


@pytest.fixture(scope="module")
def layout_b():
    return extract_html(read("column_layout_b.html"), url="https://riverside.example/x?utm=1")


def test_copied_text_header_fields(copied):
    assert copied.title == "The harbour tunnel is a monument to bad planning"
    assert copied.standfirst.startswith("Two mayors, one budget")
    assert copied.authors == ["Helena Marchetti", "Tomasz Wielgosz"]
    assert copied.published is None  # the empty "Published: Updated:" line states no date
    assert "Published" not in copied.text and "Updated:" not in copied.text
    assert copied.language == "en"
    assert copied.outlet == "Harbour Courier"


def test_copied_text_pull_quote_bio_disclaimer(copied):
    quote = "The council should publish every contract before it spends another euro on this tunnel"
    assert copied.pull_quotes == [quote]
    assert copied.text.count(quote) == 1  # the body sentence stays, the repeat goes
    assert "\nHelena Marchetti\n" not in copied.text
    assert copied.author_bio.startswith("Helena Marchetti is a transport economist")
    assert "@hmarchetti" not in copied.text and "____" not in copied.text
    assert copied.disclaimer.startswith("Disclaimer: Views expressed")
    assert "Disclaimer" not in copied.text
    assert copied.text.endswith("a hole in the public purse.")


def test_copied_text_hyphenation(copied):
    assert "gov-ernment" not in copied.text and "question of government" in copied.text
    for real in ("well-meaning", "city-owned"):
        assert real in copied.text
    assert "U.N." in copied.text and "Dr. Anna Fiore" in copied.text


def test_hyphen_repair_uses_evidence():
    text = (
        "Kerry came to discuss Syr-ia. It was about de-pendence, not any-thing else. For-eign "
        "policy and open di-plomacy. Mos-cow and Washington agree. A well-managed ceasefire, "
        "Jabhat An-Nusra, Ahrar al-Sham, US-trained rebels, intelligence-sharing, France-Russia "
        "ties and our well-being."
    )
    fixed = repair_hyphenation(text, language="en")
    for joined in ("Syria", "dependence", "anything", "Foreign", "diplomacy", "Moscow"):
        assert joined in fixed
    for kept in (
        "well-managed", "An-Nusra", "al-Sham", "US-trained", "intelligence-sharing",
        "France-Russia", "well-being",
    ):  # fmt: skip
        assert kept in fixed
    # The joined form elsewhere in the document is evidence on its own.
    assert repair_hyphenation("infil-trated", context="they infiltrated the ranks") == "infiltrated"


def test_hyphen_repair_keeps_compounds_of_two_words():
    # Web pages are not line-broken: a compound of two common words keeps its hyphen even where
    # the page also spells it joined ("escooter"); a split word ("pay-ment") is still joined.
    text = (
        "Riders of the e-scooter trial filled in a follow-up survey after each check-in; most "
        "escooter owners said the set-up took minutes. Some-thing went wrong with the pay-ment "
        "screen, not with any-thing else."
    )
    fixed = repair_hyphenation(text, language="en")
    for kept in ("e-scooter", "follow-up", "check-in", "set-up"):
        assert kept in fixed
    for joined in ("Something", "payment", "anything"):
        assert joined in fixed
    french = repair_hyphenation("Le vélo-cargo, l'e-commerce et la mé-tropole.", language="fr")
    assert french == "Le vélo-cargo, l'e-commerce et la métropole."


def test_html_layout_b(layout_b):
    p = layout_b
    assert p.title == "We cannot keep treating rivers as drains"
    assert p.standfirst.startswith("The water companies have had thirty years")
    assert p.authors == ["Priya Raman", "Owen Fletcher"]
    assert p.published == datetime.fromisoformat("2024-03-05T08:30:00+00:00")
    assert p.outlet == "The Riverside Review"
    assert p.url == "https://riverside.example/opinion/2024/03/rivers-as-drains"
    assert p.pull_quotes == [
        "The penalty for polluting is smaller than the cost of fixing the pipes"
    ]
    assert p.author_bio.startswith("Priya Raman is an ecologist")
    assert "do not necessarily reflect" in p.disclaimer
    for junk in ("Share on", "newsletter", "Great piece", "More opinion", "Priya Raman is"):
        assert junk not in p.text
    assert "forty-one days" in p.text
    assert p.text.rstrip().endswith("cheaper than prevention.")


def test_news_page_unchanged_versus_trafilatura():
    html = read("news_plain.html").decode("utf-8")
    ours = extract_html(html)
    theirs = trafilatura.extract(html, include_comments=False)
    # The only change: the headline trafilatura repeats at the top of the body.
    assert theirs.startswith(ours.title + "\n")
    assert ours.text.replace("\n\n", "\n") == theirs.removeprefix(ours.title + "\n")
    assert ours.pull_quotes == [] and ours.author_bio is None and ours.disclaimer is None
    assert ours.authors == ["Sam Okafor"]
    assert ours.published == datetime.fromisoformat("2023-11-02T14:05:00+00:00")
    assert "two-storey" in ours.text and "twenty-five" in ours.text


def test_arabic_html_and_text_intact():
    html = extract_document(read("arabic_column.html"))
    assert html.language == "ar"
    assert html.title == "الحوار قبل الانتخابات"
    assert html.authors == ["سلمى الحداد"]
    assert "لم يعد أمام الأحزاب وقت طويل" in html.text
    assert html.disclaimer and "تعبر عن رأي كاتبها" in html.disclaimer
    assert "تعبر عن رأي كاتبها" not in html.text
    text = extract_document(read("arabic_copied.txt"))
    assert text.language == "ar"
    assert text.authors == ["كريم منصور"]
    assert text.pull_quotes == ["يجب أن تبدأ الحكومة ببناء الحواجز البحرية الآن"]
    assert text.text.count("يجب أن تبدأ الحكومة ببناء الحواجز البحرية الآن") == 1
    assert "يعرفه المواطنون" in text.text


def test_date_lines():
    assert date_line("Published: Updated:") == (True, None)
    is_date, when = date_line("Published: 17 July 2016 09:52 GMT+3 Updated: 18 July 2016")
    assert is_date and when == datetime.fromisoformat("2016-07-17T06:52:00+00:00")
    assert date_line("Updated: the minister said the plan would change.")[0] is False


def test_stated_date_in_copied_text():
    piece = extract_text(
        "A title here\n\nBy Jane Doe\n\nPublished: March 3, 2021 at 4:15 pm UTC\n\n"
        "The body of the piece is long enough to be a paragraph, and it argues a point."
    )
    assert piece.published == datetime.fromisoformat("2021-03-03T16:15:00+00:00")
    assert piece.authors == ["Jane Doe"]


def test_exact_duplicate_lines_are_not_pull_quotes():
    paragraphs = [
        "Recipe for the week with plenty of vegetables and grains for everyone.",
        "Two cups of blueberries and one cup of oats with milk for breakfast",
        "Lunch is a salad with tomatoes, cucumbers and a little feta cheese.",
        "Two cups of blueberries and one cup of oats with milk for breakfast",
    ]
    assert clean_paragraphs(paragraphs).paragraphs == paragraphs


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"%PDF-1.7\n...", b"\x89PNG\r\n\x1a\n....", b"\x00\x01\x02\x03" * 50],
)
def test_not_a_document(content):
    with pytest.raises(ExtractionError):
        extract_document(content)


def test_image_content_type_is_refused():
    with pytest.raises(ExtractionError, match="not an HTML page or a text file"):
        extract_document(b"GIF89a....", content_type="image/gif")


def test_page_without_article():
    with pytest.raises(ExtractionError, match="No article"):
        extract_document(b"<html><body><nav><a href='/'>Home</a></nav></body></html>")


def test_hostile_html_gives_a_clear_error_or_piece():
    try:
        piece = extract_document(read("hostile.html"))
    except ExtractionError as exc:
        assert str(exc)
    else:
        assert "alert(" not in piece.text


def test_encodings():
    body = "<p>" + "Le café est une institution de la ville, et il faut la défendre. " * 5 + "</p>"
    page = f"<html><head><meta charset='windows-1252'></head><body>{body}</body></html>"
    piece = extract_document(page.encode("cp1252"))
    assert "café" in piece.text and "défendre" in piece.text
    utf16 = ("\ufeff" + "Un titre\n\n" + "Le café est bon, et il faut le dire. " * 5).encode(
        "utf-16"
    )
    assert "café" in extract_document(utf16).text
    with pytest.raises(ExtractionError):
        extract_document(b"<html><head><meta charset='utf-8'></head><body>\xff\xfe\x00\x00")


def test_gzip_page(tmp_path):
    import gzip

    piece = extract_document(gzip.compress(read("news_plain.html")))
    assert piece.title == "Council approves new library for Eastfield"


def test_single_parse_matches_trafilatura_parse():
    """Our parser (C-level element classes) gives trafilatura the same tree it would build."""
    from trafilatura.utils import load_html

    from bot.pipeline.extract import _trafilatura_text, parse_html

    for name in ("news_plain.html", "column_layout_b.html", "arabic_column.html", "hostile.html"):
        raw = read(name)
        assert _trafilatura_text(parse_html(raw), None) == _trafilatura_text(load_html(raw), None)


def test_marked_notes_are_not_disclaimers():
    page = (
        "<html><body><article><h1>A headline for the story</h1>"
        + "".join(
            f"<p>Paragraph {n} of the story tells the reader what happened at the harbour on "
            f"Tuesday, who was there, and what the council decided to do about it next.</p>"
            for n in ("one", "two", "three", "four", "five")
        )
        + "</article><footer><a class='disclaimer' href='/d'>Disclaimer</a>"
        "<p class='disclaimer'>We may earn a commission when you buy through links.</p>"
        "</footer></body></html>"
    )
    assert extract_html(page).disclaimer is None


@pytest.mark.parametrize(
    "page",
    [
        "<!DOCTYPE html><html><body><p>Plain page, nothing to repair.</p></body></html>",
        "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0//EN' 'x.dtd' />\n<html><p>é</p></html>",
        '<html lang="en"/>\n<head><title>t</title></head><body><p>x</p></body>',
        "<html><body><p>bell\x07 and form feed\x0c and NUL\x00 stay out</p></body></html>",
        "<html><body><p>noncharacters \ufffe and \uffff go</p></body></html>",
        "<html><body><p>tab\t, newline\n, return\r stay; مرحبا, 中文, 🏳️‍🌈</p></body></html>",
        "<html><body><p>a lone surrogate \ud800 passes through</p></body></html>",
        "",
    ],
)
def test_repair_gives_trafilaturas_string(page):
    """The cheaper repair before parsing returns exactly what trafilatura's own returns."""
    from trafilatura.utils import repair_faulty_html

    from bot.pipeline.extract import _repair

    beginning = page[:50].lower()
    assert _repair(page, beginning) == repair_faulty_html(page, beginning)


@pytest.mark.parametrize(
    "note",
    [
        "Gastkommentare wie dieser müssen nicht der Meinung der Redaktion entsprechen.",
        "Las columnas de opinión no reflejan necesariamente la línea editorial del diario.",
        "Le opinioni espresse non riflettono necessariamente la posizione della testata.",
        "Debattartiklar speglar inte nödvändigtvis tidningens hållning.",
    ],
)
def test_the_outlets_not_our_view_note_is_the_disclaimer_in_other_languages(note):
    # A guest column closing on the outlet's note: the note is end matter, never summary text.
    paragraphs = "".join(
        f"<p>Absatz {n}: Die Stadt sollte die Brücke jetzt ersetzen, statt ein Deck zu flicken, "
        f"das in zehn Jahren wieder versagt, und die Kosten offen vorlegen.</p>"
        for n in ("eins", "zwei", "drei", "vier", "fünf")
    )
    page = (
        f"<html lang='de'><body><article><h1>Die Brücke kann nicht warten</h1>{paragraphs}"
        f"<p><em>{note}</em></p></article></body></html>"
    )
    piece = extract_html(page)
    assert piece.disclaimer == note
    assert note not in piece.text
    assert note not in summarize(piece, "long").text


def test_the_not_our_view_note_boxed_near_the_top_is_the_disclaimer():
    note = "Gastkommentare wie dieser müssen nicht der Meinung der Redaktion entsprechen."
    paragraphs = [
        f"<p>Absatz {n}: Die Stadt sollte die Brücke jetzt ersetzen, statt ein Deck zu flicken, "
        f"das in zehn Jahren wieder versagt, und die Kosten offen vorlegen.</p>"
        for n in ("eins", "zwei", "drei", "vier", "fünf", "sechs")
    ]
    page = (
        "<html lang='de'><body><article><h1>Die Brücke kann nicht warten</h1>"
        f"{paragraphs[0]}<h2>Die Lage</h2><p>Hinweis:</p><p>{note}</p>{''.join(paragraphs[1:])}"
        "</article></body></html>"
    )
    piece = extract_html(page)
    assert piece.disclaimer == note and note not in piece.text
