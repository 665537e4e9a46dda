"""Author names as pages state them, corrected: prefixes, dates and roles off, capitals re-cased.

Structured data (schema.org JSON-LD, meta tags, read by trafilatura's metadata functions) and
bylines name the writer, but with junk around the name: "By", "Sobre", "Par", "Von"; a year or a
weekday glued on ("Jane DoeMonday"); a role after a comma; a name in capitals; a news agency
instead of a person. Each correction keeps the stated name and only takes the junk off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .names import is_person_name, is_role, is_team_name
from .text import norm, tidy

# "By", "Written by", "Sobre", "Par", "Von", "Por", "Di", "Door", "Av", "Przez", "Автор:"...
_PREFIX = re.compile(
    r"^\s*(?:[—–\-|:]+\s*)?(?:(?:written|words|posted|reported|published|story|text|photos?)\s+by"
    r"|by|author|authors|autor|autora|auteur|autore|автор|par|von|por|di|door|av|sobre|über"
    r"|about|przez|bởi|oleh|bij|بقلم|كتب|كتبت)\b\s*:?\s*",
    re.IGNORECASE,
)
_WEEKDAYS_MONTHS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may"
    "|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept"
    "|oct|nov|dec|updated|published|posted|last"
)
# A capitalised weekday, month or "Updated" glued to the name by a template with no space
# ("FoustMonday"); case-sensitive, so "Stefanov" and "Kumar" keep their endings.
_GLUED_TAIL = re.compile(
    r"(?<=[a-zà-ÿ])(?:" + "|".join(w.capitalize() for w in _WEEKDAYS_MONTHS.split("|")) + r")\b.*$"
)
_DATE_TAIL = re.compile(
    rf"[\s,|·•–—-]+(?:on\s+)?(?:(?:{_WEEKDAYS_MONTHS})\b\.?\s*\d|\d"
    r"|(?:(?:last|first)\s+)?(?:updated|published|modified)\b).*$",
    re.IGNORECASE,
)
# Credits that name someone other than the writer.
_NOT_THE_WRITER = re.compile(
    r"^\W*(?:fact[- ]?checked|reviewed|medically reviewed|edited|photo(?:graph)?s?|illustrations?"
    r"|video|images?|produced|translated)\b",
    re.IGNORECASE,
)
_NAME_PARTS = re.compile(
    r"\s*(?:;|&|\||\band\b|\bund\b|\bet\b|\by\b| e |\ben\b|\bog\b|\boch\b| و)\s*", re.IGNORECASE
)
_AGENCY = re.compile(
    r"\b(?:press|presse|prensa|news agency|press agency|nachrichtenagentur|news service|newswire"
    r"|wire service|wires)\b|^(?:agence|agencia|agenzia|agentur)\s+\S+$"  # not "Thrive Agency"
    r"|^(?:ap|afp|reuters|dpa|efe|ansa|upi|xinhua|kyodo|yonhap|tass|pti"
    r"|ani|ians|apa|ats|anp|ntb|tt|sda)$",
    re.IGNORECASE,
)
# Any word _AGENCY needs, unanchored: most bylines name no agency and skip the full reading.
_AGENCY_HINT = re.compile(
    r"pres[se]|prensa|agen[ctz]|wire|news service|\b(?:ap|afp|reuters|dpa|efe|ansa|upi|xinhua"
    r"|kyodo|yonhap|tass|pti|ani|ians|apa|ats|anp|ntb|tt|sda)\b",
    re.IGNORECASE,
)


def may_name_agency(text: str) -> bool:
    """Whether ``text`` has a word a news agency's credit needs (a cheap test first)."""
    return _AGENCY_HINT.search(text) is not None


# Not a writer: what comment forms, widgets and empty templates put where a name goes.
_NOT_A_NAME = re.compile(
    r"^(?:guest|гость|gast|invité|invitado|anonymous|anonyme|anónimo|anonimo|unknown|null|none"
    r"|undefined|author|autor|auteur|admin|administrator|webmaster|user|your name|name|nombre|nom"
    r"|editor)$",
    re.IGNORECASE,
)
# Roles written after a name in Korean, Japanese and Chinese bylines (reporter, columnist...).
_CJK_ROLE = re.compile(
    r"\s*(?:기자|논설위원|편집위원|특파원|선임기자|칼럼니스트|객원기자|記者|特派員|編集委員|论说委员|记者|特约评论员)$"
)
_HANDLE = re.compile(r"^@\w+$|https?://|www\.|\.(?:com|org|net)\b|@\w+\.\w+")


@dataclass
class Credits:
    """Who a piece names: writers, and agencies credited with the story."""

    authors: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)


def recase(name: str) -> str:
    """A name written in capitals, in name case ("TOM KRISHER" -> "Tom Krisher")."""
    letters = [ch for ch in name if ch.isalpha()]
    if len(letters) < 4 or not all(ch.isupper() for ch in letters) or " " not in name.strip():
        return name
    return " ".join(_recase_word(w) for w in name.split())


def _recase_word(word: str) -> str:
    # "O'NEIL" -> "O'Neil", "JEAN-LUC" -> "Jean-Luc"; a lone initial keeps its capital.
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word)


