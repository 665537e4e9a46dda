"""What a page says about itself: metadata and the parts opinion pages mark up.

One read-only pass over the parsed tree (the same tree trafilatura later extracts the body
from) collects title, dek, authors, dates, outlet, language, canonical URL, pull quotes, the
author's bio and the outlet's disclaimer.
"""

from __future__ import annotations

import html
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html
from trafilatura.metadata import (
    METANAME_AUTHOR,
    OG_AUTHOR,
    PROPERTY_AUTHOR,
    Document,
    examine_meta,
    extract_meta_json,
)

from .authors import correct_name, credits_from, may_name_agency
from .dates import date_line, date_precision, parse_date, states_day
from .endmatter import is_disclaimer, looks_like_bio
from .names import (
    BY_PREFIX,
    byline_authors,
    dedupe_names,
    is_person_name,
    is_team_name,
    looks_like_bare_name,
    split_authors,
)
from .text import norm, tidy, word_count
from .titles import headline_text


@dataclass
class PageFacts:
    title: str | None = None
    h1: str | None = None
    html_title: str | None = None
    description: str | None = None
    dek: str | None = None
    dek_strong: bool = False  # marked up as a standfirst/dek, not merely "intro"/"summary"
    authors: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)  # credited news agencies, not writers
    modified_days: set[date] = field(default_factory=set)  # days the page says it was updated
    published: datetime | None = None
    outlet: str | None = None
    language: str | None = None
    canonical: str | None = None
    pull_quotes: list[str] = field(default_factory=list)
    bio: str | None = None
    disclaimer: str | None = None
    visible_text: str | None = None  # the page's visible text, read when a date needs it
    ld_body: str | None = None  # the longest articleBody an article's JSON-LD states, as is


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
_CLASS_BYLINE = re.compile(r"byline|author[-_]?name|(?:^|[\s_-])authors?(?:$|[\s_-])|contributor")
_CLASS_AUTHOR_NAME = re.compile(r"(?:author|byline)[-_]?name", re.IGNORECASE)
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
# Every date pattern parse_date reads states a four-digit year: no year, nothing to parse.
_YEAR = re.compile(r"(?<!\d)(?:19|20|21)\d\d(?!\d)")
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
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "last-modified")
_LABELLED_META = {"twitter:label1", "twitter:data1", "twitter:label2", "twitter:data2"}
_USED_META = {
    "og:title", "twitter:title", "og:site_name", "application-name", "og:description",
    "description", "twitter:description", "og:locale", "og:url", *_DATE_META, *_AUTHOR_META,
    *_MODIFIED_META, *_LABELLED_META,
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


def _json_ld(tree: lxml_html.HtmlElement) -> Iterator[tuple[dict, bool]]:
    """Every schema.org object of the page's JSON-LD, and whether it is an article."""
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.append(item["@graph"])
                kind = item.get("@type")
                kinds = kind if isinstance(kind, list) else [kind]
                yield item, any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kinds)


def plain_text(text: str) -> str | None:
    """A JSON-LD text field as paragraphs of plain text: some sites put markup and entities
    in it."""
    if "<" in text:
        text = _TAG.sub(" ", _BLOCK_TAG.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    return "\n".join(line for raw in text.split("\n") if (line := tidy(raw))) or None


def _ld_raw_names(value: object) -> list[str]:
    """Every name a JSON-LD author field states, people and organisations alike."""
    items = value if isinstance(value, list) else [value]
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    return [name for name in names if isinstance(name, str)]


def _ld_names(value: object) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            out.extend(split_authors(item) or ([item] if is_person_name(item) else []))
    return out


_NEAR_HEADLINE = 60  # elements after the headline where its byline and date sit
_ABOVE_HEADLINE = 8  # elements before it where a kicker line states the date ("May 3, 2024")
_NEAR_ABOVE = 20  # elements before it where an element marked as a date still is its date
_DEK_ABOVE = 12  # elements before the headline where a marked standfirst still is its own
_SUBHEAD_REACH = 4  # an h2 this close after the h1 (in document order) is its subheadline
_DATE_TAGS = frozenset(("span", "div", "p", "time", "small", "li", "em", "strong", "b", "a"))
# Page parts that carry names and dates of other pieces or of readers, never this one's.
# "widget" only as a class of its own ("widget", "widget_recent_posts"): page builders call
# every block of the article a widget ("builder-widget-container").
_FURNITURE = re.compile(
    r"comment|related|sidebar|(?:^|\s)widget|recommend|popular|trending|newsletter|promo|teaser"
    r"|carousel|(?:^|[\s_-])rail(?:$|[\s_-])|more-?(?:from|stories|articles|posts)|read-?next"
    r"|up-?next|footer|respond|reply"
)


_TAG = re.compile(r"<[^>]{0,300}>")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|h[1-6]|li|blockquote)\b[^>]{0,300}>", re.IGNORECASE)
# Classes that describe a wrapper's layout, not what the block is: "has-sidebar", and utility
# classes with a variant or an arbitrary value ("lg:mr-[--sidebar-width]", "[--rail-gap:2rem]").
_LAYOUT_FLAGS = re.compile(r"(?:^|\s)(?:(?:has|no|with|without)[-_]|[^\s:\[]*[:\[])\S*")


