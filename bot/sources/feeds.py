"""Parse RSS / RDF / Atom (feedparser) and JSON Feed into plain entries."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html as html_lib
import io
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXException

from lxml import etree
from lxml import html as lxml_html

from bot.errors import BotError
from bot.sources.urls import canonicalize_url

log = logging.getLogger(__name__)

# Entries read from one feed (in document order, newest first in nearly every feed): a feed
# of 95,000 items is not converted, keyed and looked up whole on every round.
MAX_ENTRIES = 500
FULL_TEXT_CHARS = 1500
FULL_TEXT_PARAGRAPHS = 5
SUMMARY_MAX_CHARS = 1000

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)
_HTML_ANYWHERE = re.compile(rb"<(html|body|head|div|a\s+href|p)[\s>]", re.I)
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(rss|feed|RDF|channel)[\s>]", re.I)
_XML_PROLOG = re.compile(rb"^\s*(<\?xml[^>]*\?>|<!--.*?-->|<\?xml-stylesheet[^>]*\?>)", re.S)
_PARAGRAPH = re.compile(r"<p[\s>]", re.I)
_SPACES = re.compile(r"\s+")


class FeedError(BotError, ValueError):
    """The content is not a usable feed; the message is safe to show users."""


class NotAFeedError(FeedError):
    """The content is an HTML page: the caller may treat the URL as a listing page."""


@dataclass
class FeedEntry:
    url: str | None
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None
    authors: list[str] = field(default_factory=list)
    summary: str | None = None
    content_html: str | None = None
    content_is_full: bool = False
    outlet: str | None = None  # RSS <source> / Atom <source> title: the original publication


@dataclass
class EntryProblem:
    """An entry of a feed or listing that could not be read; the others are unaffected."""

    key: str  # stable across rounds while the raw entry is unchanged
    label: str  # what an operator recognises: its link, id or title as written
    error: str


@dataclass
class ParsedFeed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    kind: str  # "rss" | "atom" | "rdf" | "json"
    problems: list[EntryProblem] = field(default_factory=list)


def problem_for(raw: Any, exc: BaseException) -> EntryProblem:
    """Describe a raw entry (feedparser dict, JSON item, link) that raised while being read."""
    if isinstance(raw, dict):
        parts = [raw.get(k) for k in ("id", "guid", "link", "url", "title")]
    else:
        parts = [raw]
    label = next((str(p) for p in parts if isinstance(p, (str, int)) and str(p).strip()), "")
    digest = hashlib.blake2b(repr(parts).encode("utf-8", "backslashreplace"), digest_size=12)
    error = str(exc) or exc.__class__.__name__
    return EntryProblem("bad:" + digest.hexdigest(), label[:300] or "(an entry)", error[:300])


def entry_to_json(entry: FeedEntry) -> str:
    """The entry as JSON text (kept to retry a failed entry when the feed is not re-sent)."""
    data = asdict(entry)
    data["published"] = entry.published.isoformat() if entry.published else None
    return json.dumps(data)


def entry_from_json(text: str) -> FeedEntry:
    data = json.loads(text)
    published = data.get("published")
    data["published"] = datetime.fromisoformat(published) if published else None
    return FeedEntry(**data)


def _to_utf8(content: bytes) -> bytes:
    """Best-effort view of the head for sniffing: UTF-16/32 feeds are re-encoded."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if content.startswith(bom):
            return content.decode(codec, errors="replace").encode("utf-8")
    if content[:4] in (b"\x00\x00\x00<", b"<\x00\x00\x00"):
        codec = "utf-32-be" if content[0] == 0 else "utf-32-le"
        return content.decode(codec, errors="replace").encode("utf-8")
    if len(content) >= 2 and (content[0] == 0) != (content[1] == 0):
        # BOM-less UTF-16: "<" next to a NUL byte.
        codec = "utf-16-be" if content[0] == 0 else "utf-16-le"
        return content.decode(codec, errors="replace").encode("utf-8")
    return content.removeprefix(codecs.BOM_UTF8)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _SPACES.sub(" ", fragment).strip()
    try:
        node = lxml_html.fragment_fromstring(fragment, create_parent="div")
        for bad in node.xpath(".//script|.//style"):
            bad.drop_tree()
        text = node.text_content()
    except (etree.ParserError, ValueError):
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return _SPACES.sub(" ", text).strip()


