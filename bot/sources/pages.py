"""Read HTML pages: feed autodiscovery and article links of a listing page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from cssselect import SelectorError
from lxml import etree
from lxml import html as lxml_html
from lxml.cssselect import CSSSelector

from bot.sources.feeds import EntryProblem, FeedEntry, problem_for
from bot.sources.urls import canonicalize_url, document_base

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
)
# Path segments that mark section, listing or account pages rather than articles.
_SKIP_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "author",
        "authors",
        "by",
        "people",
        "profile",
        "contributor",
        "contributors",
        "category",
        "categories",
        "section",
        "sections",
        "login",
        "signin",
        "sign-in",
        "logout",
        "register",
        "signup",
        "sign-up",
        "subscribe",
        "subscription",
        "subscriptions",
        "account",
        "search",
        "share",
        "newsletter",
        "newsletters",
        "about",
        "about-us",
        "contact",
        "contact-us",
        "privacy",
        "privacy-policy",
        "terms",
        "terms-of-service",
        "cookies",
        "cookie-policy",
        "feed",
        "feeds",
        "rss",
        "page",
        "archive",
        "archives",
        "help",
        "faq",
        "jobs",
        "careers",
        "advertise",
        "podcasts",
        "video",
        "videos",
        "gallery",
        "events",
        "shop",
        "cdn-cgi",
        "wp-login.php",
    }
)
_OPINION_SEGMENTS = frozenset(
    {
        "opinion",
        "opinions",
        "views",
        "view",
        "column",
        "columns",
        "columnists",
        "commentary",
        "comment",
        "comment-is-free",
        "commentisfree",
        "op-ed",
        "op-eds",
        "oped",
        "editorial",
        "editorials",
        "analysis",
        "ideas",
        "perspective",
        "perspectives",
        "voices",
        "blog",
        "blogs",
    }
)
_SKIP_CONTAINERS = ("nav", "footer", "aside", "menu", "form")
_SKIP_ROLES = frozenset({"navigation", "banner", "contentinfo", "menu", "menubar", "search"})
_SKIP_CLASS_TOKENS = frozenset(
    {
        "nav",
        "navbar",
        "navigation",
        "menu",
        "footer",
        "breadcrumb",
        "breadcrumbs",
        "share",
        "sharing",
        "social",
        "pagination",
        "pager",
        "masthead",
        "cookie",
        "cookies",
        "tags",
        "byline",
        "author",
        "topics",
        "skip",
    }
)
_FILE_EXT = re.compile(
    r"\.(jpe?g|png|gif|webp|svg|pdf|zip|mp3|mp4|xml|rss|json|css|js|ico|txt)$", re.I
)
_DATE_IN_PATH = re.compile(r"(?:^|/)(19|20)\d{2}[/-](0?[1-9]|1[0-2])(?:[/-]\d{1,2})?(?:/|$)")
_COMPACT_DATE = re.compile(r"(?:^|[/-])(19|20)\d{2}(0[1-9]|1[0-2])([0-2]\d|3[01])(?:[/-]|$)")
_NUMERIC_ID = re.compile(r"(?:^|[/-])\d{5,}(?:\.html?)?(?:/|$)|[-_.]\d{5,}(?:\.html?)?$")
_SPACES = re.compile(r"\s+")
_CLASS_SPLIT = re.compile(r"[\s_-]+")
_GENERIC_TITLES = frozenset(
    {"read more", "more", "continue reading", "read", "full story", "...", "…", "comments"}
)


def _parse(html: str | bytes) -> lxml_html.HtmlElement | None:
    if isinstance(html, str):
        html = html.encode("utf-8")
    if not html.strip():
        return None
    try:
        return lxml_html.document_fromstring(html)
    except (ValueError, etree.ParserError):
        return None


def _http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def find_feed_links(html: str | bytes, base_url: str) -> list[str]:
    """Feeds a page advertises with ``<link rel="alternate" type=...>``, absolute, page order."""
    doc = _parse(html)
    if doc is None:
        return []
    base = document_base(doc, base_url)
    found: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind not in FEED_TYPES or not href:
            continue
        absolute = urljoin(base, href)
        if _http(absolute) and absolute not in found:
            found.append(absolute)
    return found


def _same_site(host: str, base_host: str) -> bool:
    host = host.lower().removeprefix("www.")
    base_host = base_host.lower().removeprefix("www.")
    return host == base_host or host.endswith("." + base_host) or base_host.endswith("." + host)


def looks_like_article_path(path: str) -> bool:
    """Heuristic: does this URL path look like one article (not a section or a utility page)?"""
    segments = [s for s in path.lower().split("/") if s]
    if not segments or _FILE_EXT.search(segments[-1]) and not segments[-1].endswith(".html"):
        return False
    if any(s in _SKIP_SEGMENTS for s in segments):
        return False
    last = segments[-1].removesuffix(".html").removesuffix(".htm")
    if last in _OPINION_SEGMENTS:
        return False  # the section front itself
    if last.count("-") >= 3 or last.count("_") >= 3:
        return True
    if _DATE_IN_PATH.search(path) or _COMPACT_DATE.search(path) or _NUMERIC_ID.search(path):
        return len(segments) >= 2 or "-" in last
    if any(s in _OPINION_SEGMENTS for s in segments[:-1]):
        return last.count("-") >= 1 and len(last) >= 10
    return False


def _in_chrome(a: lxml_html.HtmlElement) -> bool:
    """True if the link sits in navigation, footer, share bars and similar page furniture."""
    in_article = False
    for node in a.iterancestors():
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "article":
            in_article = True
        if tag in _SKIP_CONTAINERS:
            return True
        if tag == "header" and not in_article and not _has_article_ancestor(node):
            return True
        if (node.get("role") or "").lower() in _SKIP_ROLES:
            return True
        tokens = set(_CLASS_SPLIT.split(f"{node.get('class', '')} {node.get('id', '')}".lower()))
        if tokens & _SKIP_CLASS_TOKENS:
            return True
    return False


def _has_article_ancestor(node: lxml_html.HtmlElement) -> bool:
    return any(getattr(p, "tag", None) == "article" for p in node.iterancestors())


def _link_title(a: lxml_html.HtmlElement) -> str:
    text = _SPACES.sub(" ", a.text_content() or "").strip()
    if not text:
        text = (a.get("title") or a.get("aria-label") or "").strip()
    if not text:
        alts = [img.get("alt", "").strip() for img in a.iter("img")]
        text = next((alt for alt in alts if alt), "")
    return text


def _card_date(a: lxml_html.HtmlElement) -> datetime | None:
    """A ``<time datetime>`` in the link's card (nearest article/li ancestor), if any."""
    for node in a.iterancestors():
        if node.tag in ("article", "li"):
            for value in node.xpath(".//time/@datetime"):
                try:
                    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
                    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
                except (ValueError, OverflowError):  # year 9999 with an offset overflows
                    continue
                return min(dt, datetime.now(UTC))
            return None
        if node.tag in ("body", "main"):
            return None
    return None