def _in_furniture(el: lxml_html.HtmlElement) -> bool:
    """Inside an aside, a navigation bar, or a block whose class names page furniture."""
    node = el
    for _ in range(12):
        # The body's and the root's classes describe the whole site's template ("has-sidebar",
        # "no-sidebar"), never the block a name sits in.
        if node is None or node.tag in ("body", "html"):
            return False
        if node.tag in ("aside", "nav") or (
            node is not el
            and node.tag == "footer"
            and node.getparent() is not None
            and node.getparent().tag == "body"
        ):
            return True
        # An <article>'s own classes describe the piece ("newsletter-post", "has-comments").
        marks = "" if node.tag == "article" else f"{node.get('class', '')} {node.get('id', '')}"
        if len(marks) > 1 and _FURNITURE.search(marks.casefold()):
            # "has-rail-right", "lg:mr-[--sidebar-w]": a wrapper's layout, not its rail
            if _FURNITURE.search(_LAYOUT_FLAGS.sub(" ", marks.casefold())):
                return True
        node = node.getparent()
    return False


def _short_text(el: lxml_html.HtmlElement, limit: int) -> str | None:
    """The element's text when it is at most ``limit`` characters (without building more)."""
    parts: list[str] = []
    size = 0
    for piece in el.itertext():
        size += len(piece)
        if size > limit * 3:
            return None
        parts.append(piece)
    text = tidy(" ".join(parts))
    return text if text and len(text) <= limit else None


def _own_short_text(el: lxml_html.HtmlElement, limit: int) -> str | None:
    """Short text of an element with no element children of its own kind (a leaf line)."""
    if len(el) > 4:
        return None
    return _short_text(el, limit)


_UPDATED = re.compile(
    r"updat|modif|aktualisiert|actualiz|atualiz|mis à jour|aggiornat|bijgewerkt", re.IGNORECASE
)
_PUBLISHED = re.compile(r"publi|posted|veröffentlicht|erschienen", re.IGNORECASE)


def _says_updated(marks: str) -> bool:
    """Whether a date element's class and text say it is the last update, not publication
    ("Updated: 2 Jan 2026"; WordPress marks its one date "published updated": that is both).
    """
    return bool(_UPDATED.search(marks)) and not _PUBLISHED.search(marks)


def _date_under(dated: list[tuple[int, datetime, str]]) -> datetime | None:
    """The first date under the headline that is not one of a list's.

    Elements of one kind (tag and class) stating three different days near the headline are a
    list of other posts ("Recent posts", an archive), not this piece's date line.
    """
    days: dict[str, set[date]] = {}
    for _, stamp, kind in dated:
        days.setdefault(kind, set()).add(stamp.date())
    return next((stamp for _, stamp, kind in dated if len(days[kind]) < 3), None)


def _marked_author(el: lxml_html.HtmlElement) -> list[str]:
    """The names an element marked as the author (itemprop="author", rel="author") states.

    The markup says the text is the author, so a handle or a team's name counts as well as a
    personal name ("jdoe", "The Newsroom"). Microdata often wraps the author's whole card (photo,
    bio) and names them in a nested itemprop="name".
    """
    named = el.find(".//*[@itemprop='name']") if len(el) else None
    if named is not None:
        text = named.get("content") or _short_text(named, 200)
    else:
        text = _short_text(el, 200)
    return _named_by_markup(text) if text else []


def _named_by_markup(text: str) -> list[str]:
    """The names in the text of an element whose markup says it holds the author's name."""
    names = credits_from([text]).authors
    # A team's name or a handle is short; a headline in a misplaced itemprop is not a name.
    short = len(text.split()) <= 4
    return [n for n in names if is_person_name(n) or (short and n in text)]


def _date_above(elements: deque[lxml_html.HtmlElement]) -> datetime | None:
    """The date stated nearest above the headline, in the few elements just before it.

    Read only when the headline is reached (and used only when nothing under it states a
    date): the site's header, further up, is where "today" widgets sit.
    """
    for el in reversed(elements):
        text = _own_short_text(el, 100)
        if text and _YEAR.search(text) and (stamp := parse_date(text)):
            return stamp
    return None


