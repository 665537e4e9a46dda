"""What a page says about itself: metadata and the parts opinion pages mark up.

One read-only pass over the parsed tree (the same tree trafilatura later extracts the body
from) collects title, dek, authors, dates, outlet, language, canonical URL, pull quotes, the
author's bio and the outlet's disclaimer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from lxml import etree
from lxml import html as lxml_html

from .dates import date_precision, parse_date
from .endmatter import is_disclaimer, looks_like_bio
from .names import byline_authors, dedupe_names, is_person_name, split_authors
from .text import tidy, word_count


@dataclass
class PageFacts:
    title: str | None = None
    h1: str | None = None
    html_title: str | None = None
    description: str | None = None
    dek: str | None = None
    dek_strong: bool = False  # marked up as a standfirst/dek, not merely "intro"/"summary"
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    outlet: str | None = None
    language: str | None = None
    canonical: str | None = None
    pull_quotes: list[str] = field(default_factory=list)
    bio: str | None = None
    disclaimer: str | None = None


_CLASS_PULL = re.compile(r"pull-?_?quote|pullquote|quote-?pull|blockquote--pull|highlight-?quote")
_CLASS_BIO = re.compile(
    r"(?:author|writer|contributor|columnist)[-_]?(?:bio|info|description|about|details|footer)"
    r"|(?:^|[\s_-])bio(?:$|[\s_-])|about[-_]?the[-_]?author|biography"
)
_CLASS_DISCLAIMER = re.compile(r"disclaimer")
_CLASS_DEK_STRONG = re.compile(
    r"standfirst|(?:^|[\s_-])dek(?:$|[\s_-])|strapline|sub-?title|sub-?head(?:line|ing)?|deck"
    r"|(?:^|\s)(?:lead|lede|summary|excerpt)(?:$|\s)"  # a class of its own, not "lead-image"
)
_CLASS_DEK_WEAK = re.compile(r"(?:article|story|post)[-_]?(?:summary|excerpt|intro|lede)|lead-?in")
_CLASS_BYLINE = re.compile(r"byline|author[-_]?name|(?:^|[\s_-])author(?:$|[\s_-])|contributor")
_CLASS_DATE = re.compile(r"publish|posted|(?:^|[\s_-])date(?:$|[\s_-])|timestamp|dateline")
_PULL, _DISCLAIMER, _BIO, _DEK_STRONG, _DEK_WEAK, _BYLINE, _DATE = (1 << i for i in range(7))
_KINDS = (
    (_PULL, _CLASS_PULL),
    (_DISCLAIMER, _CLASS_DISCLAIMER),
    (_BIO, _CLASS_BIO),
    (_DEK_STRONG, _CLASS_DEK_STRONG),
    (_DEK_WEAK, _CLASS_DEK_WEAK),
    (_BYLINE, _CLASS_BYLINE),
    (_DATE, _CLASS_DATE),
)
# A word every pattern above needs: literal alternatives scan several times faster than the
# patterns themselves joined, and rule out nearly every class string on the page.
_ANY_KIND = re.compile(
    r"quote|disclaimer|bio|author|writer|contributor|columnist|standfirst|dek|strapline|"
    r"sub-?(?:title|head)|deck|summary|excerpt|intro|lede|lead|byline|publish|posted|date|"
    r"timestamp"
)
_DEK_TAGS = ("p", "h2", "div", "span", "h3")


@lru_cache(maxsize=16384)
def _class_kinds(value: str) -> int:
    """Which opinion parts a class or id names, as bit flags.

    Pages repeat the same class strings hundreds of times (and sites repeat them across pages):
    testing each distinct string once was the largest cut in this module's time.
    """
    if len(value) < 3:
        return 0
    value = value.casefold()
    if _ANY_KIND.search(value) is None:
        return 0  # most class strings: one regex instead of seven
    return sum(flag for flag, pattern in _KINDS if pattern.search(value))


_HINTS = ("isclaimer", "xpressed", "ecessarily", "تعبر", "يعبر", "engagent")
_BODY = etree.XPath("//body")


@lru_cache(maxsize=64)
def _disclaimer_text(hints: tuple[str, ...]) -> etree.XPath:
    """The body's text nodes holding one of ``hints`` (only those the page's text contains)."""
    return etree.XPath("//body//text()[" + " or ".join(f"contains(., '{h}')" for h in hints) + "]")


_HINTS_BY_LANGUAGE = {"ar": ("تعبر", "يعبر"), "fr": ("engagent",)}
_HINTS_ANY_LANGUAGE = ("isclaimer", "xpressed", "ecessarily")  # English formulas appear anywhere


def _body_hints(tree: lxml_html.HtmlElement, language: str | None) -> tuple[str, ...]:
    # The body's text, serialised by libxml2, is a fraction of the page's markup: scanning it is
    # several times cheaper than scanning the raw HTML (and sees entities decoded).
    bodies = _BODY(tree)
    if not bodies:
        return ()
    text = etree.tostring(bodies[0], method="text", encoding="unicode")
    code = (language or "").replace("_", "-").split("-")[0].casefold()
    hints = (
        _HINTS_ANY_LANGUAGE + _HINTS_BY_LANGUAGE.get(code, ())
        if code and re.fullmatch(r"[a-z]{2,3}", code)
        else _HINTS  # no stated language: every formula
    )
    return tuple(h for h in hints if h in text)


def clear_caches() -> None:
    """Forget what earlier pages taught this module's caches."""
    _class_kinds.cache_clear()
    _disclaimer_text.cache_clear()