def correct_name(raw: str) -> str | None:
    """The name in ``raw`` with the junk around it taken off, or None if no name is left."""
    lines = [line for line in raw.replace("\u00a0", " ").split("\n") if line.strip()]
    if len(lines) > 1:  # a name block: the name on one line, a role or "Last updated" on others
        lines = [line for line in lines if is_person_name(_PREFIX.sub("", tidy(line)))] or lines
    name = tidy(lines[0]) if lines else ""
    if _NOT_THE_WRITER.match(name):
        return None
    for _ in range(2):  # "By: Author: Jane Doe"
        name = _PREFIX.sub("", name, count=1)
    name = _GLUED_TAIL.sub("", name)
    name = _DATE_TAIL.sub("", name)
    name = name.split(" - ")[0].split(" | ")[0]
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name)  # "Jane Doe (Guest writer)"
    name = _CJK_ROLE.sub("", name)  # "김하늘 논설위원", "山田太郎記者"
    name = name.strip(" .,:;|·•–—-\"'“”")
    if not name or len(name) > 60 or len(name.split()) > 6 or not re.search(r"[^\W\d_]", name):
        return None
    if _HANDLE.search(name) or _NOT_A_NAME.match(name):
        return None
    return recase(name)


_PAREN_TAIL = re.compile(r"\(([^()]{2,40})\)\s*$")
# A name in capitals and what a template wrote after it in other case ("JANE DOE AP Business
# Writer", "JANE DOE Associated Press"): the capitals are the name.
_WIRE_INITIALS = frozenset(("AP", "AFP", "UPI", "PTI", "ANI", "IANS", "DPA", "EFE"))


def _caps_name(name: str) -> tuple[str, str | None]:
    """A name in capitals and what a template wrote after it ("JANE DOE AP Business Writer",
    "JANE DOE Associated Press"): (the name re-cased, the words after it); else (name, None).
    An agency's initials right after the capitals are those words."""
    tokens = name.split()
    caps = 0
    while caps < len(tokens) and tokens[caps].isupper() and tokens[caps] not in _WIRE_INITIALS:
        caps += 1
    words = [t for t in tokens[:caps] if sum(ch.isalpha() for ch in t) >= 2]
    if len(words) < 2 or caps == len(tokens):
        return name, None  # not a name in capitals, or nothing after it
    rest = tokens[caps:]
    if rest[0] not in _WIRE_INITIALS and not any(ch.islower() for ch in rest[0]):
        return name, None
    trailing = rest[0] if rest[0] in _WIRE_INITIALS else " ".join(rest)
    return recase(" ".join(tokens[:caps])), trailing


def _surname_first(pieces: list[str]) -> bool:
    """A name written surname first: one capitalised word, a comma, then given names and
    initials ("Doe, Jane", "Doe, Jane T."); not "Jane Doe, Editor" (two words before the comma).
    """
    if len(pieces) != 2 or len(pieces[0].split()) != 1 or not 1 <= len(pieces[1].split()) <= 3:
        return False
    if any(_AGENCY.search(p) for p in pieces):
        return False  # "Doe, Reuters": a writer and an agency
    return is_person_name(f"{pieces[1]} {pieces[0]}")


def _title_only(text: str) -> bool:
    """A job title written where names are listed ("Sr. Director of Operations")."""
    return is_role(text) and not is_team_name(text) and not is_person_name(correct_name(text) or "")


def credits_from(values: list[str], *, strict: bool = False) -> Credits:
    """Authors and agencies named by ``values`` (each one or several names).

    ``strict``: only personal names and teams' names ("The Example Team") count (bylines found
    by position on the page); otherwise
    anything name-like counts (a field whose job is to name the author: "Editorial Team").
    A role after a comma goes ("Jane Doe, Senior Editor") when the part before is a name.
    """
    out = Credits()
    seen: set[str] = set()
    for value in values:
        if out.authors and _title_only(value):
            # A name field read as a list: "Jane Doe; Sr Director; Acme Movers" names one
            # person, her title and her employer: nothing after the title is another author.
            break
        for part in _NAME_PARTS.split(value or ""):
            pieces = [p.strip() for p in part.split(",") if p.strip()]
            candidates = pieces[:1]
            if _surname_first(pieces):
                candidates = [f"{pieces[1]} {pieces[0]}"]  # "Doe, Jane T." -> "Jane T. Doe"
            elif len(pieces) > 1:
                # "Jane Doe, Sr. Director, Acme Movers": after the title comes the employer.
                upto = next((i for i, p in enumerate(pieces) if i and _title_only(p)), None)
                names = [p for p in pieces[:upto] if is_person_name(correct_name(p) or "")]
                if names:
                    candidates = names  # "Jane Doe, Senior Editor": the role goes
                # "Jane Doe, The Associated Press": the agency is a credit
                candidates += [p for p in pieces[1:] if p not in names and _AGENCY.search(p)]
            for candidate in candidates:
                if (paren := _PAREN_TAIL.search(candidate)) and _AGENCY.search(paren[1]):
                    agency = paren[1].strip()  # "Jane Doe (AP)"
                    if norm(agency) not in seen:
                        seen.add(norm(agency))
                        out.agencies.append(agency)
                name = correct_name(candidate)
                if not name:
                    continue
                name, trailing = _caps_name(name)
                if trailing and _AGENCY.search(trailing) and norm(trailing) not in seen:
                    seen.add(norm(trailing))
                    out.agencies.append(trailing)  # "JANE DOE Associated Press"
                key = norm(name)
                if not key or key in seen:
                    continue
                if _AGENCY.search(name):
                    seen.add(key)
                    out.agencies.append(name)
                    continue
                if strict and not (is_person_name(name) or is_team_name(name)):
                    continue
                seen.add(key)
                out.authors.append(name)
    return out
