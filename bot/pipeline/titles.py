"""A piece's headline without what templates add around it: the outlet's name, a section label."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from .text import norm

# Section labels that templates put before a headline ("Opinion | ...", "OP-ED: ...").
_SECTION = (
    r"opinion|opinions|op-?ed|editorial|editorials|column|commentary|comment|analysis"
    r"|perspective|viewpoint|point of view|guest (?:essay|column|opinion|post)|letters?"
    r"|review|essay|the big read|meinung|kommentar|gastbeitrag|leitartikel|opinión|opinion"
    r"|editorial|columna|tribuna|opinião|artigo|tribune|éditorial|chronique|point de vue"
    r"|opinione|editoriale|commento|mening|opinie|column|رأي|مقال"
)
_SECTION_PREFIX = re.compile(rf"^\s*(?:{_SECTION})\s*(?:\||:|–|—|-|·|•|»|/)\s+", re.IGNORECASE)


def strip_section(title: str) -> str:
    """ "Opinion | Libraries should open late" -> "Libraries should open late"."""
    rest = _SECTION_PREFIX.sub("", title, count=1)
    return rest if len(rest.split()) >= 2 else title


def strip_outlet(title: str, outlet: str | None) -> str:
    """The headline without a trailing " | Outlet" (or a short tail after a separator)."""
    for sep in (" | ", " - ", " – ", " — ", " :: "):
        if sep in title:
            head, _, tail = title.rpartition(sep)
            if head and (not outlet or norm(tail) == norm(outlet) or len(tail.split()) <= 4):
                return head.strip()
    return title


# Elements that break a headline's line: "Title<br>Subtitle" reads "Title Subtitle".
_LINE_BREAKS = frozenset(("br", "div", "p", "h2", "h3", "h4", "h5", "h6", "li"))


def headline_text(el: HtmlElement) -> str:
    """An element's text with its line breaks read as spaces (``text_content`` joins the words
    on either side of a ``<br>`` into one)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):  # a comment's or instruction's own text is no headline
            gap = " " if child.tag in _LINE_BREAKS else ""
            parts.append(gap + headline_text(child) + gap)
        parts.append(child.tail or "")
    return "".join(parts)


def _in_capitals(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and all(c.isupper() for c in letters)


def _long_words(text: str) -> set[str]:
    return {w for w in norm(text).split() if len(w) > 3}


def headline(declared: str | None, shown: str | None, outlet: str | None) -> str | None:
    """The piece's headline from the title the page declares (og:title, JSON-LD) and the one it
    shows (its h1).

    The shown one wins: declared titles are often written for search engines and share cards
    ("Best X of 2025 | Outlet" over the page's "The 7 best X, tested"). Not when the h1 is the
    site's name or a label, a lead-in ending on a colon, a menu's text over several lines, set
    in capitals by the template while the declared one is not, or about something else (no
    longer word in common, unless the declared title is only the outlet's name or the h1
    followed by a tail).
    """
    if not shown or not declared:
        return declared or shown
    shown_key, declared_key = norm(shown), norm(declared)
    outlet_key = norm(outlet) if outlet else ""
    if shown_key == declared_key or "\n" in shown.strip():
        return declared
    if not 2 <= len(shown_key.split()) <= 30 or shown.rstrip().endswith(":"):
        return declared  # a headline never ends on a colon: that h1 introduces a promo box
    if outlet_key and shown_key in outlet_key:
        return declared  # the site's name set as the page's h1
    if _in_capitals(shown) and not _in_capitals(declared):
        return declared
    if declared_key == outlet_key or declared_key.startswith(shown_key + " "):
        return shown
    return shown if _long_words(shown) & _long_words(declared) else declared