_LATIN = re.compile(r"[A-Za-z]")
# In order of preference: the first that parses wins. (A set here made the date depend on the
# process's string hashing when a page's tags disagree, e.g. a date-only "date" tag.)
_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "dc.date",
    "date",
)
_AUTHOR_META = {"author", "article:author", "dc.creator", "sailthru.author", "parsely-author"}
_USED_META = {
    "og:title", "twitter:title", "og:site_name", "application-name", "og:description",
    "description", "twitter:description", "og:locale", "og:url", *_DATE_META, *_AUTHOR_META,
}  # fmt: skip
_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|Opinion|Review|Blog", re.IGNORECASE)


def _text(el: lxml_html.HtmlElement, skip: tuple[str, ...] = ()) -> str:
    parts: list[str] = []

    def walk(node: lxml_html.HtmlElement) -> None:
        if not isinstance(node.tag, str):
            if node.tail:
                parts.append(node.tail)
            return
        if node.tag in skip or node.tag in ("script", "style", "noscript"):
            if node is not el and node.tail:
                parts.append(node.tail)
            return
        if node.tag in ("p", "br", "div", "li") and parts:
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node is not el and node.tail:
            parts.append(node.tail)

    walk(el)
    return "\n".join(tidy(line) for line in "".join(parts).split("\n") if tidy(line))


def _classes(el: lxml_html.HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}".casefold()


def _json_ld(tree: lxml_html.HtmlElement) -> Iterator[dict]:
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.append(item["@graph"])
                kind = item.get("@type")
                kinds = kind if isinstance(kind, list) else [kind]
                if any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kinds):
                    yield item


def _ld_names(value: object) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            out.extend(split_authors(item) or ([item] if is_person_name(item) else []))
    return out


