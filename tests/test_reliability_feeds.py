"""Hostile feed and page content through the real poller (issue #16): what gets stored and shown.

* entity declarations are refused in any declared encoding (UTF-7, EBCDIC), not only UTF-8/16;
* a feed URL's ``user:pass@`` and query string never reach a piece URL;
* one malformed href does not fail a listing page;
* invisible characters are filtered from piece and source titles (RTL marks stay in RTL text);
* every field a feed sets is capped (a 100,000-character title does not reach /sources).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot import caps
from bot.app import open_core as open_app_core
from bot.core import Core
from bot.messages import Request
from bot.sources.http import Fetcher
from bot.sources.ssrf import UnsafeURLError, check_url
from tests.factories import make_settings
from tests.httpserver import LocalHTTPServer
from tests.support.reliability import article_html

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


@asynccontextmanager
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    settings = make_settings(tmp_path)
    fetcher = Fetcher(user_agent="commentary-bot-test/feeds", total_timeout=5)
    async with fetcher, open_app_core(settings, fetcher=fetcher) as opened:
        yield opened


def laughs(encoding_label: str) -> str:
    """A small 'billion laughs': 500 characters if expanded (enough to see, cheap to refuse)."""
    return (
        f'<?xml version="1.0" encoding="{encoding_label}"?>'
        '<!DOCTYPE rss [<!ENTITY a "laugh"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<rss version="2.0"><channel><title>&c;</title><item><guid>e1</guid>'
        "<title>&c;</title><description>The council should publish the contracts."
        "</description></item></channel></rss>"
    )


ENTITY_FEEDS = {
    # UTF-7 spells "<!" as "+ADwAIQ-": no ASCII "<!ENTITY" anywhere in the bytes.
    "utf-7": laughs("utf-7").encode("ascii").replace(b"<!", b"+ADwAIQ-"),
    "ebcdic-cp037": laughs("cp037").encode("cp037"),
    "utf-8": laughs("utf-8").encode(),
}


@pytest.mark.parametrize("body", list(ENTITY_FEEDS.values()), ids=list(ENTITY_FEEDS))
async def test_entity_declarations_refused_in_any_encoding(
    tmp_path: Path, http_server: LocalHTTPServer, body: bytes
) -> None:
    http_server.add("/feed", body, headers=RSS)
    async with core(tmp_path) as bot:
        await bot.services.store.add_source("laughs", http_server.url("/feed"))
        [report] = await bot.poll_now()
        assert report.status == "error" and "entities" in (report.error or ""), report
        assert await bot.services.store.count_pieces() == 0
        [source] = await bot.services.store.list_sources()
        assert "laugh" not in (source.title or "")


async def test_feed_credentials_and_query_never_reach_piece_urls(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """Relative links inherit ``user:pass@`` through urljoin; link-less entries used to get
    ``<feed url>#entry-...`` with the feed's ``?apikey=``."""
    http_server.add(
        "/feed",
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Private</title>"
        "<item><guid>a1</guid><title>Relative link</title><link>/opinion/a1</link></item>"
        "<item><title>No link at all</title><description>"
        + "The council should publish every contract before the vote. "
        * 40
        + "</description></item>"
        "<item><guid>a2</guid><title>Link to the feed itself</title><link></link>"
        "<description>Residents deserve to see the figures.</description></item>"
        "</channel></rss>",
        headers=RSS,
    )
    http_server.add("/opinion/a1", article_html(1, title="Relative link"), headers=HTML)
    feed = f"http://reader:hunter2@127.0.0.1:{http_server.port}/feed?apikey=SECRET42&fmt=rss"
    async with core(tmp_path) as bot:
        await bot.services.store.add_source("private", feed)
        [report] = await bot.poll_now()
        pieces = await bot.services.store.latest_pieces(10)
        assert len(pieces) >= 2, report
        for piece in pieces:
            assert "hunter2" not in piece.url and "reader@" not in piece.url, piece.url
            assert "SECRET42" not in piece.url, piece.url
        urls = {piece.url for piece in pieces}
        assert f"http://127.0.0.1:{http_server.port}/opinion/a1" in urls
    # The article itself was still fetched with the feed's login.
    [request] = http_server.requests_for("/opinion/a1")
    assert request.headers.get("Authorization", "").startswith("Basic ")


