"""Who wrote a page and when, read from the markup real templates use.

Each page here is written for the project and stands for a kind of template, not for a site.
"""

from __future__ import annotations

from bot.pipeline import extract_document
from bot.pipeline.dates import parse_date
from bot.pipeline.extract import parse_html
from bot.pipeline.page_facts import read_page

_BODY = "".join(
    f"<p>{lead} The tram depot on the east side has been closed since spring, and the buses that"
    " replaced it run half as often.</p>"
    for lead in ("First.", "Second.", "Third.", "Fourth.")
)


def _page(
    head: str = "", above: str = "", under: str = "", body_class: str = "", after: str = ""
) -> bytes:
    return (
        f"<html lang='nl'><head>{head}</head><body class='{body_class}'><main><article>"
        f"{above}<h1>De tramremise moet weer open</h1>{under}{_BODY}{after}</article></main>"
        "</body></html>"
    ).encode()


def test_a_template_class_on_body_does_not_hide_the_byline():
    # Themes put "has-sidebar" on <body>: it says nothing about the block the name is in.
    under = "<div class='entry-meta'><span class='author-name'>Pieter de Vries</span></div>"
    piece = extract_document(_page(under=under, body_class="single-post has-sidebar"))
    assert piece.authors == ["Pieter de Vries"]
    # A real sidebar still does.
    aside = "<aside><span class='author-name'>Karin Mulder</span></aside>"
    assert extract_document(_page(after=aside)).authors == []


def test_markup_that_names_the_author_is_believed_for_handles_and_teams():
    rel = "<p class='post-meta'>door <a rel='author' href='/auteur/tkok/'>tkok</a></p>"
    assert extract_document(_page(under=rel)).authors == ["tkok"]
    team = "<div class='author-name'>Redactie Stadsnieuws</div>"
    assert extract_document(_page(under=team)).authors == ["Redactie Stadsnieuws"]
    # Microdata: the author's whole card is marked, the name is a nested itemprop.
    card = (
        "<div itemprop='author' itemscope itemtype='https://schema.org/Person'>"
        "<img src='/a.jpg' alt=''><a itemprop='url' href='/auteur/ej'>"
        "<span itemprop='name'>Els Jansen</span></a><p itemprop='description'>Els Jansen schrijft"
        " over mobiliteit en ruimtelijke ordening voor verschillende regionale kranten.</p></div>"
    )
    assert extract_document(_page(after=card)).authors == ["Els Jansen"]
    # A headline in a misplaced itemprop="name" is not a name.
    wrong = (
        "<div itemprop='author'><a itemprop='name' href='/x'>7 redenen om in 2024 de tram te"
        " nemen naar je werk</a></div>"
    )
    assert extract_document(_page(under=wrong)).authors == []


def test_a_name_block_gives_the_name_without_the_role_under_it():
    block = (
        "<div class='author-box'><div class='author-box-name'>Sanne Bakker</div>"
        "<div class='author-box-position'>Hoofdredacteur</div></div>"
    )
    assert extract_document(_page(under=block)).authors == ["Sanne Bakker"]
    role = (
        "<div class='byline'><a class='byline-name' href='/s'>Ruud Visser</a>"
        "<span class='byline-role'>Senior Policy Analyst</span></div>"
    )
    assert extract_document(_page(under=role)).authors == ["Ruud Visser"]
    two = "<p class='byline'>Door <a href='/a'>Anouk Smit</a> en <a href='/b'>Joost Meijer</a></p>"
    assert extract_document(_page(under=two)).authors == ["Anouk Smit", "Joost Meijer"]


def test_a_person_in_the_byline_wins_over_an_organisation_in_the_tags():
    head = (
        "<meta property='og:site_name' content='Stadsnieuws'>"
        "<meta name='author' content='Stadsnieuws'>"
    )
    under = "<div class='byline'><span class='author'>Lotte Hendriks</span></div>"
    assert extract_document(_page(head=head, under=under)).authors == ["Lotte Hendriks"]
    # A byline no class marks (a link to the writer's page) names the person as well.
    tags = "<meta name='author' content='Zeewind'><meta property='og:site_name' content='Zeewind'>"
    link = "<p><a href='/auteurs/lotte-hendriks/'>Lotte Hendriks</a> · 6 min</p>"
    assert extract_document(_page(head=tags, under=link)).authors == ["Lotte Hendriks"]
    # The outlet's name beside a person in one byline is not a second writer.
    both = "<div class='byline'>Lotte Hendriks<br>\nStadsnieuws</div>"
    head = "<meta property='og:site_name' content='Stadsnieuws'>"
    assert extract_document(_page(head=head, under=both)).authors == ["Lotte Hendriks"]