def check_selector(selector: str) -> None:
    """ValueError (saying why) when ``selector`` is not a CSS selector lxml can use."""
    try:
        CSSSelector(selector)
    except (SelectorError, etree.XPathError) as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None


def find_article_links(
    html: str | bytes,
    base_url: str,
    selector: str | None = None,
    limit: int = 30,
    problems: list[EntryProblem] | None = None,
) -> list[FeedEntry]:
    """Article links of a listing page, in page order, deduped; ValueError on a bad selector.

    A link that cannot be read (a malformed address) is left out and, when ``problems`` is
    given, described there; the other links are unaffected.
    """
    doc = _parse(html)
    if doc is None:
        return []
    base = document_base(doc, base_url)
    base_host = urlsplit(base).hostname or ""
    if selector:
        try:
            matched = doc.cssselect(selector)
        except (SelectorError, etree.XPathError) as exc:
            raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc
        anchors = []
        for node in matched:
            if node.tag == "a" and node.get("href"):
                anchors.append(node)
            else:
                # The selector matched a card or headline: take its first link.
                inner = (
                    node.xpath(".//a[@href]")
                    or [p for p in node.iterancestors("a") if p.get("href")][:1]
                )
                anchors.extend(inner[:1])
    else:
        anchors = [a for a in doc.iter("a") if a.get("href")]

    entries: list[FeedEntry] = []
    by_url: dict[str, FeedEntry] = {}
    for a in anchors:
        try:
            _add_link(a, base, base_host, selector, limit, entries, by_url)
        except Exception as exc:  # noqa: BLE001 - one bad link never costs the page
            if problems is not None:
                problems.append(problem_for(a.get("href", ""), exc))
    for entry in entries:
        if entry.title and entry.title.lower().strip(" .…›»→") in _GENERIC_TITLES:
            entry.title = None
    return entries


def _add_link(
    a: lxml_html.HtmlElement,
    base: str,
    base_host: str,
    selector: str | None,
    limit: int,
    entries: list[FeedEntry],
    by_url: dict[str, FeedEntry],
) -> None:
    """Add one anchor's article to ``entries`` if it is one (and not a duplicate)."""
    href = a.get("href", "").strip()
    if not href or href.startswith("#"):
        return
    url = urljoin(base, href)
    if not _http(url):
        return
    # Canonical form: the same piece linked with and without utm_* or #comments is one.
    url = canonicalize_url(url)
    title = _link_title(a)
    if url in by_url:
        existing = by_url[url]
        if _better_title(title, existing.title):
            existing.title = title
        return
    if not selector:
        parts = urlsplit(url)
        if not _same_site(parts.hostname or "", base_host):
            return
        if "share" in parts.query.lower() or not looks_like_article_path(parts.path):
            return
        if _in_chrome(a):
            return
    if len(entries) >= limit:
        return  # keep scanning so duplicates further down can still improve titles
    entry = FeedEntry(url=url, title=title or None, published=_card_date(a))
    by_url[url] = entry
    entries.append(entry)


def _better_title(new: str, old: str | None) -> bool:
    if not new or new.lower().strip(" .…›»→") in _GENERIC_TITLES:
        return False
    if not old or old.lower().strip(" .…›»→") in _GENERIC_TITLES:
        return True
    return False
