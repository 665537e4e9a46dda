"""Network and source layer: fetch, guard, parse feeds and pages, canonical URLs, fingerprints.

Pure building blocks without storage; the poller composes them. The names below are imported
on first use (PEP 562), so importing one light module (``bot.sources.urls``) does not load
httpx and feedparser with it: start-up time matters for the CLI and the terminal chat.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "FeedEntry": "feeds",
    "FeedError": "feeds",
    "NotAFeedError": "feeds",
    "ParsedFeed": "feeds",
    "parse_feed": "feeds",
    "fingerprint": "fingerprint",
    "hamming": "fingerprint",
    "is_near_duplicate": "fingerprint",
    "Fetcher": "http",
    "FetchError": "http",
    "FetchResult": "http",
    "OpmlOutline": "opml",
    "export_opml": "opml",
    "parse_opml": "opml",
    "find_article_links": "pages",
    "find_feed_links": "pages",
    "UnsafeURLError": "ssrf",
    "check_url": "ssrf",
    "is_public_ip": "ssrf",
    "canonical_from_html": "urls",
    "canonicalize_url": "urls",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
