"""URL canonicalization, so one article reached by different links is stored once."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:  # lxml loads when a page is parsed: /why only canonicalizes (start-up)
    from lxml import html as lxml_html

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "ncid",
        "smid",  # nytimes share id
    }
)


def _is_tracking(key: str) -> bool:
    k = key.lower()
    return k.startswith("utm_") or k in _TRACKING_PARAMS


def strip_tracking(url: str) -> str:
    """The URL without utm_* and other tracking parameters; everything else as written."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
    if len(kept) == len(pairs):
        return url
    query = urlencode(kept, quote_via=quote, safe="/:@!$'()*,;")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def canonicalize_url(url: str) -> str:
    """Normalize a URL: lower-case scheme/host; no credentials, default port, fragment or
    tracking params (``user:pass@`` is no part of an article's identity, and URLs get shown)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return url.split("#", 1)[0]
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    # Sorted by key only: the order of repeated keys can matter, so it is kept.
    pairs.sort(key=lambda kv: kv[0])
    query = urlencode(pairs, quote_via=quote, safe="/:@!$'()*,;")
    return urlunsplit((scheme, netloc, path, query, ""))


def piece_url(url: str, source_url: str | None = None) -> str:
    """The canonical URL a piece is stored and shown under, with nothing of the source's secrets.

    A feed URL may carry ``user:pass@`` or a key in its query string; relative links (``""``,
    ``"#x"``) inherit them through urljoin. Query pairs the source URL has are dropped from
    links to the source's own host (canonicalize_url already drops credentials).
    """
    canonical = canonicalize_url(url)
    if not source_url:
        return canonical
    try:
        source, parts = urlsplit(source_url.strip()), urlsplit(canonical)
        secret = set(parse_qsl(source.query, keep_blank_values=True))
        same_host = (source.hostname or "") == (parts.hostname or "")
    except ValueError:
        return canonical
    if not secret or not same_host or not parts.query:
        return canonical
    pairs = [p for p in parse_qsl(parts.query, keep_blank_values=True) if p not in secret]
    query = urlencode(pairs, quote_via=quote, safe="/:@!$'()*,;")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def bare_url(url: str) -> str:
    """Scheme, host, port and path only: what of a source URL may be shown (no keys, no login)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _parse(html: str | bytes) -> lxml_html.HtmlElement | None:
    if isinstance(html, str):
        html = html.encode("utf-8")  # lxml refuses str with an encoding declaration
    if not html.strip():
        return None
    from lxml import html as lxml_html

    try:
        return lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return None


def document_base(doc: lxml_html.HtmlElement, base_url: str) -> str:
    """The base for relative links: ``<base href>`` if present, else ``base_url``."""
    for href in doc.xpath("//base/@href"):
        href = href.strip()
        if href:
            try:
                return urljoin(base_url, href)
            except ValueError:  # a malformed <base>: links resolve against the page itself
                return base_url
    return base_url


def _http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def canonical_from_html(html: str | bytes, base_url: str) -> str | None:
    """The page's own idea of its URL: ``<link rel=canonical>``, else ``og:url``; absolute."""
    doc = _parse(html)
    if doc is None:
        return None
    return canonical_from_tree(doc, base_url)


def canonical_from_tree(doc: lxml_html.HtmlElement, base_url: str) -> str | None:
    """:func:`canonical_from_html` on a page already parsed (extraction parses it once).

    One walk over the page's <link>, <meta> and <base> elements (lxml filters the tags in C):
    a page has thousands of elements and only these can say where it lives.
    """
    base_href: str | None = None
    canonical: list[str] = []
    og_urls: list[str] = []
    for el in doc.iter("link", "meta", "base"):
        tag = el.tag
        if tag == "link":
            if "canonical" in (el.get("rel") or "").lower().split():
                canonical.append(el.get("href") or "")
        elif tag == "meta":
            if el.get("property") == "og:url" or el.get("name") == "og:url":
                og_urls.append(el.get("content") or "")
        elif base_href is None and (el.get("href") or "").strip():
            base_href = (el.get("href") or "").strip()
    base = base_url
    if base_href:
        try:
            base = urljoin(base_url, base_href)
        except ValueError:  # a malformed <base>: links resolve against the page itself
            base = base_url
    base_path = urlsplit(base_url).path or "/"
    for href in canonical + og_urls:
        href = href.strip()
        if not href:
            continue
        try:
            absolute = urljoin(base, href)
            if not _http(absolute):
                continue
        except ValueError:  # a malformed canonical (bad IPv6 host): the page's URL stands
            continue
        # Misconfigured templates point every article's canonical at the home page.
        if (urlsplit(absolute).path or "/") == "/" and base_path != "/":
            continue
        return absolute
    return None
