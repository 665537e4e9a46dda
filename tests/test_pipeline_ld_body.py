"""A page that renders its text by script: the article's JSON-LD articleBody is the body.

Pages written for the project: the markup shows a photo caption (or a teaser) and the whole
column sits in the page's schema.org data, as some news sites serve it.
"""

from __future__ import annotations

import json

from bot.pipeline import extract_html
from bot.pipeline.summarize import summarize

_COLUMN = [
    "The city spent four years and most of its transport budget on a tram line that stops "
    "two kilometres short of the hospital it was meant to serve.",
    "Nurses who start their shift at six still take two buses, and the second one runs every "
    "forty minutes before seven in the morning.",
    "Council papers show the last stretch was cut to save money on a bridge, a saving that "
    "the extra bus service now costs back every eighteen months.",
    "Residents were promised a line to the wards; they got a line to a car park, and a <b>"
    "timetable</b> that nobody who works nights can use.",
    "The operator says ridership is below forecast, which is what happens when a line ends "
    "where nobody needs to go.",
    "Extending the track costs less than the stadium spur and would carry three times the "
    "riders, by the council's own count.",
    "Every month of delay adds to the bill for the replacement buses and to the doubts about "
    "the next project.",
    "The council should finish the line to the hospital before it spends a cent on the "
    "stadium spur its own engineers ranked last.",
]


def _page(body: list[str], shown: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "OpinionNewsArticle",
        "headline": "Finish the tram line to the hospital",
        "author": {"@type": "Person", "name": "Ines Varga"},
        "datePublished": "2024-03-05T08:00:00Z",
        "articleBody": "<p>" + "</p><p>".join(body) + "</p>",
    }
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Finish the tram line to the hospital | The Valley Courier</title>
<script type="application/ld+json">{json.dumps(data)}</script></head>
<body><header><nav><a href="/">Home</a> <a href="/opinion">Opinion</a></nav></header>
<main><article><h1>Finish the tram line to the hospital</h1>
{shown}<div id="app-root"></div></article></main>
<footer><p>© The Valley Courier</p></footer></body></html>"""


def test_script_rendered_page_gives_the_json_ld_body():
    shown = (
        '<figure><img src="/tram.jpg" alt=""><figcaption>A tram waits at the new terminus '
        "beside the car park on Tuesday morning, two kilometres from the hospital entrance, as "
        "commuters walk towards the bus stop.</figcaption></figure>"
        "<p>The new line was meant to reach the wards. It stops at a car park instead, and "
        "the people it was built for still take two buses to work.</p>"
    )
    piece = extract_html(_page(_COLUMN, shown), url="https://courier.example/opinion/tram")
    paragraphs = [p for p in piece.text.split("\n") if p.strip()]
    assert paragraphs[0].startswith("The city spent four years")
    assert "a timetable that nobody" in piece.text  # markup inside the field is dropped
    assert "<b>" not in piece.text and len(paragraphs) == len(_COLUMN)  # one per <p>
    summary = summarize(piece, "short")
    assert summary.sentences[0].startswith("The council should finish the line")


def test_a_teaser_in_the_markup_gives_way_to_the_whole_column():
    # The markup shows a teaser that trafilatura takes for the body; the field has the column.
    shown = (
        "<p>The new line was meant to reach the wards. It stops at a car park instead, and "
        "the people it was built for still take two buses to work.</p><p>Riders wrote to the "
        "council about the gap between the last stop and the hospital doors.</p>"
    )
    piece = extract_html(_page(_COLUMN, shown))
    assert [p for p in piece.text.split("\n") if p.strip()] == _COLUMN[:3] + [
        _COLUMN[3].replace("<b>", "").replace("</b>", "")
    ] + _COLUMN[4:]


def test_a_teaser_in_json_ld_does_not_replace_the_page_text():
    # The page shows the whole column; its JSON-LD carries only the first sentence.
    piece = extract_html(_page(_COLUMN[:1], "".join(f"<p>{p}</p>" for p in _COLUMN)))
    assert "The council should finish the line" in piece.text
    assert "timetable" in piece.text