def test_numeric_days_are_read_only_when_the_order_is_plain():
    assert parse_date("17.05.2021").date().isoformat() == "2021-05-17"
    assert parse_date("Maandag, 24/2/2026").date().isoformat() == "2026-02-24"
    assert parse_date("2/24/2026 10:15").isoformat() == "2026-02-24T10:15:00+00:00"
    assert parse_date("09.10.2024") is None  # September or October: not guessed
    assert parse_date("3/4/2024") is None


def test_a_date_line_just_above_the_headline_is_the_date():
    above = "<div class='kicker'><span>Mobiliteit</span> <span>17.05.2021</span></div>"
    piece = extract_document(_page(above=above))
    assert piece.published.date().isoformat() == "2021-05-17"


def test_a_marked_date_far_above_the_headline_or_an_update_is_not_the_date():
    # A list of other posts in the header, marked as dates, long before the headline.
    header = "<ul>" + "".join(f"<li><span>item {i}</span></li>" for i in range(30)) + "</ul>"
    widget = f"<div><span class='date'>12 maart 2024</span>{header}</div>"
    assert extract_document(_page(above=widget)).published is None
    # Published and updated both marked just above the headline: the published one.
    dates = (
        "<span class='dateline'>3 februari 2022</span>"
        "<span class='dateline updated'>Bijgewerkt: 9 januari 2026</span>"
    )
    piece = extract_document(_page(above=dates))
    assert piece.published.date().isoformat() == "2022-02-03"


def test_a_list_of_other_posts_under_the_headline_is_not_the_date():
    recent = (
        "<ul>"
        + "".join(
            f"<li><a href='/p{d}'>Bericht {d}</a> <span class='post-date'>{d} maart 2019</span>"
            for d in (31, 24, 17, 13)
        )
        + "</ul>"
    )
    page = parse_html(_page(under=recent))
    assert read_page(page).published is None


def test_an_unmarked_byline_under_the_headline_is_read():
    # No class says "byline": the words do ("Door", "Written by"), or a link to the author's page.
    plain = "<div><span>Door</span> <span>Wim Claassen</span></div>"
    assert extract_document(_page(under=plain)).authors == ["Wim Claassen"]
    link = "<p>Recept van <a href='/auteurs/fleur-dekker/'>Fleur Dekker</a> · 4 min</p>"
    assert extract_document(_page(under=link)).authors == ["Fleur Dekker"]
    # A link to a staff page after another label names a contact, not the writer.
    contact = "<p>Contact: <a href='/authors/staff/bram-peeters'>Bram Peeters</a></p>"
    assert extract_document(_page(under=contact)).authors == []


def test_the_written_by_label_in_the_head_names_the_writer():
    head = (
        "<meta name='twitter:label1' content='Written by'>"
        "<meta name='twitter:data1' content='Iris van Dam'>"
        "<meta name='twitter:label2' content='Est. reading time'>"
        "<meta name='twitter:data2' content='4 minutes'>"
    )
    assert extract_document(_page(head=head)).authors == ["Iris van Dam"]
    other = (
        "<meta name='twitter:label1' content='Reading time'><meta name='twitter:data1' content='4'>"
    )
    assert extract_document(_page(head=other)).authors == []


def test_a_layout_flag_on_a_wrapper_is_not_a_sidebar():
    under = "<div class='story-meta'><span class='author'>Will Kuipers</span></div>"
    page = _page(under=under).replace(b"<main>", b"<main><div class='wrap has-rail-right'>")
    assert extract_document(page).authors == ["Will Kuipers"]  # "Will" is a first name here


