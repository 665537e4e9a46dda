"""The headline is the one the page shows (its h1), unless that is the site's name, a label or
about something else: then the title the page declares (og:title, JSON-LD)."""

from __future__ import annotations

import pytest

from bot.pipeline import extract_html

BODY = (
    "<p>The city runs its last tram at half past midnight, an hour before the bars close and "
    "three hours before the first bakery shift begins across the river.</p>"
    "<p>Night workers pay for that gap in taxi fares or in long walks home, and the council "
    "has never counted what it costs them or the businesses that employ them.</p>"
    "<p>A night service on the two busiest lines would cost less than the road repairs "
    "planned for next spring, and it would pay back part of that in fares.</p>"
)


def page(declared: str, h1: str, site: str = "The Valley Courier") -> str:
    return (
        "<html lang='en'><head>"
        f"<meta property='og:title' content='{declared}'>"
        f"<meta property='og:site_name' content='{site}'>"
        f"<title>{declared}</title></head><body>"
        f"<header><a href='/'>{site}</a></header>"
        f"<article><h1>{h1}</h1>{BODY}</article></body></html>"
    )


@pytest.mark.parametrize(
    ("declared", "shown", "expected"),
    [
        # A share-card title written for search engines: the page's own headline wins.
        (
            "Night trams: 5 reasons the city needs them (2025)",
            "Why our city needs trams after midnight",
            "Why our city needs trams after midnight",
        ),
        # The h1 followed by a tail ("Headline - Site"): the h1.
        (
            "Trams after midnight - Stadtblatt Online Ausgabe",
            "Trams after midnight",
            "Trams after midnight",
        ),
        # In another language too.
        (
            "Nachttram: Warum die Stadt sie braucht",
            "Warum die Stadt eine Nachttram braucht",
            "Warum die Stadt eine Nachttram braucht",
        ),
        # The site's name set as the page's h1: the declared title.
        ("Why our city needs night trams", "The Valley Courier", "Why our city needs night trams"),
        # A label or a heading about something else: the declared title.
        ("Why our city needs night trams", "Latest stories", "Why our city needs night trams"),
        # A lead-in ending on a colon (a promo box's heading): the declared title.
        (
            "Why our city needs night trams | The Valley Courier",
            "A word from the publisher of The Valley Courier:",
            "Why our city needs night trams",
        ),
        # Capitals set by the template: the declared title keeps the writer's case.
        (
            "Why our city needs night trams",
            "WHY OUR CITY NEEDS NIGHT TRAMS NOW",
            "Why our city needs night trams",
        ),
    ],
)
def test_the_headline_the_page_shows_unless_it_is_not_one(
    declared: str, shown: str, expected: str
) -> None:
    piece = extract_html(page(declared, shown), url="https://courier.example/p/night-trams")
    assert piece.title == expected


def test_a_line_break_in_the_headline_reads_as_a_space() -> None:
    html = page("Night trams", "Night trams<br>A plan for the city after dark")
    piece = extract_html(html, url="https://courier.example/p/night-trams")
    assert piece.title == "Night trams A plan for the city after dark"
