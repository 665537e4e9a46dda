"""Pages of the kind real sites serve: other scripts, broken bytes, messy metadata.

Fixtures are written for the project; each stands for a class of pages, not for a site.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.pipeline import extract_document, extract_html
from bot.pipeline.hyphenation import HyphenRepairer, supports

FIX = Path(__file__).parent / "fixtures" / "pipeline"


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


@pytest.mark.parametrize("name", ["korean_column.html", "chinese_column.html"])
def test_languages_without_a_word_list_tokenizer_extract(name):
    # wordfreq needs MeCab/jieba for these; hyphen repair is skipped instead of crashing.
    piece = extract_document(read(name))
    assert piece.language in ("ko", "zh")
    if name.startswith("korean"):
        assert piece.authors == ["김하늘"]  # the role after the name ("editorial writer") goes
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


def test_byline_and_visible_date_under_the_headline_win_over_widgets_and_lists():
    piece = extract_document(read("german_blog_byline.html"))
    # Capitals re-cased, "Von" dropped; the related posts' and the comment form's names ignored.
    assert piece.authors == ["Anna Schmidt"]
    # The date shown under the headline, in German, not the "today" widget in the site header.
    assert piece.published is not None and piece.published.date().isoformat() == "2023-10-31"


def test_structured_metadata_corrected_not_rewritten():
    piece = extract_document(read("wire_story_evening.html"), url="https://lakeside.example/x")
    assert piece.title == "Libraries should stay open late"  # section label off
    assert piece.authors == ["Margaret O'Neil"]  # re-cased; the agency is a credit
    assert piece.credit == "Associated Press"
    # The page's own evening stays its day (22:40 at -05:00 is the next day in UTC).
    assert piece.published.date().isoformat() == "2024-11-05"
    assert piece.published.utcoffset().total_seconds() == -5 * 3600
    assert piece.standfirst == "Evening hours cost little and serve the people who work all day."
    assert not piece.text.startswith(("Opinion", "Evening hours"))
    assert piece.url == "https://lakeside.example/opinion/libraries-late?id=7"  # no utm_*


@pytest.mark.parametrize(
    "raw, names",
    [
        ("By TOM WALSH", ["Tom Walsh"]),
        ("Sobre Marina Duarte", ["Marina Duarte"]),
        ("Par Émile Dupré", ["Émile Dupré"]),
        ("Von Jonas Berg | 12.03.2024", ["Jonas Berg"]),
        ("Lena ParkThursday", ["Lena Park"]),  # a weekday glued on by the template
        ("Dana Kovacs, Senior Editor", ["Dana Kovacs"]),
        ("Varga, Ilona M.", ["Ilona M. Varga"]),  # surname first: the surname is kept
        ("Okafor, Chidi", ["Chidi Okafor"]),
        ("Prince Kumar", ["Prince Kumar"]),  # a name ending like a month stays whole
        ("2019", []),
        ("Гость", []),
        ("Fact checked by Ravi Menon", []),
    ],
)
def test_author_corrections(raw, names):
    from bot.pipeline.authors import credits_from

    assert credits_from([raw]).authors == names


def test_notices_never_reach_the_text():
    from bot.pipeline.boilerplate import is_boilerplate, is_furniture_text

    for line in (
        "This copy is for your personal, non-commercial use only. To order copies, contact us.",
        "Subscribe to continue reading this story.",
        "You have reached your limit of free articles this month.",
        "This article was sponsored by a local credit union.",
        "Lire aussi : Les transports en commun gratuits, une fausse bonne idée ?",
        "Leia também: O que muda no orçamento municipal",
        "Lesen Sie auch: Warum die Mieten weiter steigen",
        "Farmers unload crates at the market at dawn. (Photo by Lina Berg/Agency Images)",
    ):
        assert is_boilerplate(line), line
    assert not is_boilerplate("The council will subscribe to the regional transit plan next year.")
    for furniture in (
        "Available to all readers, paid for by members like you. Support our journalism.",
        "Content powered by a news aggregator",
        "window.dataLayer = window.dataLayer || []; function gtag(){}",
        "Photo: A crowd gathers outside the town hall (Getty Images)",
    ):
        assert is_furniture_text(furniture), furniture
    assert not is_furniture_text("Evening hours cost little and serve the people who work.")


def test_hover_card_name_copies_are_dropped():
    from bot.pipeline.cleanup import clean_paragraphs

    result = clean_paragraphs(
        ["Governor Ana RuizAna María Ruiz signed the bill on Tuesday after a long debate."]
    )
    assert result.paragraphs == [
        "Governor Ana Ruiz signed the bill on Tuesday after a long debate."
    ]


def _page(head: str, body: str) -> bytes:
    paragraphs = "".join(
        f"<p>{s} The harbour ferry timetable changed again this spring, and riders noticed.</p>"
        for s in ("First.", "Second.", "Third.", "Fourth.")
    )
    return (
        f"<html><head>{head}</head><body><article><h1>Ferry timetables keep changing</h1>"
        f"{body}{paragraphs}</article></body></html>"
    ).encode()


def test_date_from_the_url_when_the_page_states_none():
    piece = extract_document(_page("", ""), url="https://ferry.example/2024/05/17/timetables/")
    assert piece.published.date().isoformat() == "2024-05-17"


def test_an_update_stamp_is_not_a_publication_date():
    head = '<meta property="article:modified_time" content="2025-01-09T10:00:00+00:00">'
    piece = extract_document(_page(head, ""), url="https://ferry.example/timetables")
    assert piece.published is None  # a page that names no date stays undated


def test_a_markup_date_readers_never_see_is_not_the_publication_date():
    # Structured data alone (no meta tag), a WebPage's date, a stray <time>: kept only when
    # the page also shows that day.
    article = '{"@type": "BlogPosting", "datePublished": "2023-02-11T09:00:00+00:00"}'
    webpage = '{"@type": "WebPage", "datePublished": "2022-06-30"}'
    for script in (article, webpage):
        head = f'<script type="application/ld+json">{script}</script>'
        assert extract_document(_page(head, "")).published is None
    head = f'<script type="application/ld+json">{article}</script>'
    shown = extract_document(_page(head, "<p>Posted 11/02/2023 by the harbour desk</p>"))
    assert shown.published.isoformat() == "2023-02-11T09:00:00+00:00"
    cjk = extract_document(_page(head, "<p>2023년 2월 11일</p>"))
    assert cjk.published is not None
    # A date under the headline wins over a structured-data stamp of another day.
    body = "<p class='post-date'>March 3, 2024</p>"
    assert extract_document(_page(head, body)).published.date().isoformat() == "2024-03-03"


def test_a_contributor_note_naming_two_writers_is_their_bio():
    from bot.pipeline.cleanup import clean_paragraphs
    from bot.pipeline.fallbacks import authors_from_bio

    body = [
        "The harbour board spent a decade promising a new sea wall and delivered a study.",
        "Every winter the same streets flood, and every spring the same report is ordered.",
    ]
    note = "Marta Quintero and Tomasz Wrona are researchers at the Institute for Coastal Studies."
    result = clean_paragraphs([*body, note])
    assert result.paragraphs == body
    assert result.author_bio == note
    assert authors_from_bio(note) == ["Marta Quintero", "Tomasz Wrona"]
    # A closing sentence about "they" or about things is still the argument, not a bio.
    closing = "They are the reason this university should fund the study of its own coast."
    assert clean_paragraphs([*body, closing]).paragraphs == [*body, closing]
    assert (
        authors_from_bio("Prices and wages are rising faster than the university expected.") == []
    )


def test_a_guide_split_into_sibling_sections_is_extracted_whole():
    # Eight <article> sections: trafilatura's fast mode keeps the first one only (1,700
    # characters, long enough to pass for an article); the page's paragraphs say otherwise.
    piece = extract_document(read("guide_sections.html"))
    assert "step 1.1" in piece.text and "step 8.7" in piece.text
    assert "All rights reserved" not in piece.text


def test_a_guide_with_lists_in_an_unmarked_container_keeps_its_lists_and_headings():
    # No <article>/<main> and no class trafilatura knows: its fast mode recovers the loose
    # paragraphs only, dropping the numbered headings and the lists between them (half the
    # text beside the paragraphs it kept), so the full run is made.
    piece = extract_document(read("guide_lists_unmarked.html"))
    for part in ("2. The all-rounder", "walking poles instead of tent poles", "rolls happily"):
        assert part in piece.text
    assert piece.text.rstrip().endswith("the dark and the wind.")
    assert "Copyright" not in piece.text


def test_short_blocks_outside_the_article_container_leave_the_ends_of_the_text():
    # trafilatura keeps a topic line above the post and a newsletter box and teasers below it:
    # siblings of the element holding the paragraphs, so not part of the article.
    piece = extract_html(read("blog_edge_furniture.html"))
    paragraphs = piece.text.split("\n\n")
    assert paragraphs[0].startswith("Seit dem Frühjahr liegt im Rathaus")
    assert paragraphs[-1].endswith("am frühen Morgen ihre Stände aufbauen.")
    assert len(paragraphs) == 4
    for furniture in ("Stadtleben", "Postfach", "Jetzt eintragen", "Mehr aus dem Viertel", "Bänke"):
        assert furniture not in piece.text


def test_edge_blocks_inside_the_container_or_long_stay():
    from bot.pipeline.container import edge_furniture
    from bot.pipeline.extract import parse_html

    long_close = "Ein langer Schluss, der außerhalb des Beitrags steht. " * 8
    page = read("blog_edge_furniture.html").decode("utf-8")
    page = page.replace('<div class="kasten">', f'<div class="schluss"><p>{long_close}</p></div>'
                        '<div class="kasten">')  # fmt: skip
    tree = parse_html(page)
    article = [" ".join(p.text_content().split()) for p in tree.iterfind(".//div/p")][1:5]
    assert article[0].startswith("Seit dem Frühjahr") and article[3].startswith("Der Stadtrat")
    blocks = [*article, long_close.strip(), "Jetzt eintragen und nichts verpassen!"]
    # The long closing block outside the container ends the trimmed run; the prompt goes.
    assert edge_furniture(tree, blocks) == {5}
    assert edge_furniture(tree, article) == set()  # all inside: nothing to trim


def test_a_line_repeated_inside_and_after_the_article_is_judged_by_its_last_copy():
    from bot.pipeline.container import edge_furniture
    from bot.pipeline.extract import parse_html

    line = "Diesen Beitrag weiterempfehlen"
    page = read("blog_edge_furniture.html").decode("utf-8")
    page = page.replace("<h1>", f"<p>{line}</p><h1>").replace(
        '<div class="kasten">', f'<div class="kasten"><p>{line}</p>'
    )
    tree = parse_html(page)
    article = [" ".join(p.text_content().split()) for p in tree.iterfind(".//div/p")][2:6]
    assert article[0].startswith("Seit dem Frühjahr") and article[3].startswith("Der Stadtrat")
    # At the end of the text the line is the copy after the article, outside its container;
    # at the start it is the copy in the article's header, inside, and stays.
    assert edge_furniture(tree, [*article, line]) == {4}
    assert edge_furniture(tree, [line, *article]) == set()


def test_structured_author_read_past_a_long_article_body():
    import json

    from bot.pipeline.extract import parse_html
    from bot.pipeline.page_facts import _without_long_strings, library_authors

    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Ferries should run all night",
        "author": {"@type": "Person", "name": "Ines Carvalho"},
        "articleBody": 'The last ferry leaves at ten. <b>Why?</b> "Demand", they say. ' * 80,
    }
    text = json.dumps(data)
    trimmed = json.loads(_without_long_strings(text))
    assert trimmed["articleBody"] == "" and trimmed["author"]["name"] == "Ines Carvalho"
    # Written without spaces: the library's minifier (one regex match per space it deletes)
    # has nothing to delete, and reads the very text it would have made of a spaced dump.
    from trafilatura.metadata import JSON_MINIFY

    compact = _without_long_strings(text)
    spaced = json.dumps(trimmed, ensure_ascii=False)
    assert JSON_MINIFY.sub(r"\1", compact) == compact == JSON_MINIFY.sub(r"\1", spaced)
    assert _without_long_strings("{not json" + " " * 3000) == "{not json" + " " * 3000
    page = (
        f"<html><head><script type='application/ld+json'>{text}</script></head><body></body></html>"
    )
    assert library_authors(parse_html(page), meta_author=False) == ["Ines Carvalho"]
    # No author meta tag and no structured data naming anyone: nothing to read.
    assert library_authors(parse_html("<html><body><p>x</p></body></html>"), False) == []


def _page(header: str, after: str = "", lang: str = "en") -> bytes:
    """An article page with ``header`` under the headline and ``after`` after its body."""
    body = "".join(
        f"<p>Paragraph {i}: the ferry timetable changed twice this winter, and the villages on "
        f"the far shore lost their only evening crossing without any public notice.</p>"
        for i in range(6)
    )
    return (
        f"<html lang='{lang}'><head><title>Ferries</title></head><body>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/contact'>Contact Desk</a></li>"
        "</ul></nav><main><article><h1>The last ferry leaves too early</h1>"
        f"{header}<div class='entry'>{body}</div>{after}</article></main></body></html>"
    ).encode()


def test_author_box_after_the_article_names_the_writer():
    # A block marked "author" holding a photo, the name on its own line and a long bio.
    box = (
        "<div class='post-author-box'><img src='a.jpg'><h4>Greta Lindqvist</h4>"
        "<p>Greta Lindqvist schreibt seit zwanzig Jahren über Verkehr, Inseln und die Menschen, "
        "die zwischen ihnen pendeln, und lebt selbst auf einer Insel ohne Brücke.</p></div>"
    )
    assert extract_document(_page("", box, "de")).authors == ["Greta Lindqvist"]


def test_a_label_names_the_writer_in_the_next_element():
    label = "<div class='firma'><span>Escrito por</span><span>Tomás Ibarra</span></div>"
    assert extract_document(_page("", label, "es")).authors == ["Tomás Ibarra"]
    inline = "<p class='credit'>Posted by <a href='/u/7'>Ines Moreau</a> on 2024-03-02</p>"
    assert extract_document(_page("", inline)).authors == ["Ines Moreau"]


def test_a_bare_name_under_the_headline_is_the_byline():
    header = (
        "<div class='meta'><span>12 March 2024</span> · <a href='/p/ok'>Oskar Vendelbo</a>"
        "</div><p><a href='/category/harbours'>Filed under</a> "
        "<a href='/category/x'>Harbour Works</a></p>"
    )
    piece = extract_document(_page(header))
    assert piece.authors == ["Oskar Vendelbo"]


def test_capitalised_labels_and_menus_are_not_bare_names():
    header = (
        "<ul class='menu'><li>Weekend Timetable</li><li>Island Routes</li></ul>"
        "<p><a href='/topics/ferries'>Ferry Routes</a></p><div>Download PDF</div>"
        "<p>Filed under <a href='/x'>Harbour Works</a></p>"
    )
    after = "<p><strong>Ticket Prices:</strong> unchanged since spring.</p>"
    assert extract_document(_page(header, after)).authors == []


def test_page_builder_widget_blocks_are_not_sidebars():
    # Builders call every block a widget; only a block that is a widget of its own is furniture.
    header = (
        "<div class='builder-widget-container'><div class='builder-author-box'>"
        "<p class='builder-author-box__name'>Wanjiru Kamau</p></div></div>"
    )
    sidebar = "<div class='widget widget_recent'><p class='author'>Peter Other</p></div>"
    assert extract_document(_page(header, sidebar)).authors == ["Wanjiru Kamau"]


_WIRE_LAYOUTS = {
    "structured data": (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": ['
        '{"@type": "Person", "name": "HALVOR STRAND"},'
        '{"@type": "Organization", "name": "Associated Press"}]}</script>',
        "",
        "Associated Press",
    ),
    "meta tag with a role": (
        '<meta name="author" content="By HALVOR STRAND AP Energy Writer">',
        "",
        "AP",
    ),
    "byline block": (
        "",
        "<div class='byline'>By HALVOR STRAND<br>Associated Press</div>",
        "Associated Press",
    ),
    "byline and a bar": ("", "<p class='byline'>By Halvor Strand | Reuters</p>", "Reuters"),
    "byline and a comma": (
        "",
        "<p>By HALVOR STRAND, The Associated Press</p>",
        "The Associated Press",
    ),
    "initials in brackets": ("", "<p>Von HALVOR STRAND (dpa)</p>", "dpa"),
}


@pytest.mark.parametrize("layout", sorted(_WIRE_LAYOUTS))
def test_wire_story_names_recased_and_agency_credited(layout):
    head, header, credit = _WIRE_LAYOUTS[layout]
    page = _page(header).replace(b"<title>", head.encode() + b"<title>")
    piece = extract_document(page)
    assert piece.authors == ["Halvor Strand"]
    assert piece.credit == credit


def test_an_agency_alone_is_a_credit_and_a_firm_named_agency_is_an_author():
    byline = "<div class='byline'>Agence France-Presse</div>"
    piece = extract_document(_page(byline))
    assert piece.authors == [] and piece.credit == "Agence France-Presse"
    firm = '<meta name="author" content="Northwind Digital Agency">'
    piece = extract_document(_page("").replace(b"<title>", firm.encode() + b"<title>"))
    assert piece.authors == ["Northwind Digital Agency"] and piece.credit is None


def _dek_page(before_headline: str, under_headline: str, article_class: str = "") -> bytes:
    body = "".join(
        f"<p>Paragraph {i}: the orchard cooperative sold its cider press to a brewery, and the "
        f"growers now truck their apples two valleys away to be pressed each autumn.</p>"
        for i in range(6)
    )
    filler = "".join(f"<li><a href='/s/{i}'>Section {i}</a></li>" for i in range(20))
    return (
        "<html><head><title>Cider press sold</title></head><body>"
        f"<header>{before_headline}<ul>{filler}</ul></header>"
        f"<article class='{article_class}'><h1>The valley lost its cider press</h1>"
        f"{under_headline}{body}</article></body></html>"
    ).encode()


def test_a_promo_marked_subtitle_in_the_site_header_is_not_the_standfirst():
    promo = "<p class='subtitle'>Zwei Monate gratis lesen, danach jederzeit kündbar</p>"
    dek = "<p class='standfirst'>Growers now drive their apples two valleys away each autumn.</p>"
    piece = extract_document(_dek_page(promo, dek))
    assert piece.standfirst == "Growers now drive their apples two valleys away each autumn."


@pytest.mark.parametrize(
    "line",
    [
        "4 mars 2024 · 6 min de lecture",  # a date and reading-time line
        "Actualités | Régions | Agriculture | Culture",  # a menu
        "Économie > Agriculture > Coopératives du Sud-Ouest",  # a breadcrumb trail
    ],
)
def test_date_lines_menus_and_breadcrumbs_are_not_standfirsts(line):
    piece = extract_document(_dek_page("", f"<div class='article-summary'>{line}</div>"))
    assert piece.standfirst is None


def test_an_article_element_named_after_its_platform_is_not_furniture():
    # Newsletter platforms class the article itself "newsletter-post": its subtitle is the dek.
    dek = "<h3 class='subtitle'>Why a cooperative sells the one machine it shares.</h3>"
    piece = extract_document(_dek_page("", dek, "post newsletter-post"))
    assert piece.standfirst == "Why a cooperative sells the one machine it shares."


def _head_page(head: str) -> bytes:
    return _page("").replace(b"<title>", head.encode() + b"<title>")


def test_the_sites_own_name_among_the_authors_goes():
    head = (
        '<meta property="og:site_name" content="Eastport Harbour Ledger">'
        '<link rel="canonical" href="https://www.harbourledger.example/2024/ferries">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": '
        '"Person", "name": "Rosa Delgado and Ken Ito, The Harbour Ledger"}}</script>'
    )
    assert extract_document(_head_page(head)).authors == ["Rosa Delgado", "Ken Ito"]
    host = (
        '<link rel="canonical" href="https://harbourledger.example/ferries">'
        '<meta name="author" content="Rosa Delgado, HarbourLedger">'
    )
    assert extract_document(_head_page(host)).authors == ["Rosa Delgado"]
    # A blog named after its writer keeps the writer.
    blog = (
        '<meta property="og:site_name" content="Rosa Delgado">'
        '<meta name="author" content="Rosa Delgado">'
    )
    assert extract_document(_head_page(blog)).authors == ["Rosa Delgado"]


def test_a_shorter_form_of_the_same_name_is_not_a_second_author():
    head = (
        '<meta property="og:site_name" content="Harbour Ledger">'
        '<meta itemprop="author" content="Lena Quinn Marsh">'
        '<meta property="article:author" content="Lena Marsh | Harbour Ledger">'
    )
    assert extract_document(_head_page(head)).authors == ["Lena Quinn Marsh"]


_GUIDE_STEPS = [
    "Zet de tent eerst op in de tuin, zodat je thuis al weet welke stok in welke hoes hoort.",
    "Leg een grondzeil onder het binnentent, een paar centimeter kleiner dan de bodem zelf.",
    "Span de scheerlijnen pas als alle haringen schuin in de grond zitten, nooit recht omhoog.",
    "Laat bij regen een kier open aan de kant van de wind af, dan blijft het binnen droger.",
    "Rol de tent 's ochtends pas op als het doek droog is, anders gaat het muf ruiken.",
]


def test_lines_after_a_list_or_table_holding_most_of_the_text_stay():
    # The guide's text is mostly one numbered list: the deepest element holding most of it is
    # the list, yet the closing tip and the table after the list are the guide's own lines.
    from bot.pipeline.container import edge_furniture
    from bot.pipeline.extract import parse_html

    steps = "".join(f"<li>{s}</li>" for s in _GUIDE_STEPS)
    page = (
        "<html><body><nav><a href='/'>Buitenleven</a></nav><article><div class='tekst'>"
        "<p>Vijf gewoonten voor een droge nacht.</p>"
        f"<ol>{steps}</ol><p>Tot slot: oefen het afbreken ook één keer.</p>"
        "<table><tr><td>Stap</td><td>Minuten</td></tr><tr><td>Opzetten</td><td>15</td></tr>"
        "</table></div></article><div class='brief'><p>Schrijf je in voor de nieuwsbrief</p>"
        "</div></body></html>"
    )
    blocks = [
        "Vijf gewoonten voor een droge nacht.",
        *(f"- {s}" for s in _GUIDE_STEPS),
        "Tot slot: oefen het afbreken ook één keer.",
        "| Stap | Minuten |",
        "| Opzetten | 15 |",
        "Schrijf je in voor de nieuwsbrief",
    ]
    assert edge_furniture(parse_html(page), blocks) == {len(blocks) - 1}


def test_lines_around_a_quoted_post_holding_most_of_the_text_stay():
    from bot.pipeline.container import edge_furniture
    from bot.pipeline.extract import parse_html

    quoted = _GUIDE_STEPS[:3]
    page = (
        "<html><body><div class='bericht'><h3>Lijst met cursussen</h3>"
        "<p>Gedeeld op een forum voor docenten:</p>"
        f"<blockquote>{''.join(f'<p>{s}</p>' for s in quoted)}</blockquote>"
        "<p><small>Met dank aan een lezer voor de tip.</small></p></div>"
        "<footer><p>Alle rechten voorbehouden</p></footer></body></html>"
    )
    blocks = [
        "Lijst met cursussen",
        "Gedeeld op een forum voor docenten:",
        *quoted,
        "Met dank aan een lezer voor de tip.",
        "Alle rechten voorbehouden",
    ]
    assert edge_furniture(parse_html(page), blocks) == {len(blocks) - 1}


_LEDE = (
    "Quand les jours raccourcissent, les pièces orientées au nord deviennent sombres dès le"
    " milieu de l'après-midi, et la plupart des plantes d'intérieur s'y étiolent. Quelques"
    " espèces venues des sous-bois tropicaux s'en accommodent pourtant très bien."
)
_PLANTS = "".join(
    f"<p>{s}</p>"
    for s in (
        "L'aspidistra supporte l'ombre, les oublis d'arrosage et les courants d'air de l'entrée.",
        "La sansevière garde ses feuilles dressées loin d'une fenêtre, si l'on ne noie pas ses"
        " racines en hiver.",
        "Le pilea se contente d'une lumière indirecte et pousse vite pour peu qu'on le tourne"
        " chaque semaine.",
    )
)


def _plants_page(first: str, description: str) -> str:
    return (
        "<html><head><title>Des plantes pour les coins sombres</title>"
        f'<meta name="description" content="{description}"></head><body><article>'
        f"<h1>Des plantes pour les coins sombres</h1><p>{first}</p>{_PLANTS}"
        "</article></body></html>"
    )


def test_a_description_copying_the_lede_under_the_headline_leaves_the_lede_in_the_body():
    # The site's description is the first paragraph cut out whole (longer than a dek's
    # sentence or two); the text starts with the headline, then that paragraph.
    piece = extract_html(_plants_page(_LEDE, _LEDE))
    assert piece.standfirst is None
    assert piece.text.startswith("Quand les jours raccourcissent")


def test_a_short_description_repeated_under_the_headline_is_the_standfirst():
    dek = "Trois plantes qui se passent de soleil, et comment les garder en forme."
    piece = extract_html(_plants_page(dek, dek))
    assert piece.standfirst == dek
    assert dek not in piece.text


_CLOTHES = [
    "Comprar roupa de fibras naturais não precisa de custar uma fortuna, desde que se saiba"
    " onde procurar e o que evitar.",
    "O algodão orgânico, o linho e a lã respiram melhor do que os sintéticos e duram muitas"
    " estações se forem bem tratados.",
    "Antes de comprar, vale a pena ler a etiqueta até ao fim: uma peça com elastano já não se"
    " recicla da mesma maneira.",
    "As lojas de segunda mão continuam a ser a forma mais barata de encontrar peças feitas"
    " para durar.",
]


def test_an_unclosed_overlay_wrapping_the_page_does_not_hide_the_article():
    # A template's popup layer (an <aside>) and its header never closed: both wrap the whole
    # page, article included, and extractors drop such elements whole as furniture.
    paragraphs = "".join(f"<p>{p}</p>" for p in _CLOTHES)
    page = (
        "<html><head><title>Roupa natural sem gastar muito</title></head><body>"
        "<aside class='popup-layer'><div class='caixa'><header class='topo'>"
        "<div class='marca'><a href='/'>Vestir Bem</a></div>"
        "<ul class='menu'><li><a href='/moda'>Moda</a></li><li><a href='/casa'>Casa</a></li></ul>"
        f"<div class='conteudo'><article><h1>Roupa natural sem gastar muito</h1>{paragraphs}"
        "</article></div></body></html>"
    )
    piece = extract_html(page)
    assert piece.text.split("\n\n") == _CLOTHES


@pytest.mark.parametrize(
    "name",
    [
        "Marta Kowalczyk, Sr. Director of Logistics, Vistula Freight Lines - 12+ Years in Freight",
        "Marta Kowalczyk, Head of Research, Vistula Freight Lines",
        "Marta Kowalczyk, Chefredakteurin, Weichsel Verlag",
    ],
)
def test_a_title_and_employer_after_the_name_are_not_authors(name: str) -> None:
    head = (
        '<script type="application/ld+json">{"@type": "BlogPosting", "author": {"@type": '
        f'"Person", "name": "{name}"}}}}</script>'
    )
    assert extract_document(_head_page(head)).authors == ["Marta Kowalczyk"]


_VIEWPOINTS = [
    (
        "El Castillo",
        "Desde la muralla se ve el puerto entero; conviene llegar media hora antes de la"
        " puesta de sol para encontrar sitio en el banco de piedra.",
    ),
    (
        "La Ermita",
        "Un camino de tierra entre pinos lleva hasta la pequeña ermita blanca, desde donde"
        " se distinguen las tres torres de la catedral.",
    ),
    (
        "Los Depósitos",
        "Sobre los antiguos depósitos de agua hay ahora un parque con columpios, ideal"
        " para ir con niños y bajar luego por las escaleras.",
    ),
    (
        "El Faro",
        "El paseo marítimo termina en el faro; el último tramo es estrecho y con viento"
        " fuerte mejor dejarlo para otro día.",
    ),
    (
        "La Azotea",
        "El mercado abre su azotea los sábados por la tarde: se sube en ascensor y se"
        " puede tomar algo mientras cae el sol.",
    ),
    (
        "El Puente Viejo",
        "Desde el centro del puente viejo se ven a la vez el río, la catedral y las"
        " grúas del puerto, sobre todo con marea baja.",
    ),
    (
        "La Torre del Reloj",
        "La torre del reloj abre al público los domingos; son ciento veinte"
        " escalones, pero arriba hay bancos y una brisa constante.",
    ),
    (
        "El Cerro",
        "Es el punto más alto de la ciudad y el menos conocido; la subida es dura pero la"
        " vista llega hasta las montañas del norte.",
    ),
]


_ACCESS = (
    "La entrada es libre todo el año, aunque en verano conviene llevar agua y evitar las horas"
    " centrales del día."
)


def test_a_list_in_a_box_classed_as_a_footer_is_read_when_the_extraction_came_back_short():
    # The guide's places sit in a box whose class names a footer: extractors drop it whole as
    # furniture and keep the two-sentence intro. The box holds most of the page's paragraphs,
    # so it is read as a plain block.
    intro = (
        "Subir a un mirador al atardecer es la forma más barata de conocer la ciudad, y casi todos"
        " se alcanzan a pie desde el centro. Hemos recorrido los doce barrios con una cámara y un"
        " termo de café para elegir los ocho que merecen la caminata."
    )
    cards = "".join(
        f"<div class='sitio'><h3>{n}</h3><p>{d} {_ACCESS}</p></div>" for n, d in _VIEWPOINTS
    )
    page = (
        "<html><head><title>Ocho miradores para ver la ciudad desde arriba</title></head><body>"
        "<div class='cabecera'><a href='/'>Guía Local</a></div><div class='pagina'>"
        "<h1>Ocho miradores para ver la ciudad desde arriba</h1>"
        f"<div class='entrada'><p>{intro}</p></div>"
        f"<div class='pagina-footer'><div class='lista'>{cards}</div></div></div></body></html>"
    )
    text = extract_html(page).text
    assert intro in text
    for _, description in _VIEWPOINTS:
        assert f"{description} {_ACCESS}" in text