def test_a_header_block_marked_as_summary_is_not_the_standfirst():
    # The template marks the whole header "summary": headline, dek, byline and caption.
    header = (
        "<div class='post-summary'><p>Gemeente</p><p>Waarom de remise dicht bleef</p>"
        "<p>Drie jaar uitstel, twee rapporten en geen besluit over de toekomst van de remise.</p>"
        "<p>door Mila Verbeek</p><p>Foto: archief van de gemeente, voorjaar</p></div>"
    )
    desc = "Het stadsbestuur stelt de beslissing over de tramremise opnieuw uit."
    head = f"<meta name='description' content='{desc}'>"
    piece = extract_document(_page(head=head, under=header))
    assert (
        piece.standfirst == "Het stadsbestuur stelt de beslissing over de tramremise opnieuw uit."
    )
    # A line marked "lead" that is the byline is not a standfirst either.
    byline = "<p class='lead'>Door Mila Verbeek en Sem de Boer</p>"
    piece = extract_document(_page(head=head, under=byline))
    assert (
        piece.standfirst == "Het stadsbestuur stelt de beslissing over de tramremise opnieuw uit."
    )
    marked = "<p class='standfirst'>Drie jaar uitstel en nog altijd geen besluit.</p>"
    piece = extract_document(_page(head=head, under=marked))
    assert piece.standfirst == "Drie jaar uitstel en nog altijd geen besluit."


def test_a_box_marked_summary_far_below_the_headline_is_not_the_standfirst():
    # Forms, promos and teasers further down reuse "intro"/"summary" classes.
    head = "<meta name='description' content='De remise blijft nog een jaar dicht.'>"
    filler = "".join(f"<p><span>Alinea {i}</span></p>" for i in range(40))
    teaser = (
        "<div class='card'><p class='summary'>Drie lezers vertellen hoe zij nu naar hun werk"
        " reizen sinds de tram stopte.</p></div>"
    )
    piece = extract_document(_page(head=head, after=filler + teaser))
    assert piece.standfirst == "De remise blijft nog een jaar dicht."


def test_a_description_escaped_twice_or_holding_markup_reads_as_text():
    head = (
        "<meta name='description' content='&lt;p&gt;De remise &amp;rsquo;blijft&amp;rsquo;"
        ' dicht, &lt;a href="/x"&gt;zegt&lt;/a&gt; de wethouder.&lt;/p&gt;\'>'
    )
    piece = extract_document(_page(head=head))
    assert piece.standfirst == "De remise ’blijft’ dicht, zegt de wethouder."


def test_the_byline_label_pattern_matches_as_its_backtracking_form_does():
    """The label is matched on every element's text with possessive leading spaces, for speed;
    it must find the same labels (and spans) the plain pattern does."""
    import re

    from bot.pipeline.page_facts import _LABEL

    plain = re.compile(_LABEL.pattern.replace(r"^\s*+", r"^\s*", 1), _LABEL.flags)
    assert plain.pattern != _LABEL.pattern
    samples = [
        "",
        "\n        ",
        "   \u00a0\t",
        "Written by Jane Doe",
        "\n   written   by\n",
        "  Author: ",
        "AUTHORS : A and B",
        "  écrit par Marie Dupont",
        "Napisała Anna",
        "Authorised reseller",
        "Story by",
        "\u2003Posted by admin",
        "Written byline",
        "by Jane Doe",
    ]
    for text in samples:
        a, b = _LABEL.match(text), plain.match(text)
        assert (a and a.span()) == (b and b.span()), text


def test_a_numeric_day_whose_two_numbers_are_equal_is_read():
    # 11.11.2023 is the same day whichever number is the month.
    assert parse_date("Gepubliceerd 11.11.2023").date().isoformat() == "2023-11-11"
    assert parse_date("11/12/2023") is None  # still not guessed when they differ


def test_utility_classes_naming_a_rail_are_layout_not_a_sidebar():
    # Utility-class templates write the rail's width into the article column's classes.
    under = "<p class='meta'><span class='author'>Fenna Bos</span></p>"
    page = _page(under=under).replace(
        b"<main>", b"<main><div class='w-full xl:mr-[--rail-width] [--sidebar-gap:2rem]'>"
    )
    assert extract_document(page).authors == ["Fenna Bos"]
    aside = _page(after="<div class='sidebar md:block'><span class='author'>Fenna Bos</span></div>")
    assert extract_document(aside).authors == []


