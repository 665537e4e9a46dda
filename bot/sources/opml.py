"""OPML import and export of sources."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from bot.types import SourceKind

# Our own attribute, so a listing page (no feed) survives an export/import round trip.
KIND_ATTR = "commentaryKind"
INTERVAL_ATTR = "commentaryInterval"  # seconds
SELECTOR_ATTR = "commentarySelector"


@dataclass
class OpmlOutline:
    name: str
    url: str
    kind: SourceKind = "feed"
    html_url: str | None = None
    interval_seconds: int | None = None
    selector: str | None = None


def _attr(node: ET.Element, name: str) -> str | None:
    """OPML attribute names are camelCase by spec but exporters vary in case."""
    wanted = name.lower()
    for key, value in node.attrib.items():
        if key.lower() == wanted:
            return value.strip() or None
    return None


def parse_opml(content: bytes) -> list[OpmlOutline]:
    """Flatten the outlines of an OPML file that have an ``xmlUrl``; ValueError when malformed."""
    if not content or not content.strip():
        raise ValueError("the OPML file is empty")
    try:
        root = SafeET.fromstring(content, forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException as exc:
        raise ValueError("the OPML file declares XML entities (refused for safety)") from exc
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise ValueError(f"not valid OPML: XML error at line {line}, column {column}") from exc
    tag = root.tag.rsplit("}", 1)[-1].lower()
    if tag != "opml":
        raise ValueError(f"not an OPML file (the root element is <{tag}>)")
    body = next((child for child in root if child.tag.rsplit("}", 1)[-1].lower() == "body"), None)
    if body is None:
        raise ValueError("not valid OPML: there is no <body>")
    found: list[OpmlOutline] = []
    seen: set[str] = set()
    for node in body.iter():
        if node.tag.rsplit("}", 1)[-1].lower() != "outline":
            continue
        url = _attr(node, "xmlUrl")
        if not url or urlsplit(url).scheme.lower() not in ("http", "https") or url in seen:
            continue  # folders have no xmlUrl; other schemes are never fetched from user input
        seen.add(url)
        name = _attr(node, "text") or _attr(node, "title") or urlsplit(url).hostname or url
        kind: SourceKind = "page" if (_attr(node, KIND_ATTR) or "").lower() == "page" else "feed"
        interval = _attr(node, INTERVAL_ATTR)
        found.append(
            OpmlOutline(
                name=name,
                url=url,
                kind=kind,
                html_url=_attr(node, "htmlUrl"),
                interval_seconds=int(interval) if interval and interval.isdigit() else None,
                selector=_attr(node, SELECTOR_ATTR),
            )
        )
    return found


def export_opml(
    items: list[tuple[str, str, SourceKind]] | list[OpmlOutline],
    title: str = "commentary-bot sources",
) -> str:
    """OPML 2.0 text for outlines (or ``(name, url, kind)`` triples).

    Interval and selector travel in our own attributes; other readers ignore them.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for item in items:
        outline = item if isinstance(item, OpmlOutline) else OpmlOutline(*item)
        name, url, kind = outline.name, outline.url, outline.kind
        attrs = {"text": name, "title": name, "xmlUrl": url}
        if outline.interval_seconds:
            attrs[INTERVAL_ATTR] = str(outline.interval_seconds)
        if outline.selector:
            attrs[SELECTOR_ATTR] = outline.selector
        if kind == "page":
            attrs["type"] = "link"
            attrs[KIND_ATTR] = "page"
        else:
            attrs["type"] = "rss"
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
