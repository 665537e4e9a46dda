"""The page's own section labels (meta, JSON-LD, breadcrumbs) decide an opinion piece's summary.

The pages are written for these tests: one column whose text reads like a report until its last
paragraph, at an address that says nothing about its section, filed as opinion in the different
ways outlets mark it up.
"""

from __future__ import annotations

import pytest

from bot.pipeline import extract_html
from bot.pipeline.summarize import genre, summarize

URL = "https://news.example/2026/05/harbour-bridge"
THESIS = (
    "The council should build the replacement now rather than patch a deck that will fail "
    "again within a decade."
)
LEDE = (
    "The city council met on Tuesday evening to discuss the future of the harbour bridge, "
    "which has been closed to lorries since March."
)
BODY = f"""
<p>{LEDE}</p>
<p>Engineers told the meeting that the steel deck has corroded faster than expected, and that
repairs would take at least two years.</p>
<p>The transport office said the closure has added forty minutes to the average delivery route
across the river.</p>
<p>Shop owners on the east bank said their trade fell by a fifth over the summer, according to a
survey by the traders' association.</p>
<p>A replacement bridge would cost about 180 million euros, the finance office estimated, and
could open in 2031.</p>
<p>{THESIS}</p>
"""


def page(head: str = "", nav: str = "") -> str:
    return (
        '<!doctype html><html lang="en"><head><title>The harbour bridge cannot wait</title>'
        f"{head}</head><body>{nav}<article><h1>The harbour bridge cannot wait</h1>{BODY}"
        "</article></body></html>"
    )


def ld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


FILED_AS_OPINION = {
    "article:section meta": page('<meta property="article:section" content="Opinion">'),
    "JSON-LD type": page(ld('{"@context": "https://schema.org", "@type": "OpinionNewsArticle"}')),
    "JSON-LD articleSection": page(
        ld('{"@type": "NewsArticle", "headline": "x", "articleSection": ["Comment", "Transport"]}')
    ),
    "JSON-LD BreadcrumbList": page(
        ld(
            '{"@type": "BreadcrumbList", "itemListElement": ['
            '{"@type": "ListItem", "position": 1, "name": "Home"},'
            '{"@type": "ListItem", "position": 2, "item": {"@id": "/c", "name": "Columnists"}}]}'
        )
    ),
    "breadcrumb nav": page(
        nav='<nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>'
        '<li><a href="/v">Views</a></li></ol></nav>'
    ),
    "breadcrumb class, German": page(
        nav='<div class="site-breadcrumbs"><a href="/">Start</a> › <a href="/m">Meinung</a></div>'
    ),
    "breadcrumb, Arabic": page(
        nav='<ul class="breadcrumb"><li><a href="/">الرئيسية</a></li>'
        '<li><a href="/r">الرأي</a></li></ul>'
    ),
}


@pytest.mark.parametrize("how", list(FILED_AS_OPINION))
def test_page_filed_as_opinion_gets_a_thesis_first_summary(how: str) -> None:
    piece = extract_html(FILED_AS_OPINION[how], url=URL)
    assert piece.sections, how
    assert genre(piece) == "opinion", (how, piece.sections)
    assert summarize(piece, "short").sentences == [THESIS]


def test_same_page_unfiled_or_filed_elsewhere_stays_lede_led() -> None:
    unfiled = extract_html(page(), url=URL)
    assert unfiled.sections == [] and genre(unfiled) == "news"
    assert summarize(unfiled, "short").sentences == [LEDE]
    # A news section, and opinion pieces merely listed by the page (related stories), do not
    # make the page's own article opinion.
    listed = page(
        '<meta property="article:section" content="Transport">'
        + ld(
            '[{"@type": "NewsArticle", "headline": "x", "articleSection": "Local"},'
            '{"@type": "ItemList", "itemListElement": ['
            '{"@type": "OpinionNewsArticle", "articleSection": "Opinion"}]}]'
        )
    )
    piece = extract_html(listed, url=URL)
    assert piece.sections == ["Transport", "Local"]
    assert genre(piece) == "news"


def test_outlet_names_with_section_words_are_not_sections() -> None:
    # "Tribune" in a newspaper's name is not the French "Tribunes" (op-eds) section.
    piece = extract_html(
        page(nav='<nav class="breadcrumbs"><a href="/">Harbour Tribune</a> › <a>Local</a></nav>'),
        url=URL,
    )
    assert genre(piece) == "news"


def test_a_site_menu_marked_near_the_breadcrumbs_is_not_a_trail() -> None:
    # A menu bar listing every section ("Opinion" among them), and a page-wide class that
    # names breadcrumbs, say nothing about where this article is filed.
    menu = "".join(
        f'<a href="/{s}">{s}</a>'
        for s in ("Home", "News", "Opinion", "World", "Politics", "Business", "Sport", "Arts")
    )
    for nav in (f'<div id="breadcrumbnav">{menu}</div>', f"<nav>{menu}</nav>"):
        html = page(nav=nav)
        if "breadcrumbnav" not in nav:
            html = html.replace("<body>", '<body class="theme breadcrumbs-hidden">')
        piece = extract_html(html, url=URL)
        assert "Opinion" not in piece.sections, nav
        assert genre(piece) == "news"
    # A short trail beside the menu still counts.
    trail = (
        '<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/o">Opinion</a></li></ol>'
    )
    piece = extract_html(page(nav=f'<div id="breadcrumbnav">{menu}</div>{trail}'), url=URL)
    assert genre(piece) == "opinion"