async def test_one_bad_href_does_not_fail_a_listing_page(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    cards = "".join(
        f"<li><a href='/opinion/2024/05/column-number-{i}-on-open-contracts'>Column {i}</a></li>"
        for i in range(3)
    )
    http_server.add(
        "/opinion",
        "<html><body><main><ul>"
        "<li><a href='http://[::1'>Broken link</a></li>"
        "<li><a href='http://127.0.0.1:99999/opinion/2024/05/port-out-of-range-column'>P</a></li>"
        "<li><time datetime='9999-12-31T23:59:59-23:59'></time>"
        "<a href='/opinion/2024/05/a-column-with-an-overflowing-date'>Overflow</a></li>"
        f"{cards}</ul></main></body></html>",
        headers=HTML,
    )
    for i in range(3):
        http_server.add(
            f"/opinion/2024/05/column-number-{i}-on-open-contracts",
            article_html(i),
            headers=HTML,
        )
    async with core(tmp_path) as bot:
        await bot.services.store.add_source("listing", http_server.url("/opinion"), kind="page")
        [report] = await bot.poll_now()
        assert report.entries >= 3, report
        assert await bot.services.store.count_pieces() >= 1


TITLE_NOISE = (
    "\u00ad\u115f\u1160\u3164\uffa0\u2061\u2062\u2063\u2064\u180e\U000e0041\U000e0042\u200b\u202e"
)


async def test_invisible_characters_leave_piece_and_source_titles(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add(
        "/feed",
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Hidden{TITLE_NOISE} Outlet\u200f</title>"
        f"<item><guid>x1</guid><title>Plain{TITLE_NOISE} title\u200f</title>"
        "<description>" + "The council should publish every contract. " * 50 + "</description>"
        "</item><item><guid>x2</guid><title>\u05e9\u05dc\u05d5\u05dd\u200f world</title>"
        "<description>" + "Residents deserve to see the figures now. " * 50 + "</description>"
        "</item></channel></rss>",
        headers=RSS,
    )
    async with core(tmp_path) as bot:
        await bot.services.store.add_source("noisy", http_server.url("/feed"))
        await bot.poll_now()
        [source] = await bot.services.store.list_sources()
        titles = {p.title for p in await bot.services.store.latest_pieces(10)}
    assert source.title == "Hidden Outlet"
    assert "Plain title" in titles
    # Right-to-left text keeps the mark it needs.
    assert "\u05e9\u05dc\u05d5\u05dd\u200f world" in titles


async def test_huge_feed_titles_are_capped(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    long_title = "Opinion " * 12_500  # 100,000 characters
    http_server.add(
        "/feed",
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{long_title}</title>"
        f"<item><guid>t1</guid><title>{long_title}</title><author>{'Name ' * 5000}</author>"
        "<description>" + "The council should publish every contract. " * 50 + "</description>"
        "</item></channel></rss>",
        headers=RSS,
    )
    async with core(tmp_path) as bot:
        await bot.services.store.add_source("long", http_server.url("/feed"))
        await bot.poll_now()
        [source] = await bot.services.store.list_sources()
        [piece] = await bot.services.store.latest_pieces(10)
        listing = await bot.handle(
            Request(platform="console", chat_id="1", user_id="1", command="sources", args="")
        )
    assert source.title and len(source.title) <= caps.SOURCE_TITLE_CHARS
    assert len(piece.title) <= caps.TITLE_CHARS
    assert all(len(a) <= caps.AUTHOR_CHARS for a in piece.authors)
    assert len(listing.plain_text()) < 4000


@pytest.mark.parametrize(
    "url", ["http://%31%32%37.0.0.1/", "http://%31%30.0.0.1:8080/admin", "http://%6c%6fcalhost/"]
)
async def test_percent_encoded_private_hosts_are_refused_as_private(url: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        await check_url(url)
    assert "zone" not in str(caught.value)
    assert "private or local" in str(caught.value) or "local addresses" in str(caught.value)
