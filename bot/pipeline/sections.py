"""Where the page files itself: its section, breadcrumb trail and schema.org type.

Outlets label opinion in their own markup: an ``article:section`` meta tag ("Opinion",
"Comment"), JSON-LD ``articleSection``, ``genre`` or an ``OpinionNewsArticle`` type, a
``BreadcrumbList`` or a breadcrumb ``nav`` ("Home › Opinion › Columnists"). These labels are the
page's own word on what it is, so the summarizer's genre test reads them beside the URL path.
Only generic markup is read (no outlet's names); each label is short text, at most a few.
"""

from __future__ import annotations

import json
import re

from lxml import etree
from lxml import html as lxml_html

from .text import tidy

# Meta names that hold the page's section (Open Graph article, Dublin Core-like and the
# analytics tags publishing systems add).
_SECTION_META = frozenset(
    {
        "article:section",
        "og:article:section",
        "section",
        "article-section",
        "articlesection",
        "parsely-section",
        "dc.type",
        "category",
    }
)
_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|Opinion|Review|Blog|WebPage")
_MAX_LABEL = 60
_MAX_LABELS = 12
_MARKS = ("class", "id", "aria-label")
# A trail is a few links (Home › Opinion › Columnists). More is a site menu that a theme marks up
# near its breadcrumbs (a "breadcrumbnav" bar listing every section, or a body class such as
# "breadcrumbs-hidden"): read as a trail, it files every page of the site under each section.
_MAX_TRAIL_LINKS = 7


def _breadcrumbs(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Breadcrumb trails by their usual markup (a class, id or aria-label naming them, or
    schema.org microdata), in document order, at most three.

    A loop over the elements with a substring test: XPath's translate() on every attribute of
    every element (for a case-blind match) took a tenth of the extraction's time.
    """
    found: list[lxml_html.HtmlElement] = []
    for el in tree.iter(etree.Element):
        get = el.get
        for name in _MARKS:
            value = get(name)
            if value and ("rumb" in value or "RUMB" in value) and "breadcrumb" in value.lower():
                break
        else:
            kind = get("itemtype")
            if not kind or "BreadcrumbList" not in kind:
                continue
        found.append(el)
        if len(found) == 3:
            break
    return found


def _name(item: object) -> object:
    """A label's text: a string, or the name of a schema.org ListItem (or of its ``item``)."""
    if isinstance(item, dict):
        inner = item.get("item")
        return item.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return item


def _add(labels: list[str], value: object) -> None:
    items = value if isinstance(value, list) else [value]
    for item in map(_name, items):
        if not isinstance(item, str):
            continue
        text = tidy(item)
        if text and len(text) <= _MAX_LABEL and text not in labels and len(labels) < _MAX_LABELS:
            labels.append(text)


def _json_ld_labels(tree: lxml_html.HtmlElement, labels: list[str]) -> None:
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        article_seen = False
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
                continue
            if not isinstance(item, dict):
                continue
            if "@graph" in item:
                stack.append(item["@graph"])
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "BreadcrumbList" in kinds:
                _add(labels, item.get("itemListElement"))
                continue
            names = [k for k in kinds if isinstance(k, str)]
            # The page's own article (the first one): not the related stories a page lists.
            if article_seen or not any(_ARTICLE_TYPES.search(k) for k in names):
                continue
            article_seen = True
            _add(labels, [k for k in names if "Opinion" in k])  # OpinionNewsArticle
            _add(labels, item.get("articleSection"))
            _add(labels, item.get("genre"))


def _breadcrumb_labels(tree: lxml_html.HtmlElement, labels: list[str]) -> None:
    for trail in _breadcrumbs(tree):
        if trail.tag in ("html", "body"):
            continue
        links = trail.findall(".//a") or [trail]
        if len(links) > _MAX_TRAIL_LINKS:
            continue
        for link in links:
            _add(labels, link.text_content())


def page_sections(tree: lxml_html.HtmlElement, may_have_breadcrumbs: bool = True) -> list[str]:
    """The page's own section labels, in the order found (meta, JSON-LD, breadcrumbs).

    ``may_have_breadcrumbs``: False when the page's markup holds no "rumb" or "RUMB" at all
    (the caller has the markup: a substring test there spares a walk over every element).
    """
    labels: list[str] = []
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").casefold()
        if key in _SECTION_META:
            _add(labels, el.get("content"))
    _json_ld_labels(tree, labels)
    if may_have_breadcrumbs:
        _breadcrumb_labels(tree, labels)
    return labels