def looks_full(content_html: str | None, text: str | None = None) -> bool:
    """Heuristic: is this content the whole article rather than a teaser?"""
    if not content_html:
        return False
    if len(_PARAGRAPH.findall(content_html)) >= FULL_TEXT_PARAGRAPHS:
        return True
    text = html_to_text(content_html) if text is None else text
    return len(text) >= FULL_TEXT_CHARS


def _shorten(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.- ") + "…"


def _clean_date(dt: datetime | None, now: datetime) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no date rather than no entry
        return None
    # Scheduled/misdated items would otherwise sort above everything for days.
    return min(dt, now)


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _http_url(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    absolute = urljoin(base, value.strip())
    if urlsplit(absolute).scheme.lower() not in ("http", "https"):
        return None
    return absolute


def _dedupe_names(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        name = _SPACES.sub(" ", html_lib.unescape(name or "")).strip()
        if name and name.lower() not in (n.lower() for n in out):
            out.append(name)
    return out


def _check_entities(content: bytes, headers: dict[str, str]) -> None:
    """Refuse DTDs that declare entities (billion laughs, external entities) before parsing.

    The check reads the very bytes feedparser will parse: feedparser first converts the feed
    to UTF-8 from whatever it declares (UTF-7, EBCDIC, ...), where "<!ENTITY" may not be
    spelled in ASCII at all.
    """
    _scan_prolog(_to_utf8(content))
    try:
        from feedparser.encodings import convert_to_utf8

        converted = convert_to_utf8(dict(headers), content, {})
    except (LookupError, ValueError, TypeError):
        return  # feedparser would fail the same way: nothing gets expanded
    _scan_prolog(converted)


def _scan_prolog(doc: bytes) -> None:
    """Scan the prolog only (up to the root element) in one linear pass, skipping comments and
    processing instructions: article text that mentions "<!ENTITY" is not refused."""
    pos, end = 0, len(doc)
    while pos < end:
        lt = doc.find(b"<", pos)
        if lt < 0 or lt + 1 >= end:
            return
        nxt = doc[lt + 1 : lt + 2]
        if doc.startswith(b"<!--", lt):
            close = doc.find(b"-->", lt + 4)
            pos = end if close < 0 else close + 3
        elif nxt == b"?":
            close = doc.find(b"?>", lt + 2)
            pos = end if close < 0 else close + 2
        elif nxt == b"!":
            if doc[lt + 2 : lt + 8].upper() == b"ENTITY":
                raise FeedError("the feed declares XML entities, which is refused for safety")
            pos = lt + 2
        elif nxt.isalpha() or nxt in (b"_", b":"):
            return  # the root element: the DTD is behind us
        else:
            pos = lt + 1


def _looks_like_html(content: bytes) -> bool:
    head = _to_utf8(content[:4096])
    while True:
        m = _XML_PROLOG.match(head)
        if not m:
            break
        head = head[m.end() :]
    if _HTML_START.match(head):
        return True
    return False


def _dedupe(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    out: list[FeedEntry] = []
    for entry in entries:
        keys = set()
        if entry.guid:
            keys.add("guid:" + entry.guid)
        if entry.url:
            keys.add("url:" + canonicalize_url(entry.url))
        if not keys:
            keys.add("title:" + (entry.title or ""))
        if keys & seen:
            continue
        seen |= keys
        out.append(entry)
    return out


def parse_feed(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes; raise FeedError (NotAFeedError for HTML) when there is no feed."""
    if not content or not content.strip():
        raise FeedError("the feed is empty (no content)")
    stripped = _to_utf8(content[:64]).lstrip()
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    json_typed = mime.endswith("json") and not stripped.startswith(b"<")
    if stripped.startswith((b"{", b"[")) or json_typed:
        return _parse_json_feed(content, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    _check_entities(content, headers)
    is_html = _looks_like_html(content)
    if is_html and not _FEED_ROOT.search(_to_utf8(content[:8192])):
        raise NotAFeedError("this is an HTML page, not a feed")
    # Always a stream: given a str feedparser fetches URLs, and given bytes it first tries
    # open(content) - a body of "/etc/hostname" would be read from our own disk.
    import feedparser  # here, not at start-up: it is a large import the terminal chat skips

    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=True)
    version = parsed.get("version") or ""
    entries_raw = parsed.get("entries") or []
    if is_html and not entries_raw:
        raise NotAFeedError("this is an HTML page, not a feed")
    if not version and not entries_raw:
        if _HTML_ANYWHERE.search(_to_utf8(content[:8192])):
            raise NotAFeedError("this is an HTML page, not a feed")
        if isinstance(parsed.get("bozo_exception"), SAXException):
            raise FeedError("not a feed: the XML is broken and has no entries")
        raise FeedError("not an RSS, Atom or JSON feed")
    if parsed.get("bozo"):
        log.info(
            "feed %s is malformed (%s); kept %d entries",
            url.split("?", 1)[0],  # query strings of private feeds can hold keys
            type(parsed.get("bozo_exception")).__name__,
            len(entries_raw),
        )
    if version.startswith("atom"):
        kind = "atom"
    elif version in ("rss10", "rss090"):
        kind = "rdf"
    else:
        kind = "rss"
    now = datetime.now(UTC)
    feed = parsed.get("feed") or {}
    link = _http_url(feed.get("link"), url)
    entries: list[FeedEntry] = []
    problems: list[EntryProblem] = []
    for raw in entries_raw[:MAX_ENTRIES]:
        try:  # one entry that cannot be read never costs the others
            entry = _checked(_entry_from_feedparser(raw, url, now))
        except Exception as exc:  # noqa: BLE001 - reported per entry by the poller
            problems.append(problem_for(raw, exc))
            continue
        if entry.url or entry.guid or entry.title or entry.content_html or entry.summary:
            entries.append(entry)
    if not entries and isinstance(parsed.get("bozo_exception"), SAXException):
        # Broken XML read "successfully" into nothing usable: a failure, not an empty feed.
        raise FeedError("the feed is malformed XML and has no usable entries")
    title = html_to_text(feed.get("title") or "") or None
    return ParsedFeed(title, link, _dedupe(entries), kind, problems)


def _checked(entry: FeedEntry) -> FeedEntry:
    """Raise now, inside the entry's own guard, for a link later steps could not handle."""
    if entry.url:
        canonicalize_url(entry.url)
    return entry


def _pick_content(entry: Any) -> str | None:
    contents = entry.get("content") or []
    html_parts = [c for c in contents if "html" in (c.get("type") or "")]
    chosen = html_parts or contents
    if chosen:
        value = chosen[0].get("value")
        if value and "html" not in (chosen[0].get("type") or "html"):
            value = "".join(
                f"<p>{html_lib.escape(p.strip())}</p>" for p in value.split("\n\n") if p.strip()
            )
        return value or None
    return None


def _entry_from_feedparser(entry: Any, feed_url: str, now: datetime) -> FeedEntry:
    link = _http_url(entry.get("link"), feed_url)
    guid = entry.get("id") or None
    if isinstance(guid, str):
        guid = guid.strip() or None
    if link is None and guid and guid.startswith(("http://", "https://")):
        link = guid  # RSS guid isPermaLink / Atom id used as the only link
    title_detail = entry.get("title_detail") or {}
    raw_title = entry.get("title") or ""
    if "html" in (title_detail.get("type") or ""):
        raw_title = html_to_text(raw_title)
    title = _SPACES.sub(" ", raw_title).strip() or None
    # dict.get skips feedparser's deprecated updated->published key mapping (and its warning).
    published = _struct_to_dt(dict.get(entry, "published_parsed")) or _struct_to_dt(
        dict.get(entry, "updated_parsed")
    )
    names = [a.get("name") or "" for a in entry.get("authors") or [] if isinstance(a, dict)]
    if not any(names) and entry.get("author"):
        names = [entry.get("author")]
    content_html = _pick_content(entry)
    summary_html = entry.get("summary") or None
    summary_full = html_to_text(summary_html) if summary_html else ""  # parsed once, used thrice
    summary_text = summary_full
    if content_html is None and summary_html and looks_full(summary_html, summary_full):
        content_html = summary_html  # RSS feeds often put the whole article in <description>
    if content_html and summary_html and summary_html.strip() == content_html.strip():
        # feedparser copies Atom content into summary when there is none; a teaser is shorter.
        summary_text = _shorten(summary_text)
    return FeedEntry(
        url=link,
        guid=guid,
        title=title,
        published=_clean_date(published, now),
        authors=_dedupe_names(names),
        summary=_shorten(summary_text) or None,
        content_html=content_html,
        content_is_full=looks_full(
            content_html, summary_full if content_html is summary_html else None
        ),
        outlet=_entry_outlet(entry),
    )


def _entry_outlet(entry: Any) -> str | None:
    source = entry.get("source")
    if isinstance(source, dict):
        title = html_to_text(source.get("title") or "").strip()
        return title or None
    return None


def _parse_json_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        pass
    # Odd formats (RFC 822 etc.): feedparser knows many of them.
    from feedparser.datetimes import _parse_date as _fp_parse_date

    parsed = _fp_parse_date(text)
    return _struct_to_dt(parsed)


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(content.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise FeedError("the JSON feed is not valid JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedError("not a JSON Feed (no items list)")
    version = data.get("version")
    if version is not None and not (isinstance(version, str) and "jsonfeed.org" in version):
        raise FeedError("not a JSON Feed (unknown version)")
    now = datetime.now(UTC)
    base = _http_url(data.get("home_page_url"), url)
    feed_authors = _json_authors(data)
    entries: list[FeedEntry] = []
    problems: list[EntryProblem] = []
    for item in data["items"][:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        try:  # one entry that cannot be read never costs the others
            entries.append(_checked(_json_entry(item, url, now, feed_authors)))
        except Exception as exc:  # noqa: BLE001 - reported per entry by the poller
            problems.append(problem_for(item, exc))
    entries = [e for e in entries if e.url or e.guid or e.title]
    return ParsedFeed(_str(data, "title"), base, _dedupe(entries), "json", problems)


def _json_entry(
    item: dict[str, Any], url: str, now: datetime, feed_authors: list[str]
) -> FeedEntry:
    """One JSON Feed item (raises on data no entry can be made of)."""
    link = _http_url(item.get("url"), url) or _http_url(item.get("external_url"), url)
    raw_id = item.get("id")
    guid = str(raw_id).strip() or None if isinstance(raw_id, (str, int, float)) else None
    title = _str(item, "title")
    content_html = _str(item, "content_html")
    text = _str(item, "content_text")
    if not content_html and text:
        content_html = "".join(
            f"<p>{html_lib.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip()
        )
    summary = _str(item, "summary")
    published = _parse_json_date(item.get("date_published")) or _parse_json_date(
        item.get("date_modified")
    )
    return FeedEntry(
        url=link,
        guid=guid,
        title=_SPACES.sub(" ", title).strip() or None if title else None,
        published=_clean_date(published, now),
        authors=_json_authors(item) or feed_authors,
        summary=_shorten(html_to_text(summary)) if summary else None,
        content_html=content_html or None,
        content_is_full=looks_full(content_html),
    )


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _json_authors(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj.get("author")] if obj.get("author") else []
    names = [str(a["name"]) for a in raw if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return _dedupe_names(names)
