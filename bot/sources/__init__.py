"""Network and source layer: fetch, guard, parse feeds and pages, canonical URLs, fingerprints.

Pure building blocks without storage; the poller composes them.
"""

from bot.sources.feeds import FeedEntry, FeedError, NotAFeedError, ParsedFeed, parse_feed
from bot.sources.fingerprint import fingerprint, hamming, is_near_duplicate
from bot.sources.http import Fetcher, FetchError, FetchResult
from bot.sources.opml import OpmlOutline, export_opml, parse_opml
from bot.sources.pages import find_article_links, find_feed_links
from bot.sources.ssrf import UnsafeURLError, check_url, is_public_ip
from bot.sources.urls import canonical_from_html, canonicalize_url

__all__ = [
    "FeedEntry",
    "FeedError",
    "Fetcher",
    "FetchError",
    "FetchResult",
    "NotAFeedError",
    "OpmlOutline",
    "ParsedFeed",
    "UnsafeURLError",
    "canonical_from_html",
    "canonicalize_url",
    "check_url",
    "export_opml",
    "find_article_links",
    "find_feed_links",
    "fingerprint",
    "hamming",
    "is_near_duplicate",
    "is_public_ip",
    "parse_feed",
    "parse_opml",
]
