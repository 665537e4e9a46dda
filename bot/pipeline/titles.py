"""A piece's headline without what templates add around it: the outlet's name, a section label."""

from __future__ import annotations

import re

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