def _nearest_byline(
    bylines: list[tuple[int, lxml_html.HtmlElement, list[str]]], h1_at: int
) -> list[str]:
    """The byline nearest the headline: the first after it, else the last before it; with the
    bylines beside it (one name per element) but not those of other pieces further down."""
    if not bylines:
        return []
    after = [b for b in bylines if b[0] > h1_at]
    chosen = after[0] if after and h1_at >= 0 else bylines[-1] if h1_at >= 0 else bylines[0]
    parent = chosen[1].getparent()
    grand = parent.getparent() if parent is not None else None
    group = []
    for byline in bylines:
        position, el, _ = byline
        near = abs(position - chosen[0]) <= 12
        family = el.getparent() in (parent, grand) or el is chosen[1]
        if el is chosen[1] or (near and (family or _inside(el, chosen[1]))):
            group.append(byline)
    names: list[str] = []
    for _, el, found in group:
        inner = [
            n for _, other, more in group if other is not el and _inside(other, el) for n in more
        ]
        outer = [more for _, other, more in group if other is not el and _inside(el, other)]
        if inner and not {norm(n) for n in inner} <= {norm(n) for n in found}:
            continue  # "Jane Doe Marketing Director" around "Jane Doe": the inner name
        if any({norm(n) for n in found} <= {norm(n) for n in more} for more in outer):
            continue  # the block around it states this name and more ("By A and B")
        names += found
    return names


_AUTHOR_PAGE = re.compile(
    r"/(?:authors?|writers?|contributors?|columnists?|autor(?:es)?|auteurs?)/"
)


def _unmarked_byline(el: lxml_html.HtmlElement, text: str) -> list[str]:
    """Names of a byline under the headline that no class marks: a line starting "By" (or
    "Von", "Par"...), or a link to the writer's page on the site."""
    if BY_PREFIX.match(text):
        return byline_authors(text)
    if el.tag == "a" and _AUTHOR_PAGE.search(el.get("href") or "") and not _in_furniture(el):
        # Only as a byline's name: not after another label ("Contact: Jane Doe").
        parent = el.getparent()
        line = _short_text(parent, 200) if parent is not None else None
        before = line[: line.find(text)].strip() if line and text in line else ""
        if before and not _ENDS_WITH_BY.search(before) and not before.endswith(_JOINERS):
            return []
        names = credits_from([text], strict=True).authors
        if not names and _ENDS_WITH_BY.search(before) and len(text.split()) == 1:
            # "by <a href='/author/amanda/'>Amanda</a>": the label and the link both say this is
            # the writer, so a first name or a handle counts, as in rel="author" markup.
            names = _named_by_markup(text)
        return names
    return []


_META_SEPARATOR = re.compile(r"\s+[|•·—–]\s+|\s+-\s+")
# What templates write after the name in a date-and-name line: "Jane Doe in Politics".
_AFTER_NAME = re.compile(r"\s+(?:in|on behalf of|for|at)\s+\S.*$")


def _dated_byline(text: str) -> list[str]:
    """The name in a byline that starts or ends with the date and names the writer beside it,
    with no "By": "May 3, 2024 · Jane Doe", "Jane Doe | 3 May 2024", "May 3, 2024 · Jane Doe in
    Politics" (not "Firm | May 3, 2024 | Products Liability": a date between two labels)."""
    if not _YEAR.search(text):
        return []
    parts = [part.strip() for part in _META_SEPARATOR.split(text) if part.strip()]
    if not 2 <= len(parts) <= 4:
        return []
    for at, near in ((0, 1), (-1, -2)):
        date_part = parts[at]
        if _YEAR.search(date_part) and len(date_part) <= 40 and date_precision(date_part):
            name = _AFTER_NAME.sub("", BY_PREFIX.sub("", parts[near]))
            # a rare word for a surname: a name, not a section ("Home Improvement")
            return [tidy(name)] if looks_like_bare_name(name) else []
    return []


# Labels that say the next words are the writer's name, in whichever element they stand.
# Tried on every element's text: the leading spaces are taken possessively ("\s*+"; no label
# starts with a space, so the matches are the same), since backtracking into them made the
# indented whitespace of every container cost a try per character (a sixth of read_page).
_LABEL = re.compile(
    r"^\s*+(?:(?:written|article|words|posted|story|text|reported|contributed)\s+by"
    # "Author:", a heading that says only "Author" or "Author(s)" above the names, a lone "By"
    r"|authors?(?:\(s\))?\s*(?::|$)|contributors?\s*:|by\s*:?\s*$"
    r"|autor(?:a|es)?\s*:|auteur\s*:|geschrieben von|verfasst von|escrito por|publicado por"
    r"|écrit par|rédigé par|scritto da|geschreven door|skrevet af|skrivet av|napisał[a]?)"
    r"(?=\s|:|$)",
    re.IGNORECASE,
)
_LONE_BY = re.compile(
    r"\s*by\s*:?\s*$", re.IGNORECASE
)  # "By" alone: a label only in its own element
_LABEL_INITIALS = frozenset("wWaApPsStTrRgGvVeEéÉnNcCbB")  # the first letters of _LABEL's labels
_BARE_REACH = 25  # elements after the headline where a name standing alone is its byline
_NOT_BYLINE_LINK = re.compile(r"/(?:tags?|topics?|categor|subjects?|keywords?|search)\b", re.I)
# A caption's credit, a quote's source, a menu's or a list's entry: names, never the byline.
_NOT_BARE_BYLINE = frozenset(
    ("figure", "figcaption", "caption", "blockquote", "cite", "h1", "li", "ul", "ol", "table")
)
_INLINE = frozenset(("a", "span", "strong", "b", "em", "i", "small"))
_LETTER = re.compile(r"[^\W\d_]")
_BOX_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6", "strong", "b", "a", "span", "div", "p"))