def read_page(tree: lxml_html.HtmlElement, may_have_disclaimer: bool = True) -> PageFacts:
    """Collect metadata and marked-up opinion parts without changing the tree."""
    facts = PageFacts()
    meta: dict[str, list[str]] = {}
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").casefold()
        content = el.get("content")
        if key in _USED_META and content and content.strip():
            meta.setdefault(key, []).append(tidy(content))
        if (el.get("http-equiv") or "").casefold() == "content-language" and content:
            meta.setdefault("content-language", []).append(content)

    ld_authors: list[str] = []
    ld_published = None
    for item in _json_ld(tree):
        ld_authors += _ld_names(item.get("author"))
        ld_published = ld_published or (
            item.get("datePublished") if isinstance(item.get("datePublished"), str) else None
        )
        if not facts.title and isinstance(item.get("headline"), str):
            facts.title = tidy(item["headline"])
        publisher = item.get("publisher")
        if (
            not facts.outlet
            and isinstance(publisher, dict)
            and isinstance(publisher.get("name"), str)
        ):
            facts.outlet = tidy(publisher["name"])
        if not facts.language and isinstance(item.get("inLanguage"), str):
            facts.language = item["inLanguage"]

    facts.title = (meta.get("og:title") or meta.get("twitter:title") or [facts.title])[0]
    facts.outlet = (meta.get("og:site_name") or meta.get("application-name") or [facts.outlet])[0]
    facts.description = (
        meta.get("og:description") or meta.get("description") or meta.get("twitter:description")
    )
    facts.description = facts.description[0] if facts.description else None
    title_el = tree.find(".//title")
    if title_el is not None and title_el.text:
        facts.html_title = tidy(title_el.text)

    lang = tree.get("lang") or tree.get("xml:lang")
    facts.language = (
        lang or (meta.get("content-language") or [None])[0] or facts.language
        or (meta.get("og:locale") or [None])[0]
    )  # fmt: skip

    for el in tree.iterfind(".//link"):
        if (el.get("rel") or "").casefold() == "canonical" and el.get("href"):
            facts.canonical = el.get("href").strip()
            break
    if not facts.canonical and meta.get("og:url"):
        facts.canonical = meta["og:url"][0]

    # Dates: only what the page states in its markup.
    # The most precise stamp the tags state (a zone, then a time), in the tags' order of
    # preference: a zoneless or date-only tag must not override one that states its zone.
    stamps = [
        stated
        for key in _DATE_META
        for value in meta.get(key, ())
        if (stated := date_precision(value))
    ]
    if ld_published and (stated := date_precision(ld_published)):
        stamps.append(stated)
    if stamps:
        facts.published = max(stamps, key=lambda s: s[1])[0]  # max keeps the first of equals

    byline: list[str] = []
    meta_authors = [
        n
        for key in _AUTHOR_META
        for value in meta.get(key, [])
        if not value.startswith("http")
        for n in split_authors(value)
    ]
    pulls: list[str] = []
    bios: list[str] = []
    disclaimers: list[str] = []
    h1 = tree.find(".//h1")
    if h1 is not None:
        facts.h1 = tidy(h1.text_content()) or None
    for el in tree.iter(tag=etree.Element):
        get = el.get
        kinds = _class_kinds(get("class", "")) | _class_kinds(get("id", ""))
        itemprop = get("itemprop")
        if itemprop is not None or el.tag == "time" or get("rel") == "author":
            if facts.published is None and (
                itemprop == "datePublished" or el.tag == "time" and get("pubdate") is not None
            ):
                facts.published = parse_date(
                    get("datetime") or get("content") or el.text_content()[:80]
                )
            if itemprop == "author" or get("rel") == "author":
                text = el.text_content()[:200]
                byline += byline_authors(text) or split_authors(text)
        if not kinds:
            continue
        tag = el.tag
        if tag in ("body", "html", "main"):
            continue
        if kinds & _PULL:
            quote = _text(el, skip=("cite", "footer", "figcaption"))
            if quote and 4 <= word_count(quote) <= 120:
                pulls.append(quote)
        elif kinds & _DISCLAIMER:
            disclaimers.append(tidy(el.text_content())[:1000])
        elif kinds & _BIO:
            bio = tidy(_text(el, skip=("h2", "h3", "h4", "img")).replace("\n", " "))
            if 4 <= word_count(bio) and len(bio) <= 2000:
                bios.append(bio)
        elif facts.dek is None and kinds & (_DEK_STRONG | _DEK_WEAK) and tag in _DEK_TAGS:
            dek = tidy(el.text_content()[:1000])
            if 4 <= word_count(dek) <= 80:
                facts.dek = dek
                facts.dek_strong = bool(kinds & _DEK_STRONG)
        elif kinds & _BYLINE and tag not in ("article", "section"):
            text = el.text_content()
            if len(text) <= 200:
                names = byline_authors(text)
                if not names and not _LATIN.search(text) and word_count(text) <= 6:
                    names = split_authors(text)  # Arabic and other non-Latin bylines
                byline += names
        if facts.published is None and kinds & _DATE:
            stamp = get("datetime") or get("content") or el.text_content()[:100]
            if stamp and len(stamp.strip()) <= 80:
                facts.published = parse_date(stamp)
    if facts.published is None:
        for el in tree.iterfind(".//article//time[@datetime]"):
            facts.published = parse_date(el.get("datetime"))
            if facts.published:
                break

    facts.authors = dedupe_names(ld_authors or byline or meta_authors)
    facts.pull_quotes = pulls
    bios = [b for b in bios if looks_like_bio(b, facts.authors) or word_count(b) >= 15]
    facts.bio = max(bios, key=len) if bios else None
    # Only the formula: elements marked "disclaimer" also hold affiliate and copyright notes.
    facts.disclaimer = next(
        (d for d in disclaimers if is_disclaimer(d) and word_count(d) >= 5), None
    )  # (a lone "Disclaimer" is a footer link)
    hints = (
        _body_hints(tree, facts.language)
        if facts.disclaimer is None and may_have_disclaimer
        else ()
    )
    if hints:
        # Unmarked disclaimer: a short element carrying the formula.
        for node in _disclaimer_text(hints)(tree):
            el = node.getparent()
            while el is not None and el.tag in ("b", "strong", "em", "i", "a", "span", "small"):
                if len(el.text_content()) > 400 or el.getparent() is None:
                    break
                el = el.getparent()
            text = tidy(el.text_content()) if el is not None else ""
            if len(text) <= 600 and is_disclaimer(text):
                facts.disclaimer = text
                break
    return facts
