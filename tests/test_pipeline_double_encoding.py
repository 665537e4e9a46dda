"""A site that encodes its text twice (UTF-8 read as Latin-1, saved as UTF-8 again) sends
"Itâ\x80\x99s" for "It's" on every page: the piece comes out as the writer typed it."""

from __future__ import annotations

from bot.pipeline.document import extract_document


def twice(text: str) -> str:
    """``text`` as such a site serves it."""
    return text.encode("utf-8").decode("latin-1")


TITLE = "The quay’s fees — and who pays them"
STANDFIRST = "Fishing families pay what yachts pay; the board’s rate is unfair."
BODY = (
    "<p>The harbour board’s new fees take a month of a small boat’s catch — more than the "
    "yachts beside them pay for a season of mooring at the old quay.</p>"
    "<p>Two families have already sold their boats; a third says it “cannot wait another "
    "winter” for the board to decide on a working-boat rate.</p>"
    "<p>The board should set that rate now and publish how it spends the money, as the "
    "port towns to the south have done for a decade.</p>"
)


def page(title: str, standfirst: str, body: str) -> bytes:
    return (
        "<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><meta name='description' content='{standfirst}'></head>"
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def test_twice_encoded_page_reads_as_written() -> None:
    piece = extract_document(
        page(twice(TITLE), twice(STANDFIRST), twice(BODY)), content_type="text/html"
    )
    assert piece.title == TITLE
    assert piece.standfirst == STANDFIRST
    assert "small boat’s catch — more" in piece.text
    assert "“cannot wait another winter”" in piece.text
    assert "â" not in piece.text and "Ã" not in piece.text


def test_twice_encoded_accented_letters() -> None:
    body = (
        "<p>Die Straße zum Hafen wird seit drei Jahren repariert, und die Fischer müssen "
        "jeden Morgen einen Umweg über die Brücke fahren.</p>"
        "<p>Der Stadtrat sollte die Arbeiten beenden, bevor der nächste Winter kommt und "
        "die Gebühren für die Boote weiter steigen.</p>"
    )
    piece = extract_document(
        page("Die Straße zum Hafen", "Ein Umweg für alle Fischer über die Brücke.", twice(body)),
        content_type="text/html",
    )
    assert "Die Straße zum Hafen wird" in piece.text and "über die Brücke" in piece.text


def test_a_page_quoting_one_such_sequence_is_left_as_written() -> None:
    quoted = twice("é")  # "Ã©": an article about encoding errors shows the broken form once
    body = BODY.replace("Two families", f"Readers wrote in about the stray “{quoted}” and two")
    piece = extract_document(page(TITLE, STANDFIRST, body), content_type="text/html")
    assert quoted in piece.text