def test_a_team_credited_in_the_byline_is_the_author():
    by = "<p>by <a href='/x'>Growth Marketing Team</a> · 5 min</p>"
    assert extract_document(_page(under=by)).authors == ["Growth Marketing Team"]
    link = "<div><a href='/authors/redactie-stadsnieuws/'>Redactie Stadsnieuws</a></div>"
    assert extract_document(_page(under=link)).authors == ["Redactie Stadsnieuws"]
    # A call to action is not a team's name.
    cta = "<p>by <a href='/over-ons'>Meet the Team</a></p>"
    assert extract_document(_page(under=cta)).authors == []
    # A person named at the end wrote it, not the team the template credits.
    person = "<p>Geschreven door <a href='/p/mila'>Mila Vos</a></p>"
    assert extract_document(_page(under=by, after=person)).authors == ["Mila Vos"]


def test_a_label_in_its_own_element_names_the_text_after_it():
    under = "<div class='tags'><div><strong>Contributors:</strong> Noor El Idrissi</div></div>"
    assert extract_document(_page(under=under)).authors == ["Noor El Idrissi"]
    heading = "<h4>Author(s)</h4><ul><li><a href='/l?a=1'>Daan Kok</a></li><li>Eva Mol</li></ul>"
    assert extract_document(_page(after=heading)).authors == ["Daan Kok", "Eva Mol"]
    # A book's facts under a review: its author is not the reviewer.
    sheet = "<p><b>Author:</b> Joris Wit<br><b>Publisher:</b> Uitgeverij Zee<br></p>"
    assert extract_document(_page(after=sheet)).authors == []


def test_tags_naming_someone_the_page_never_shows_lose_to_the_byline():
    # The tags name the account that posted the piece; the byline under the headline names
    # the writer.
    tags = "<meta name='author' content='Sophie Lammers'>"
    byline = "<p class='byline'>Door Daan Verbeek</p>"
    assert extract_document(_page(head=tags, under=byline)).authors == ["Daan Verbeek"]
    # When the page shows the tags' name too (here in a note at the end), the tags stand.
    note = "<p>Eindredactie: Sophie Lammers.</p>"
    assert extract_document(_page(head=tags, under=byline, after=note)).authors == [
        "Sophie Lammers"
    ]


def test_a_first_name_linked_to_its_author_page_after_by_is_the_writer():
    under = "<p>door <a href='/auteur/marieke/'>Marieke</a> · 3 mei 2024</p>"
    assert extract_document(_page(under=under)).authors == ["Marieke"]
    # The link alone, or the word alone, is not enough for a single name.
    link = "<p>Meer van deze rubriek: <a href='/auteur/marieke/'>Marieke</a></p>"
    assert extract_document(_page(under=link)).authors == []
    plain = "<p>door <a href='/over'>Marieke</a> · 3 mei 2024</p>"
    assert extract_document(_page(under=plain)).authors == []


def test_a_byline_that_starts_with_the_date_names_the_writer_after_it():
    under = "<div class='post-byline'>14 juni 2023 · Bram Ouwehand in Binnenland</div>"
    assert extract_document(_page(under=under)).authors == ["Bram Ouwehand"]
    # A section after the date is not a writer (its last word is a common word).
    section = "<div class='post-byline'>3 May 2024 · Garden Maintenance</div>"
    assert extract_document(_page(under=section)).authors == []


def test_a_last_updated_label_after_the_name_is_not_part_of_it():
    block = (
        "<div class='author-intro'><div><strong>Written by:</strong></div>"
        "<a href='/x'><div>Ilse Brouwer</div></a>"
        "<div><strong>Last Updated:</strong></div><div>3 mei 2024</div></div>"
    )
    assert extract_document(_page(under=block)).authors == ["Ilse Brouwer"]


def test_a_lone_by_names_the_writer_in_the_next_element():
    # After the body (no bare name there): the name in the element after the label.
    long = "<p>" + "De gemeente wacht op het advies van de vervoerregio. " * 5 + "</p>"
    end = "<div class='meta'><div>By</div><div>Joris Lemaire</div><div>6 mins</div></div>"
    assert read_page(parse_html(_page(after=long + end))).authors == ["Joris Lemaire"]
    # A sort control is no byline.
    sort = "<form><label>Sort by</label><select><option>Most Recent</option></select></form>"
    assert read_page(parse_html(_page(after=sort))).authors == []
