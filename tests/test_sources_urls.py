"""Canonical URLs."""

from __future__ import annotations

import pytest

from bot.sources.urls import canonical_from_html, canonicalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://Example.COM:443/a/b/?utm_source=x&b=2&a=1&fbclid=z#frag",
            "https://example.com/a/b?a=1&b=2",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x/", "http://example.com:8080/x"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?utm_medium=e&UTM_Campaign=c&gclid=1&mc_cid=2&mc_eid=3",
            "https://example.com/a",
        ),
        ("https://example.com/a?b=2&a=3&b=1", "https://example.com/a?a=3&b=2&b=1"),
        ("https://example.com/a?q=a%20b", "https://example.com/a?q=a%20b"),
        ("https://example.com/a?flag", "https://example.com/a?flag="),
        ("https://example.com./a", "https://example.com/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        ("  https://example.com/a#x  ", "https://example.com/a"),
        ("https://example.com:99999/a", "https://example.com:99999/a"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_canonicalize_is_idempotent() -> None:
    url = "HTTPS://Example.COM/Path/?z=1&utm_x=2&a=%C3%A9#f"
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once
    assert once == "https://example.com/Path?a=%C3%A9&z=1"  # path case is kept


def test_canonical_from_html() -> None:
    html = (
        '<html><head><link rel="canonical" href="/opinion/a-piece">'
        '<meta property="og:url" content="https://other.example.com/og"></head></html>'
    )
    assert (
        canonical_from_html(html, "https://ex.com/amp/a-piece") == "https://ex.com/opinion/a-piece"
    )


def test_canonical_falls_back_to_og_url() -> None:
    html = b'<html><head><meta property="og:url" content="https://ex.com/og-piece"></head></html>'
    assert canonical_from_html(html, "https://ex.com/x") == "https://ex.com/og-piece"


def test_canonical_pointing_at_home_page_is_ignored() -> None:
    html = '<html><head><link rel="canonical" href="https://ex.com/"></head></html>'
    assert canonical_from_html(html, "https://ex.com/opinion/a-piece") is None
    assert canonical_from_html(html, "https://ex.com/") == "https://ex.com/"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><head></head></html>",
        '<link rel="canonical" href="javascript:alert(1)">',
        '<link rel="canonical" href="">',
    ],
)
def test_no_canonical(html: str) -> None:
    assert canonical_from_html(html, "https://ex.com/a") is None
