"""OPML import and export."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources.opml import OpmlOutline, export_opml, parse_opml

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "subscriptions.opml"


def test_parse_flattens_nested_outlines() -> None:
    outlines = parse_opml(FIXTURE.read_bytes())
    assert outlines == [
        OpmlOutline(
            "The Daily Opinion",
            "https://opinion.example.com/rss.xml",
            "feed",
            "https://opinion.example.com/",
        ),
        OpmlOutline("Only a title", "https://views.example.org/atom.xml"),
        OpmlOutline("noname.example.net", "https://noname.example.net/feed"),
        OpmlOutline("Listing", "https://listing.example.com/opinion", "page"),
        OpmlOutline("Café & Co", "https://cafe.example.com/feed?a=1&b=2"),
    ]


def test_round_trip() -> None:
    items = [
        ("The Daily Opinion", "https://opinion.example.com/rss.xml", "feed"),
        ('Quotes "&" <brackets>', "https://q.example.com/feed?a=1&b=2", "feed"),
        ("Listing", "https://listing.example.com/opinion", "page"),
    ]
    text = export_opml(items, title="Mine")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<title>Mine</title>" in text
    back = parse_opml(text.encode("utf-8"))
    assert [(o.name, o.url, o.kind) for o in back] == items


def test_empty_export_parses_to_nothing() -> None:
    assert parse_opml(export_opml([]).encode()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"<opml><body><outline text='x'></body></opml>", "line 1"),
        (b"<?xml version='1.0'?>\n<opml>\n<body>\n<outline\n</opml>", "line 5"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML file"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (b"not xml", "not valid OPML"),
    ],
)
def test_malformed(content: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_opml(content)


def test_entity_bomb_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example.com/"/></body></opml>'
    )
    with pytest.raises(ValueError, match="entities"):
        parse_opml(bomb)


def test_external_entity_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://x.example.com/"/>'
        "</body></opml>"
    ).encode()
    with pytest.raises(ValueError):
        parse_opml(xxe)