def _fact_sheet(label: lxml_html.HtmlElement) -> bool:
    """Whether a label stands among others of its kind ("Author:", "Released:", "Genre:"): a
    book's or a product's facts, whose author is not the piece's writer."""
    parent = label.getparent()
    if parent is None:
        return False
    labels = 0
    for sibling in parent.iterchildren(label.tag):
        if (sibling.text or "").rstrip().endswith(":"):
            labels += 1
            if labels > 1:
                return True
    return False


def _label_follower(el: lxml_html.HtmlElement) -> str | None:
    """The names in the element after a lone "Author" label: its short text, or a list's
    entries joined ("Author(s)" above a list of linked names)."""
    if el.tag in ("ul", "ol"):
        entries = [text for li in el.iterchildren("li") if (text := _short_text(li, 80))]
        return ", ".join(entries) if 0 < len(entries) <= 8 else None
    return _own_short_text(el, 80)


def _agencies(byline: str) -> list[str]:
    """The news agencies a byline credits ("By Jane Doe | Reuters", "Jane Doe (AP)")."""
    return credits_from([byline]).agencies if may_name_agency(byline) else []


def _box_name(box: lxml_html.HtmlElement) -> list[str]:
    """The personal name an author box states on a line of its own (beside a photo, a role,
    a bio), or [] when it states none; inside page furniture, [] too."""
    for count, el in enumerate(box.iter(_BOX_TAGS)):
        if count > 30:
            break
        if el is box or len(el) > 2:
            continue
        text = _own_short_text(el, 60)
        if text and (name := correct_name(text)) and is_person_name(name):
            return [] if _in_furniture(box) else [name]
    return []


def _bare_name(el: lxml_html.HtmlElement, text: str) -> list[str]:
    """A personal name standing alone in an element just under the headline: the byline of
    templates that mark nothing. Not a caption's credit, nor a tag or topic link."""
    if len(text) > 60 or len(el) > 2 or not looks_like_bare_name(text):
        return []
    if any(_NOT_BYLINE_LINK.search(a.get("href") or "") for a in el.iter("a")):
        return []
    node = el
    for _ in range(4):
        if node is None:
            break
        if node.tag in _NOT_BARE_BYLINE:
            return []
        if node is el and el.tag in _INLINE and (parent := el.getparent()) is not None:
            # Alone on its line, or after a date or a "By": not "Filed under Jane Doe".
            line = _short_text(parent, 200) or ""
            before = line[: line.find(text)] if text in line else ""
            if _LETTER.search(before) and not (
                _ENDS_WITH_BY.search(before.strip()) or _YEAR.search(before) and parse_date(before)
            ):
                return []
        if node is not el and node.tag == "a" and _NOT_BYLINE_LINK.search(node.get("href") or ""):
            return []
        node = node.getparent()
    return [text] if not _in_furniture(el) else []


_ENDS_WITH_BY = re.compile(r"(?:^|\s)(?:by|von|van|par|por|door|di|av|przez)\s*:?$", re.IGNORECASE)
_JOINERS = (",", "&", "|", "·", "•", " and", " und", " et", " y", " e", " en")


# Labelled data many publishing tools put in the head ("twitter:label1" = "Written by").
_WRITTEN_BY = re.compile(r"^(?:written by|author|autor|auteur|geschrieben von|escrito por)$", re.I)


def _labelled_author(meta: dict[str, list[str]]) -> list[str]:
    for n in "12":
        label = meta.get(f"twitter:label{n}")
        data = meta.get(f"twitter:data{n}")
        if label and data and _WRITTEN_BY.match(label[0].strip()):
            return credits_from(data[:1]).authors
    return []


# Menus and breadcrumbs: "News | Sport | Culture", "Science > Physics".
_MENU_LINE = re.compile(r"\|.*\||\s[>›»]\s")
_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "figure", "time")


def _header_block(el: lxml_html.HtmlElement, text: str) -> bool:
    """Whether an element marked as a standfirst is the article's header block instead (the
    headline, the dek, the byline and a caption together) or a byline or a date line."""
    if BY_PREFIX.match(text) or date_line(text)[0] or _MENU_LINE.search(text):
        return True
    if _YEAR.search(text[:40]) and date_precision(text[:40]):
        return True  # "12 May 2024 · 4 min read", "May 12, 2024 by Jane Doe"
    blocks = 0
    for _ in el.iter(_BLOCKS):
        blocks += 1
        if blocks > 2:  # the element itself and one block inside it: still one paragraph
            return True
    return False


def _site_words(facts: PageFacts) -> list[set[str]]:
    """The site's name as word sets: the outlet's, and the host's name ("example" of
    www.example.co.uk)."""
    names = [set(norm(facts.outlet).split()) - {"the"}] if facts.outlet else []
    host = urlsplit(facts.canonical or "").hostname or ""
    labels = [part for part in host.split(".") if part not in ("www", "m", "amp")]
    if len(labels) >= 2:
        names.append({labels[0] if len(labels) == 2 else max(labels[:-1], key=len)})
    return [n for n in names if n]


