"""parse_feed against good feeds and every kind of bad one."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sources.feeds import FeedError, NotAFeedError, ParsedFeed, looks_full, parse_feed
from tests.timing import cpu_seconds

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
URL = "https://feeds.example.com/opinion.xml"


def load(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), url=URL, content_type=content_type)


def test_rss2_fields_and_bad_entries() -> None:
    feed = load("rss2.xml", "application/rss+xml; charset=utf-8")
    assert feed.kind == "rss"
    assert feed.title == "The Daily Opinion"
    assert feed.link == "https://opinion.example.com/"
    first = feed.entries[0]
    assert first.guid == "piece-1001"
    assert first.title == "Why cities should tax empty homes"
    assert first.authors == ["Jane Roe"]
    assert first.published == datetime(2024, 5, 12, 6, 30, tzinfo=UTC)
    assert first.summary == "A short teaser about vacancy taxes."
    assert not first.content_is_full
    by_title = {e.title: e for e in feed.entries}
    # guid isPermaLink stands in for the missing link
    assert by_title["No link, only a guid"].url.endswith("/2024/05/11/guid-only-piece")
    # an item with no title, link or date is kept (it has a guid) with Nones
    bare = next(e for e in feed.entries if e.guid == "bare-1")
    assert bare.url is None and bare.title is None and bare.published is None
    assert by_title["Odd date format"].published == datetime(2024, 5, 10, 7, 15, tzinfo=UTC)
    assert by_title["Garbage date"].published is None
    assert (
        by_title["Relative link"].url == "https://feeds.example.com/2024/05/09/relative-link-piece"
    )
    assert by_title["Script link"].url is None


def test_future_dates_are_clamped_to_now() -> None:
    before = datetime.now(UTC)
    feed = load("rss2.xml")
    future = next(e for e in feed.entries if e.title == "From the future")
    assert future.published is not None
    assert before - timedelta(seconds=1) <= future.published <= datetime.now(UTC)
    assert future.published.tzinfo is not None


def test_duplicate_entries_in_one_feed_are_dropped() -> None:
    feed = load("rss2.xml")
    guids = [e.guid for e in feed.entries if e.guid]
    assert guids.count("piece-1001") == 1
    assert all("(duplicate)" not in (e.title or "") for e in feed.entries)


def test_atom_full_content_and_authors() -> None:
    feed = load("atom.xml")
    assert feed.kind == "atom"
    entry = feed.entries[0]
    assert entry.title == "Markets are not moral"  # type="html" title gets its markup stripped
    assert entry.authors == ["Ann Author", "Bob Writer"]
    assert entry.published == datetime(2024, 5, 12, 8, 0, tzinfo=UTC)
    assert entry.summary == "Short teaser."
    assert entry.content_is_full and entry.content_html and "<p>" in entry.content_html
    assert feed.entries[1].published == datetime(2024, 5, 11, 9, 0, tzinfo=UTC)  # updated only


def test_rdf() -> None:
    feed = load("rdf.xml")
    assert feed.kind == "rdf"
    assert [e.title for e in feed.entries] == ["The case for slow news"]
    assert feed.entries[0].authors == ["Carol Columnist"]


def test_json_feed() -> None:
    feed = load("feed.json", "application/feed+json")
    assert feed.kind == "json"
    assert feed.title == "JSON Op-Eds"
    assert [e.guid for e in feed.entries] == ["1", "2", "3"]  # duplicate id 1 and junk dropped
    one, two, future = feed.entries
    assert one.authors == ["Dee Json"]
    assert one.content_html == "<p>First paragraph.</p><p>Second paragraph.</p>"
    assert two.url == "https://elsewhere.example.com/two"
    assert two.authors == ["Feed Author"]  # falls back to the feed's authors
    assert two.published == datetime(2024, 5, 12, 8, 0, tzinfo=UTC)  # RFC 822 in JSON
    assert future.published is not None and future.published <= datetime.now(UTC)


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"version": "https://jsonfeed.org/version/1"}', b"[1, 2]"]
)
def test_bad_json_feed(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body, url=URL, content_type="application/json")


@pytest.mark.parametrize("name", ["empty_rss.xml", "empty_atom.xml"])
def test_empty_feed_is_not_an_error(name: str) -> None:
    feed = load(name)
    assert feed.entries == []
    assert feed.title


@pytest.mark.parametrize("body", [b"", b"   \n  "])
def test_empty_body_is_an_error(body: bytes) -> None:
    with pytest.raises(FeedError, match="empty"):
        parse_feed(body, url=URL)


def test_truncated_xml_keeps_recovered_entries() -> None:
    feed = load("truncated.xml")
    assert feed.kind == "rss"
    titles = [e.title for e in feed.entries]
    assert "Why cities should tax empty homes" in titles
    assert len(feed.entries) >= 3


def test_malformed_xml_with_entries_is_kept() -> None:
    body = (
        b"<rss version='2.0'><channel><title>Bad & broken</title>"
        b"<item><title>Unescaped & ampersand <b>bold</title>"
        b"<link>https://bad.example.com/unescaped-ampersand-piece-here</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, url=URL)
    assert [e.url for e in feed.entries] == [
        "https://bad.example.com/unescaped-ampersand-piece-here"
    ]


def test_garbage_is_an_error() -> None:
    with pytest.raises(FeedError):
        parse_feed(b"\x00\x01\x02 this is not xml at all", url=URL)
    with pytest.raises(FeedError, match="not an RSS"):
        load("not_a_feed.xml")


def test_latin1_bytes_declared_utf8() -> None:
    feed = load("wrong_encoding.xml", "application/rss+xml; charset=utf-8")
    assert feed.title == "Café Opinions"
    assert feed.entries[0].title == "Crème brûlée politics"


def test_missing_encoding_declaration_and_header() -> None:
    feed = load("no_declaration.xml")
    assert feed.entries[0].title == "Été column"


def test_utf16_feed() -> None:
    feed = load("utf16.xml")
    assert feed.entries[0].title == "Wide ünïcode"


def test_wrong_charset_header_is_survived() -> None:
    # Header says latin-1, body is UTF-8 with a declaration: no crash, entries still there.
    feed = load("no_declaration.xml", "text/xml; charset=iso-8859-1")
    assert len(feed.entries) == 1


def test_html_served_as_feed() -> None:
    with pytest.raises(NotAFeedError, match="HTML page, not a feed"):
        load("html_page.html", "application/rss+xml")
    with pytest.raises(NotAFeedError):
        parse_feed(b"<html><body><a href='/x'>x</a></body></html>", url=URL)


def test_old_netscape_doctype_without_entities_still_parses() -> None:
    feed = load("rss091_doctype.xml")
    assert [e.title for e in feed.entries] == ["A 0.91 item"]


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
def test_entity_declarations_are_refused_fast(name: str) -> None:
    tracemalloc.start()
    started = time.process_time()  # CPU time: a busy machine does not stretch it
    try:
        with pytest.raises(FeedError, match="entities"):
            load(name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.process_time() - started < 0.5
    assert peak < 5_000_000


def test_entity_bomb_in_utf16_is_refused() -> None:
    body = (FIXTURES / "billion_laughs.xml").read_text().encode("utf-16")
    with pytest.raises(FeedError, match="entities"):
        parse_feed(body, url=URL)


def test_external_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<rss version='2.0'><channel><title>&x;</title><item><title>&x;</title>"
        "<link>https://x.example.com/a</link></item></channel></rss>"
    ).encode()
    with pytest.raises(FeedError):
        parse_feed(body, url=URL)


def test_large_feed_with_many_entries_is_quick() -> None:
    items = "".join(
        f"<item><title>Piece {i}</title><link>https://big.example.com/p/{i}-a-b-c</link>"
        f"<guid>{i}</guid><description>{'word ' * 50}</description></item>"
        for i in range(500)
    )
    body = f"<rss version='2.0'><channel><title>Big</title>{items}</channel></rss>".encode()
    started = time.process_time()
    feed = parse_feed(body, url=URL)
    assert len(feed.entries) == 500
    assert time.process_time() - started < 5


def test_full_text_heuristic() -> None:
    assert not looks_full(None)
    assert not looks_full("<p>Teaser only.</p>")
    assert looks_full("<p>a</p>" * 5)
    assert looks_full("<div>" + "word " * 400 + "</div>")


def test_full_article_in_rss_description_becomes_content() -> None:
    long = "<p>" + "An argument in many words. " * 80 + "</p>"
    body = (
        "<rss version='2.0'><channel><title>T</title><item><title>Long</title>"
        f"<link>https://l.example.com/a-long-piece-in-full</link><description><![CDATA[{long}]]>"
        "</description></item></channel></rss>"
    ).encode()
    entry = parse_feed(body, url=URL).entries[0]
    assert entry.content_is_full
    assert entry.content_html and "An argument" in entry.content_html
    assert entry.summary and len(entry.summary) <= 1001


def test_entity_hidden_after_a_comment_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!-- <rss> decoy --><?pi <feed> ?>'
        b'<!DOCTYPE rss [<!-- <x> --><!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<rss version='2.0'><channel><title>&b;</title></channel></rss>"
    )
    with pytest.raises(FeedError, match="entities"):
        parse_feed(body, url=URL)


def test_entity_bomb_in_bomless_utf16_is_refused() -> None:
    body = (FIXTURES / "billion_laughs.xml").read_text().encode("utf-16-le")
    with pytest.raises(FeedError, match="entities"):
        parse_feed(body, url=URL)


def test_article_text_mentioning_entities_is_fine() -> None:
    body = (
        b"<?xml version='1.0'?><!DOCTYPE rss PUBLIC '-//Netscape Communications//DTD RSS 0.91//EN'"
        b" 'http://my.netscape.com/publish/formats/rss-0.91.dtd'>"
        b"<rss version='0.91'><channel><title>XML column</title><item><title>On DTDs</title>"
        b"<link>https://x.example.com/on-dtds-and-entities</link>"
        b"<description><![CDATA[Never trust <!ENTITY lol 'lol'> in input.]]></description>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == ["On DTDs"]


def test_entity_scan_is_linear_on_hostile_input() -> None:
    def scan(repeats: int) -> None:
        with pytest.raises(FeedError):
            parse_feed(b"<!DOCTYPE x [" + b"<!--" * repeats, url=URL)

    scan(1_000)  # warm up
    small = min(cpu_seconds(lambda: scan(100_000)) for _ in range(3))
    large = cpu_seconds(lambda: scan(1_000_000))
    # Ten times the input: about ten times the time when linear, a hundred when quadratic.
    assert large < 30 * small + 0.05, f"100k: {small:.3f}s, 1M: {large:.3f}s"


def test_html_without_doctype_is_recognised() -> None:
    body = b"<meta charset='utf-8'><title>x</title><div><a href='/a'>a</a></div>"
    with pytest.raises(NotAFeedError):
        parse_feed(body, url=URL)


def test_body_that_is_a_local_path_is_not_read_from_disk(tmp_path: Path) -> None:
    local = tmp_path / "local-feed.xml"
    local.write_bytes((FIXTURES / "rss2.xml").read_bytes())
    with pytest.raises(FeedError):
        parse_feed(str(local).encode(), url=URL)


def test_a_huge_feed_is_read_up_to_the_cap() -> None:
    from bot.sources.feeds import MAX_ENTRIES

    items = "".join(
        f"<item><title>Piece {n}</title><link>https://ex.com/p/{n}</link></item>"
        for n in range(MAX_ENTRIES * 3, 0, -1)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
    parsed = parse_feed(feed.encode(), url="https://ex.com/feed.xml")
    assert len(parsed.entries) == MAX_ENTRIES
    assert parsed.entries[0].url == f"https://ex.com/p/{MAX_ENTRIES * 3}"  # the newest kept
