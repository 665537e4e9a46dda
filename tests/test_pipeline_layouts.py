"""Opinion pages laid out unlike the first fixtures: genre from the text's own argument, zoned
dates, bylines in other languages, Arabic lead paragraphs and bios, datelines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.pipeline import extract_html, extract_text
from bot.pipeline.cleanup import clean_paragraphs
from bot.pipeline.dates import DATE_ONLY, TIME_AND_ZONE, TIME_NO_ZONE, date_precision, parse_date
from bot.pipeline.endmatter import looks_like_bio, strip_dateline
from bot.pipeline.names import byline_authors
from bot.pipeline.summarize import genre, summarize

FIX = Path(__file__).parent / "fixtures" / "pipeline"


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


# -- 1. Genre from the text's own argument, whatever the URL ----------------------------------

ESSAY_URLS = [
    "https://margins.example/p/libraries-are-not-a-luxury",
    "https://margins.example/opinion/libraries-are-not-a-luxury",
    None,
]


@pytest.mark.parametrize("url", ESSAY_URLS)
def test_first_person_essay_is_opinion_at_any_url(url):
    piece = extract_html(read("essay_slug.html"), url=url)
    assert genre(piece) == "opinion"
    thesis = "So my conclusion is plain: the county should count visits"
    assert any(s.startswith(thesis) for s in summarize(piece, "standard").sentences)
    assert summarize(piece, "short").sentences[0].startswith(thesis)


def test_same_summary_under_opinion_and_slug_urls():
    slug, section = (extract_html(read("essay_slug.html"), url=u) for u in ESSAY_URLS[:2])
    assert summarize(slug).sentences == summarize(section).sentences


def test_reported_story_stays_news_even_with_quoted_opinions():
    # First person and "should" appear only inside quotations attributed with "said".
    piece = extract_html(read("report_dateline.html"), url="https://ledger.example/p/libraries")
    assert genre(piece) == "news"
    first = "The county board will vote next week on a budget that would close four"
    assert summarize(piece, "standard").sentences[0].startswith(first)


def test_french_column_thesis():
    piece = extract_html(read("column_fr_latin1.html"))  # ISO-8859-1 bytes, no declared charset
    assert piece.language == "fr"
    assert genre(piece) == "opinion"
    assert "Voilà pourquoi je défends la halle." in summarize(piece, "standard").sentences
    # One sentence: what the writer wants done (the proposal), not the bare "I defend it".
    assert summarize(piece, "short").sentences == [
        "La municipalité devrait rénover la halle au lieu de la démolir."
    ]


def test_arabic_column_thesis_without_opinion_url():
    piece = extract_html(read("arabic_lead_bio.html"), url="https://almadar.example/p/1234")
    assert genre(piece) == "opinion"
    thesis = "لذلك أرى أن على البلدية أن تحصي عدد الزوار قبل أن تغلق أي مكتبة."
    assert thesis in summarize(piece, "standard").sentences


def test_spanish_and_german_argument_signals():
    es = extract_text(
        "Las ciudades necesitan más árboles\n\n"
        "Cada verano las calles del centro superan los cuarenta grados y los vecinos se "
        "encierran en casa. Los ayuntamientos gastan en aire acondicionado lo que podrían "
        "gastar en sombra.\n\n"
        "Los árboles bajan la temperatura de una calle varios grados y no consumen energía. "
        "Plantarlos cuesta poco y su beneficio dura décadas.\n\n"
        "Por eso creo que cada ayuntamiento debería plantar un árbol por cada plaza de "
        "aparcamiento que elimine. Hay que empezar este mismo otoño."
    )
    assert genre(es) == "opinion"
    de = extract_text(
        "Die Stadt braucht mehr Bäume\n\n"
        "Jeden Sommer heizen sich die Straßen der Innenstadt auf über vierzig Grad auf, und die "
        "Menschen bleiben zu Hause. Die Stadt gibt für Klimaanlagen aus, was sie für Schatten "
        "ausgeben könnte.\n\n"
        "Bäume senken die Temperatur einer Straße um mehrere Grad und verbrauchen keine Energie. "
        "Sie kosten wenig und wirken jahrzehntelang.\n\n"
        "Deshalb glaube ich, dass die Stadt für jeden gestrichenen Parkplatz einen Baum pflanzen "
        "sollte. Ich finde, wir müssen noch in diesem Herbst damit beginnen."
    )
    assert genre(de) == "opinion"


# -- Datelines ---------------------------------------------------------------------------------


def test_dateline_is_not_the_start_of_the_lede():
    piece = extract_html(read("report_dateline.html"))
    assert piece.text.startswith("The county board will vote next week")
    assert "MILLBROOK" not in piece.text
    assert not any("MILLBROOK" in s for s in summarize(piece, "long").sentences)


@pytest.mark.parametrize(
    ("paragraph", "rest"),
    [
        (
            "LAGOS, Ohio — The river has had eleven committees.",
            "The river has had eleven committees.",
        ),
        (
            "LONDON (Reuters) - The bank said on Tuesday it would.",
            "The bank said on Tuesday it would.",
        ),
        (
            "WASHINGTON — The Senate voted on the bill late on Monday.",
            "The Senate voted on the bill late on Monday.",
        ),
        (
            "PARIS, 4 mars (AFP) – Le gouvernement a annoncé un plan.",
            "Le gouvernement a annoncé un plan.",
        ),
        ("NATO — The alliance is not dead yet, whatever its critics say.", None),
        ("The US — and others — agree on the plan.", None),
        ("I — Introduction to the argument that follows here.", None),
    ],
)
def test_strip_dateline(paragraph, rest):
    assert strip_dateline(paragraph) == (rest or paragraph)


# -- 2. Dates with a named zone ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "utc"),
    [
        ("Published March 4, 2026, 6:00 a.m. ET", "2026-03-04T11:00:00+00:00"),  # EST
        ("Published July 4, 2026, 6:00 a.m. ET", "2026-07-04T10:00:00+00:00"),  # EDT
        ("Published November 1, 2026, 1:30 a.m. ET", "2026-11-01T05:30:00+00:00"),
        ("July 14, 2026, 4:15 p.m. CT", "2026-07-14T21:15:00+00:00"),
        ("January 14, 2026, 4:15 p.m. CT", "2026-01-14T22:15:00+00:00"),
        ("July 14, 2026 9:00 MT", "2026-07-14T15:00:00+00:00"),
        ("December 1, 2026 9:00 PT", "2026-12-01T17:00:00+00:00"),
        ("March 4, 2026 6:00 EST", "2026-03-04T11:00:00+00:00"),
        ("March 4, 2026 6:00 EDT", "2026-03-04T10:00:00+00:00"),
        ("March 4, 2026 6:00 CST", "2026-03-04T12:00:00+00:00"),
        ("March 4, 2026 6:00 CDT", "2026-03-04T11:00:00+00:00"),
        ("March 4, 2026 6:00 PST", "2026-03-04T14:00:00+00:00"),
        ("March 4, 2026 6:00 PDT", "2026-03-04T13:00:00+00:00"),
        ("4 March 2026 09:52 GMT", "2026-03-04T09:52:00+00:00"),
        ("4 March 2026 09:52 UTC", "2026-03-04T09:52:00+00:00"),
        ("4 July 2026 09:52 BST", "2026-07-04T08:52:00+00:00"),
        ("4 March 2026 09:52 CET", "2026-03-04T08:52:00+00:00"),
        ("4 July 2026 09:52 CEST", "2026-07-04T07:52:00+00:00"),
        ("July 4, 2026 10:00 (EDT)", "2026-07-04T14:00:00+00:00"),
        # No zone stated: the time as stated, read as UTC; nothing guessed from the outlet.
        ("Published March 4, 2026, 6:00 a.m.", "2026-03-04T06:00:00+00:00"),
        ("March 4, 2026", "2026-03-04T00:00:00+00:00"),
    ],
)
def test_zoned_dates(stated, utc):
    assert parse_date(stated) == datetime.fromisoformat(utc)  # the same instant


def test_zone_words_in_other_languages_are_not_zones():
    # "et" is French for "and": lower case never names Eastern Time.
    assert parse_date("March 4, 2026 6:00 et puis") == datetime.fromisoformat(
        "2026-03-04T06:00:00+00:00"
    )


def test_page_timestamp_with_eastern_time():
    piece = extract_html(read("report_dateline.html"))
    assert piece.published == datetime.fromisoformat("2026-07-14T21:15:00+00:00")


# -- 3. Bylines in other languages ---------------------------------------------------------------


def test_french_byline_in_the_body():
    piece = extract_html(read("column_fr_latin1.html"))
    assert piece.authors == ["Hélène Marchetti"]
    assert "Par Hélène" not in piece.text
    assert piece.standfirst is None
    assert piece.text.startswith("Chaque samedi")


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Par Émile Dupré", ["Émile Dupré"]),
        ("Por Íñigo Álvarez y Ana López", ["Íñigo Álvarez", "Ana López"]),
        ("Von Jürgen Özdemir", ["Jürgen Özdemir"]),
        ("بقلم: سلمى العبدالله", ["سلمى العبدالله"]),
        ("By Łukasz Żuk", ["Łukasz Żuk"]),
    ],
)
def test_bylines_in_other_languages(line, names):
    assert byline_authors(line) == names
    result = clean_paragraphs([line, "Un paragraphe du corps de texte, assez long pour compter."])
    assert result.authors == names
    assert result.paragraphs == ["Un paragraphe du corps de texte, assez long pour compter."]


def test_copied_french_byline_is_not_a_standfirst():
    piece = extract_text(
        "Le marché couvert, poumon de la ville\n\nPar Émile Dupré\n\n"
        "Chaque samedi, le marché couvert réunit des habitants qui ne se croisent nulle part "
        "ailleurs. La mairie envisage pourtant de le remplacer par un parking.\n\n"
        "La municipalité devrait rénover la halle au lieu de la démolir."
    )
    assert piece.authors == ["Émile Dupré"]
    assert piece.standfirst is None
    assert "Par Émile" not in piece.text


# -- 4. Arabic lead paragraph and bio ------------------------------------------------------------


def test_arabic_lead_is_standfirst_and_bio_is_separate():
    piece = extract_html(read("arabic_lead_bio.html"))
    assert piece.standfirst == "إغلاق المكتبات يوفر القليل ويكلف المدينة الكثير."
    assert "إغلاق المكتبات يوفر القليل" not in piece.text
    assert piece.author_bio == "ليلى الحسيني كاتبة وباحثة في السياسات الثقافية."
    assert "كاتبة وباحثة" not in piece.text
    assert piece.authors == ["ليلى الحسيني"]
    assert piece.published == datetime.fromisoformat("2026-04-02T07:00:00+00:00")


def test_bio_shapes_in_other_languages():
    assert looks_like_bio("سلمى العبدالله كاتبة ومهندسة تخطيط عمراني.")
    assert looks_like_bio("كريم منصور صحفي وباحث في الشؤون الاقتصادية.", ["كريم منصور"])
    assert looks_like_bio("Émile Dupré est journaliste et ancien correspondant à Berlin.")
    assert looks_like_bio("Ana López es periodista y profesora en la Universidad de Sevilla.")
    # Body paragraphs are not bios.
    assert not looks_like_bio("في كل عام تعلن البلديات عن مشاريع جديدة لتوسيع الطرق.")
    assert not looks_like_bio("المدينة التي لا يستطيع أهلها المشي فيها ليست مدينة حديثة.")


def _page_with_dates(metas: str, ld: str = "") -> str:
    body = " ".join(["The council met on Tuesday and agreed the plan after a long debate."] * 4)
    script = f'<script type="application/ld+json">{ld}</script>' if ld else ""
    return (
        f"<html><head>{metas}{script}</head><body><article><h1>Plan</h1><p>{body}</p>"
        "</article></body></html>"
    )


def test_stamp_with_a_zone_beats_a_zoneless_one_in_any_process():
    # A zoneless local stamp ("sailthru.date") must not win over the zoned one it duplicates,
    # whatever the tag order or the process's hash seed.
    html = _page_with_dates(
        '<meta name="sailthru.date" content="2019-11-19 05:45:00">'
        '<meta name="publish-date" content="2019-11-19">',
        '{"@type": "NewsArticle", "datePublished": "2019-11-19T05:45:00-08:00"}',
    )
    assert extract_html(html).published == datetime.fromisoformat("2019-11-19T13:45:00+00:00")
    html = _page_with_dates(
        '<meta name="publish-date" content="2018-10-07">'
        '<meta name="DC.date.issued" content="2018-10-07T09:00:35-08:00">'
    )
    assert extract_html(html).published == datetime.fromisoformat("2018-10-07T17:00:35+00:00")


def test_zoneless_stamp_is_kept_as_stated():
    html = _page_with_dates('<meta name="date" content="2026-03-04 06:00">')
    assert extract_html(html).published == datetime.fromisoformat("2026-03-04T06:00:00+00:00")
    assert date_precision("2026-03-04 06:00") == (parse_date("2026-03-04 06:00"), TIME_NO_ZONE)
    assert date_precision("March 4, 2026")[1] == DATE_ONLY
    assert date_precision("March 4, 2026, 6:00 a.m. ET")[1] == TIME_AND_ZONE