def _names_the_site(author: str, site: list[set[str]]) -> bool:
    """Whether an author name is the site's: the outlet's name, "The Commercial Appeal" beside
    the outlet "Memphis Commercial Appeal", "Example" on example.com."""
    words = set(norm(author).split()) - {"the"}
    if not words:
        return False
    joined = "".join(sorted(words))
    for name in site:
        if words == name or {joined} == name:
            return True  # the very name (a person's too: a blog named after its writer)
        if (words < name or name < words) and not is_person_name(author):
            return True
    return False


def _without_short_forms(names: list[str]) -> list[str]:
    """Names without a shorter form of another ("Jane Doe" beside "Jane Q. Doe")."""

    def ends(name: str) -> tuple[str, str, int]:
        words = norm(name).split()
        return (words[0], words[-1], len(words)) if words else ("", "", 0)

    keep = []
    for name in names:
        first, last, size = ends(name)
        if not any(ends(other)[:2] == (first, last) and ends(other)[2] > size for other in names):
            keep.append(name)
    return keep


def _organisation_only(names: list[str], outlet: str | None) -> bool:
    """Whether ``names`` are only the outlet's or an organisation's, no person's."""
    return bool(names) and all(
        not is_person_name(n) or (outlet and norm(n) == norm(outlet)) for n in names
    )


def _inside(el: lxml_html.HtmlElement, container: lxml_html.HtmlElement) -> bool:
    """Whether ``el`` sits inside ``container`` (a few levels down at most)."""
    node = el.getparent()
    for _ in range(8):
        if node is None:
            return False
        if node is container:
            return True
        node = node.getparent()
    return False


# The meta names trafilatura reads an author from (property, name or itemprop).
_LIBRARY_AUTHOR_META = frozenset({*METANAME_AUTHOR, *PROPERTY_AUTHOR, *OG_AUTHOR})
_STRUCTURED_SCRIPTS = etree.XPath(
    "//script[@type='application/ld+json' or @type='application/settings+json']"
)


