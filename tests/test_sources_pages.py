"""Feed autodiscovery and article links of listing pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.pages import find_article_links, find_feed_links, looks_like_article_path
from tests.timing import cpu_seconds

LISTING = (Path(__file__).parent / "fixtures" / "sources" / "listing.html").read_bytes()
BASE = "https://www.example-times.com/opinion/"
SITE = "https://www.example-times.com"


def test_find_feed_links() -> None:
    assert find_feed_links(LISTING, BASE) == [
        f"{SITE}/opinion/rss.xml",
        "https://feeds.example-times.com/opinion.atom",
        f"{SITE}/opinion/feed.json",
    ]


def test_find_feed_links_respects_base_href_and_str_input() -> None:
    html = (
        '<html><head><base href="https://cdn.example.org/site/">'
        '<link rel="Alternate" type="application/rss+xml; charset=utf-8" href="feed.xml">'
        '<link rel="alternate" type="application/json" href="feed.json">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        "</head><body></body></html>"
    )
    assert find_feed_links(html, "https://example.org/") == [
        "https://cdn.example.org/site/feed.xml",
        "https://cdn.example.org/site/feed.json",
    ]


@pytest.mark.parametrize("html", ["", "   ", b"", "not html at all", b"\x00\x01\x02"])
def test_junk_pages_give_nothing(html: str | bytes) -> None:
    assert find_feed_links(html, BASE) == []
    assert find_article_links(html, BASE) == []


def test_heuristic_article_links() -> None:
    entries = find_article_links(LISTING, BASE)
    assert [e.url for e in entries] == [
        f"{SITE}/opinion/2024/05/12/why-cities-should-tax-empty-homes",
        f"{SITE}/opinion/columns/the-quiet-death-of-the-op-ed",  # utm_* dropped, deduped
        f"{SITE}/opinion/editorials/in-defense-of-boring-politics",
        f"{SITE}/news/article-4815162342",
        f"{SITE}/opinion/2024/05/10/a-piece-with-a-date-in-the-path",
    ]
    titles = [e.title for e in entries]
    assert titles[0] == "Why cities should tax empty homes"
    assert titles[1] == "The quiet death of the op-ed"  # whitespace collapsed
    assert titles[2] == "In defense of boring politics"  # from the image's alt text
    assert entries[0].published == datetime(2024, 5, 12, 8, 30, tzinfo=UTC)


def test_heuristic_limit() -> None:
    assert len(find_article_links(LISTING, BASE, limit=2)) == 2


def test_selector_links() -> None:
    entries = find_article_links(LISTING, BASE, selector="article.card h2")
    assert [e.title for e in entries] == [
        "Why cities should tax empty homes",
        "The quiet death of the op-ed",
        "Numeric id article",
    ]
    links = find_article_links(LISTING, BASE, selector="li.item a")
    # A selector is trusted: off-site links are kept, non-http ones never.
    assert [e.url for e in links] == [
        "https://other-paper.example.net/2024/05/12/someone-elses-column-here",
        f"{SITE}/opinion/2024/05/10/a-piece-with-a-date-in-the-path",
        f"{SITE}/opinion/page/2",
        f"{SITE}/about",
    ]


def test_bad_selector() -> None:
    with pytest.raises(ValueError, match="invalid CSS selector"):
        find_article_links(LISTING, BASE, selector="a[[[")


def test_better_title_from_a_later_duplicate() -> None:
    html = (
        "<html><body><a href='/opinion/2024/05/01/a-slug-for-a-piece'>Read more</a>"
        "<a href='/opinion/2024/05/01/a-slug-for-a-piece#top'>The real headline</a></body></html>"
    )
    entries = find_article_links(html, "https://x.example.com/")
    assert [(e.url, e.title) for e in entries] == [
        ("https://x.example.com/opinion/2024/05/01/a-slug-for-a-piece", "The real headline")
    ]


@pytest.mark.parametrize(
    ("path", "article"),
    [
        ("/opinion/2024/05/12/why-we-need-more-trains", True),
        ("/opinion/trains-are-good-actually", True),
        ("/2024/05/12/short", True),
        ("/news/article-123456", True),
        ("/world/europe-election-result-is-in", True),
        ("/p/some-slug-with-many-words.html", True),
        ("/opinion/20240512-trains", True),
        ("/", False),
        ("/opinion/", False),
        ("/opinion/columnists", False),
        ("/tag/politics", False),
        ("/author/jane-roe", False),
        ("/category/opinion/some-long-category-name", False),
        ("/login", False),
        ("/columns/a", False),
        ("/images/2024/05/a-photo-of-a-thing.jpg", False),
        ("/opinion/page/2", False),
    ],
)
def test_article_path_heuristic(path: str, article: bool) -> None:
    assert looks_like_article_path(path) is article


def test_generic_link_text_is_no_title() -> None:
    html = (
        "<html><body><a href='/opinion/2024/05/01/a-slug-for-a-piece'>Read more</a></body></html>"
    )
    entries = find_article_links(html, "https://x.example.com/")
    assert [(e.url, e.title) for e in entries] == [
        ("https://x.example.com/opinion/2024/05/01/a-slug-for-a-piece", None)
    ]


def test_large_page_scan_is_linear() -> None:
    def page(cards: int) -> str:
        body = "".join(
            f"<article><h2><a href='/opinion/2024/05/{i % 28 + 1}/piece-number-{i}-is-here'>"
            f"P {i}</a></h2><a href='/tag/t{i}'>tag</a></article>"
            for i in range(cards)
        )
        return f"<html><body><main>{body}</main></body></html>"

    small_html, large_html = page(300), page(3000)
    find_article_links(small_html, "https://x.example.com/", limit=30)  # warm up
    small = min(
        cpu_seconds(lambda: find_article_links(small_html, "https://x.example.com/", limit=30))
        for _ in range(3)
    )
    entries: list[object] = []
    large = cpu_seconds(
        lambda: entries.extend(find_article_links(large_html, "https://x.example.com/", limit=30))
    )
    assert len(entries) == 30
    # Ten times the cards: about ten times the time when linear, a hundred when quadratic.
    assert large < 30 * small + 0.05, f"300 cards: {small:.3f}s, 3000 cards: {large:.3f}s"