def _author_scripts(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The page's structured-data scripts that mention an author or a person, under a bare
    element for trafilatura's JSON reader, or None when there are none.

    Most scripts (breadcrumbs, the site's organisation, search boxes) name no author, and the
    library's minifying of each is a noticeable share of extraction time.
    """
    holder = None
    for script in _STRUCTURED_SCRIPTS(tree):
        text = script.text or ""
        low = text.casefold()
        if "author" in low or "person" in low:
            if holder is None:
                holder = lxml_html.Element("html")
            copy = etree.SubElement(holder, "script", type=script.get("type"))
            copy.text = _without_long_strings(text)
    return holder


_LONG_STRING = 300  # characters: an article body or description, never a name


def _without_long_strings(text: str) -> str:
    """The JSON with its long string values emptied (the article's body, its description).

    The library cleans the whole text character by character before parsing it; names are
    short, so what it reads is the same. Text that does not parse is left as it is.
    """
    if len(text) < 2000:
        return text
    try:
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return text

    def trim(value: object) -> object:
        if isinstance(value, str):
            return "" if len(value) > _LONG_STRING else value
        if isinstance(value, list):
            return [trim(v) for v in value]
        if isinstance(value, dict):
            return {k: trim(v) for k, v in value.items()}
        return value

    try:
        # No spaces after "," and ":": the library deletes every space outside strings one regex
        # match (and one Python template call) at a time, so what it reads is the same.
        return json.dumps(trim(data), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return text


def library_authors(tree: lxml_html.HtmlElement, meta_author: bool = True) -> list[str]:
    """trafilatura's reading of the author meta tags and JSON-LD (its normalised names).

    ``meta_author``: whether the page has a meta tag trafilatura reads an author from (the
    caller's own pass over the meta tags knows; False lets pages without one skip that part).
    """
    scripts = _author_scripts(tree)
    if not meta_author and scripts is None:
        return []
    try:
        doc = examine_meta(tree) if meta_author else Document()
        if doc.author and " " not in doc.author:
            doc.author = None  # trafilatura's own rule: a one-word meta author is a handle
        if scripts is not None:
            doc = extract_meta_json(scripts, doc)
    except Exception:  # noqa: BLE001 - library bugs on odd JSON must not lose the page
        return []
    return [a for a in (doc.author or "").split("; ") if a.strip()]


def read_page(tree: lxml_html.HtmlElement, may_have_disclaimer: bool = True) -> PageFacts:
    """Collect metadata and marked-up opinion parts without changing the tree."""
    facts = PageFacts()
    meta: dict[str, list[str]] = {}
    meta_author = False
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").casefold()
        content = el.get("content")
        # trafilatura reads the property, else the name, else the itemprop: the same as key.
        meta_author = meta_author or bool(content) and key in _LIBRARY_AUTHOR_META
        if key in _USED_META and content and content.strip():
            if "&" in content:  # escaped twice by the template: "&amp;rsquo;"
                content = html.unescape(content)
            meta.setdefault(key, []).append(tidy(content))
        if (el.get("http-equiv") or "").casefold() == "content-language" and content:
            meta.setdefault("content-language", []).append(content)

    ld_authors: list[str] = []
    ld_agencies: list[str] = []
    ld_published = None
    ld_any_published = None  # a WebPage's datePublished: weaker than an article's
    for item, is_article in _json_ld(tree):
        if isinstance(item.get("dateModified"), str) and (
            changed := parse_date(item["dateModified"])
        ):
            facts.modified_days.add(changed.date())
        if not is_article:
            if ld_any_published is None and isinstance(item.get("datePublished"), str):
                ld_any_published = item["datePublished"]
            continue
        ld_authors = ld_authors or credits_from(_ld_names(item.get("author"))).authors
        ld_agencies = ld_agencies or credits_from(_ld_raw_names(item.get("author"))).agencies
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
        body = item.get("articleBody")
        if isinstance(body, str) and len(body) > len(facts.ld_body or ""):
            facts.ld_body = body

    facts.title = _first(meta, "og:title", "twitter:title", default=facts.title)
    facts.outlet = _first(meta, "og:site_name", "application-name", default=facts.outlet)
    facts.description = _first(meta, "og:description", "description", "twitter:description")
    if facts.description and "<" in facts.description:  # markup pasted into the tag
        facts.description = tidy(_TAG.sub(" ", facts.description)) or None
    title_el = tree.find(".//title")
    if title_el is not None and title_el.text:
        facts.html_title = tidy(title_el.text)

    lang = tree.get("lang") or tree.get("xml:lang")
    facts.language = (
        lang or _first(meta, "content-language") or facts.language or _first(meta, "og:locale")
    )

    for el in tree.iterfind(".//link"):
        if (el.get("rel") or "").casefold() == "canonical" and el.get("href"):
            facts.canonical = el.get("href").strip()
            break
    if not facts.canonical and meta.get("og:url"):
        facts.canonical = meta["og:url"][0]

    for key in _MODIFIED_META:
        for value in meta.get(key, ()):
            if changed := parse_date(value):
                facts.modified_days.add(changed.date())
    # Dates: only what the page states in its markup.
    # The most precise stamp the tags state (a zone, then a time), in the tags' order of
    # preference: a zoneless or date-only tag must not override one that states its zone.
    stamps = [
        stated
        for key in _DATE_META
        for value in meta.get(key, ())
        if (stated := date_precision(value))
    ]
    ld_stamp = date_precision(ld_published) if ld_published else None
    if stamps and ld_stamp:
        stamps.append(ld_stamp)
    if stamps:
        facts.published = max(stamps, key=lambda s: s[1])[0]  # max keeps the first of equals

    pulls: list[str] = []
    bios: list[str] = []
    disclaimers: list[str] = []
    h1 = tree.find(".//h1")
    if h1 is not None:
        facts.h1 = tidy(headline_text(h1)) or None
    # Bylines and dates are read near the headline: the same classes also mark related posts,
    # sidebars and comment forms further down (and a "today" widget in the site's header).
    bylines: list[tuple[int, lxml_html.HtmlElement, list[str]]] = []
    dated: list[tuple[int, datetime, str]] = []  # (position, stamp, the element's tag and class)
    marked_above: list[tuple[int, datetime]] = []  # elements marked as dates above the headline
    # Bylines no class marks: "By Jane Doe" under the headline, a link to an author's page.
    unmarked: list[tuple[int, lxml_html.HtmlElement, list[str]]] = []
    # Weaker evidence, in order: an author box (a block marked "author" holding a name and a
    # bio), a "Written by" label anywhere in the article, a bare name beside the headline.
    boxes: list[tuple[int, lxml_html.HtmlElement, list[str]]] = []
    labelled: list[tuple[int, lxml_html.HtmlElement, list[str]]] = []
    bare: list[tuple[int, lxml_html.HtmlElement, list[str]]] = []
    dek_above: tuple[int, str, bool] | None = None  # a standfirst marked above the headline
    body_started = False  # a long paragraph under the headline: bare names stop there
    label_at = -10  # where a lone "Written by" label stood: the name is in the next element
    marked_date: datetime | None = None
    h1_at = -1
    above: deque[lxml_html.HtmlElement] = deque(maxlen=_ABOVE_HEADLINE)
    dated_above: datetime | None = None
    for position, el in enumerate(tree.iter(tag=etree.Element)):
        get = el.get
        if el is h1:
            h1_at = position
            dated_above = _date_above(above)
            if dek_above is not None and position - dek_above[0] <= _DEK_ABOVE:
                _, facts.dek, facts.dek_strong = dek_above
        elif h1_at < 0 and (el.tag in _DATE_TAGS or el.tag in ("h4", "h5", "h6")):
            above.append(el)
        # Most elements have no class or id: no call for them (this loop sees every element).
        marks = get("class")
        kinds = _class_kinds(marks) if marks else 0
        if (marks := get("id")) is not None:
            kinds |= _class_kinds(marks)
        itemprop = get("itemprop")
        rel = get("rel")
        by_rel = rel is not None and "author" in rel.casefold().split()
        if itemprop is not None or el.tag == "time" or by_rel:
            if marked_date is None and (
                itemprop == "datePublished" or el.tag == "time" and get("pubdate") is not None
            ):
                marked_date = parse_date(get("datetime") or get("content") or _short_text(el, 80))
            if (itemprop == "author" or by_rel) and not _in_furniture(el):
                names = _marked_author(el)
                if names:
                    bylines.append((position, el, names))
            if el.tag == "time" and 0 <= h1_at and position - h1_at <= _NEAR_HEADLINE:
                stamp = parse_date(get("datetime") or _short_text(el, 80))
                if stamp:
                    dated.append((position, stamp, f"{el.tag}.{get('class')}"))
        if (
            facts.dek is None
            and el.tag == "h2"
            and 0 < position - h1_at <= _SUBHEAD_REACH
            and not _in_furniture(el)
        ):
            # A subheadline right under the headline is the standfirst, marked or not.
            text = _short_text(el, 400)
            if text and 5 <= word_count(text) <= 60:
                facts.dek = text
                facts.dek_strong = True
        if 0 <= h1_at and position - h1_at <= _NEAR_HEADLINE and el.tag in _DATE_TAGS:
            # A visible date under the headline ("Published on 3 May 2024", "31. Oktober 2023").
            text = _own_short_text(el, 100)
            if text and _YEAR.search(text) and (stamp := parse_date(text)):
                dated.append((position, stamp, f"{el.tag}.{get('class')}"))
            if text and not kinds & _BYLINE and (names := _unmarked_byline(el, text)):
                unmarked.append((position, el, names + _agencies(text)))
            elif (
                text
                and position - h1_at <= _BARE_REACH
                and not body_started
                and (names := _bare_name(el, text))
            ):
                bare.append((position, el, names))
            if el.tag == "p" and not text and not body_started:
                body_started = len(el.text_content()) > 150  # the article's first paragraph
        lead = el.text
        if (
            lead is not None
            and len(lead) < 200
            and lead.lstrip()[:1] in _LABEL_INITIALS  # most texts: a set lookup, no regex
            and _LABEL.match(lead)
        ):
            # "Written by Jane Doe" wherever the article states it (often in a box at its end).
            text = _short_text(el, 200)
            rest = _LABEL.sub("", text or "", count=1).strip(" :")
            if not rest and el.tail and len(el.tail) < 200 and not _fact_sheet(el):
                rest = tidy(el.tail).strip(" :")  # "<b>Author:</b> Jane Doe": the name after it
            if not rest:
                label_at = position  # the label alone: the name follows in the next element
            elif _LONE_BY.match(lead):
                pass  # "by <a>Jane Doe</a>": a byline, which the bylines' own reading sees
            elif not _in_furniture(el) and (names := credits_from([rest], strict=True).authors):
                labelled.append((position, el, names))
        elif 0 < position - label_at <= 3 and (text := _label_follower(el)):
            label_at = -10
            if not _in_furniture(el) and (names := credits_from([text], strict=True).authors):
                labelled.append((position, el, names))
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
            if not (boxes and _inside(el, boxes[-1][1])) and (names := _box_name(el)):
                boxes.append((position, el, names))
        elif (
            facts.dek is None
            and kinds & (_DEK_STRONG | _DEK_WEAK)
            and tag in _DEK_TAGS
            and (h1_at < 0 or position - h1_at <= _NEAR_HEADLINE)  # not a teaser further down
        ):
            dek = tidy(el.text_content()[:1000])
            if 4 <= word_count(dek) <= 80 and not _header_block(el, dek) and not _in_furniture(el):
                if h1_at < 0 and h1 is not None:
                    # Above the headline: its kicker only when the headline follows closely
                    # (the site's header, further up, has promos and menus marked "subtitle").
                    dek_above = (position, dek, bool(kinds & _DEK_STRONG))
                else:
                    facts.dek = dek
                    facts.dek_strong = bool(kinds & _DEK_STRONG)
        elif kinds & _BYLINE and tag not in ("article", "section"):
            text = _short_text(el, 200)
            names = []
            if text and not _in_furniture(el):
                names = byline_authors(text) or credits_from([text], strict=True).authors
                if not names and _CLASS_AUTHOR_NAME.search(f"{get('class')} {get('id')}"):
                    names = _named_by_markup(text)  # a field for the name: a team's counts
                if not names:
                    names = _dated_byline(text)  # "May 3, 2024 · Jane Doe"
                if not names and not _LATIN.search(text) and word_count(text) <= 6:
                    names = split_authors(text)  # Arabic and other non-Latin bylines
                if names:
                    bylines.append((position, el, names + _agencies(text)))
            if (not text or not names) and not (boxes and _inside(el, boxes[-1][1])):
                if names := _box_name(el):  # the name on a line of its own, a role or bio beside
                    boxes.append((position, el, names))
        if kinds & _DATE and (marked_date is None or 0 <= h1_at):
            stamp_text = get("datetime") or get("content") or _short_text(el, 100)
            if (
                stamp_text
                and len(stamp_text.strip()) <= 100
                and not _says_updated(f"{get('class')} {stamp_text}")
                and not _in_furniture(el)
            ):
                stamp = parse_date(stamp_text)
                if stamp and marked_date is None and h1 is None:
                    marked_date = stamp  # no headline to measure from: the first one
                elif stamp and h1_at < 0:
                    marked_above.append((position, stamp))
                elif stamp and position - h1_at <= _NEAR_HEADLINE:
                    dated.append((position, stamp, f"{tag}.{get('class')}"))
    shown = marked_date or _date_under(dated)
    if shown is None and h1_at >= 0:
        near = [stamp for at, stamp in marked_above if h1_at - at <= _NEAR_ABOVE]
        shown = near[0] if near else dated_above
    if facts.published is None and shown and ld_stamp and ld_stamp[0].date() == shown.date():
        facts.published = ld_stamp[0]  # the day shown, at the time the structured data states
    facts.published = facts.published or shown
    if facts.published is None:
        # Weaker evidence, only when the page also shows that day to its readers: structured
        # data with no meta tag beside it (templates fill it with the post's first draft or
        # the day the page was built), a WebPage's date, a <time> somewhere in the article.
        weak = (
            ld_stamp[0] if ld_stamp else None,
            parse_date(ld_any_published) if ld_any_published else None,
            next(
                (
                    stamp
                    for el in tree.iterfind(".//article//time[@datetime]")
                    if (stamp := parse_date(el.get("datetime")))
                ),
                None,
            ),
        )
        facts.published = next(
            (stamp for stamp in weak if stamp and shows_day(tree, stamp.date(), facts)), None
        )

    groups = (bylines, unmarked, boxes, labelled, bare)
    nearest = next((found for group in groups if (found := _nearest_byline(group, h1_at))), [])
    if nearest and all(map(is_team_name, nearest)):
        # A team credited by the template ("By The Example Team") where the article names a
        # person too ("Written by Jane Doe" at its end): the person wrote it.
        nearest = next(
            (found for group in groups
             if any(map(is_person_name, found := _nearest_byline(group, h1_at)))),
            nearest,
        )  # fmt: skip
    # Names in capitals re-cased, an agency named in the byline ("(AP)", "Reuters") a credit.
    byline_credit = credits_from(nearest)
    byline = byline_credit.authors
    structured = credits_from(library_authors(tree, meta_author))
    meta_names = [
        value for key in _AUTHOR_META for value in meta.get(key, []) if not value.startswith("http")
    ]
    fallback = credits_from(meta_names)
    credit = structured if structured.authors or structured.agencies else fallback
    authors = credit.authors or byline or ld_authors or _labelled_author(meta)
    # A byline under the headline: marked by a class, or a "By" line or a link to an author's page.
    byline_near = any(0 <= at - h1_at <= _NEAR_HEADLINE for at, _, _ in (*bylines, *unmarked))
    if byline_near and credit.authors and any(map(is_person_name, byline)):
        if _organisation_only(credit.authors, facts.outlet):
            # The tags name the outlet or a team where the page's byline names a person.
            authors = byline
        elif not {norm(a) for a in credit.authors} & {norm(b) for b in byline} and not all(
            _shows_name(tree, a, facts) for a in credit.authors
        ):
            # The tags name someone the page never shows (the account that posted it, a
            # template's default) where its byline names another person.
            authors = byline
    if len(authors) > 1:  # "Jane Doe, The Daily Example": the outlet goes
        site = _site_words(facts)
        authors = [a for a in authors if not _names_the_site(a, site)] or authors
    facts.authors = _without_short_forms(dedupe_names(authors))
    facts.agencies = dedupe_names(credit.agencies + ld_agencies + byline_credit.agencies)
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


_VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]",
    smart_strings=False,
)


def _shows_name(tree: lxml_html.HtmlElement, name: str, facts: PageFacts) -> bool:
    """Whether the page's visible text states ``name`` (case and punctuation aside)."""
    if facts.visible_text is None:
        facts.visible_text = " ".join(" ".join(_VISIBLE_TEXT(tree)).split())
    return norm(name) in norm(facts.visible_text)


def shows_day(tree: lxml_html.HtmlElement, day: date, facts: PageFacts) -> bool:
    """Whether the page's visible text states ``day`` (in any common form).

    The visible text is read once per page and kept on ``facts``.
    """
    if facts.visible_text is None:
        facts.visible_text = " ".join(" ".join(_VISIBLE_TEXT(tree)).split())
    return states_day(facts.visible_text, day)


def _first(meta: dict[str, list[str]], *keys: str, default: str | None = None) -> str | None:
    """The first value of the first of ``keys`` present (keys in order of trust)."""
    for key in keys:
        if meta.get(key):
            return meta[key][0]
    return default
