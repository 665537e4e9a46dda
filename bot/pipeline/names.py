"""Personal names and bylines: who wrote a piece, read from a byline line or a name field."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .text import ends_like_sentence, norm, tidy

_PARTICLES = {
    "al", "el", "de", "da", "di", "du", "dos", "das", "del", "della", "van", "von", "der", "den",
    "la", "le", "bin", "ibn", "ben", "bint", "abu", "y", "e", "st", "mac", "ter", "zu",
}  # fmt: skip
# Words that make a capitalised line a heading or a sentence, not a name.
_NOT_IN_NAMES = {
    "the", "a", "an", "of", "in", "on", "for", "to", "with", "after", "before", "why", "how",
    "what", "when", "is", "are", "was", "were", "our", "we", "my", "your", "this", "that", "it",
    "not", "no", "will", "can", "should", "must", "from", "about", "over", "under", "read",
    "more", "share", "published", "updated", "comments", "advertisement", "related", "opinion",
    "editorial", "views", "newsletter", "subscribe", "follow", "staff", "reporter", "editor",
    "columnist", "contributor", "correspondent", "writer", "analysis", "news", "home", "menu",
    "by", "written", "posted", "author", "marketing", "team",
}  # fmt: skip
# Roles and job titles written beside a name ("Marketing Director", "Lead Reviewer"); not a
# team ("The Rankings Team"), which is an author of its own.
ROLE_WORDS = frozenset({
    "expert", "reviewer", "reviewed", "founder", "co-founder", "cofounder", "director", "manager",
    "executive", "officer", "president", "head", "lead", "senior", "chief", "ceo", "cto", "cfo",
    "coo", "specialist", "consultant", "analyst", "strategist", "intern",
    "assistant", "associate", "journalist", "photographer", "producer", "blogger",
    "researcher", "professor", "attorney", "lawyer", "dietitian", "physician", "vp",
    "editor", "columnist", "correspondent", "reporter", "contributor", "writer",
    # ... and in the other languages the project reads most.
    "redakteur", "redakteurin", "chefredakteur", "chefredakteurin", "korrespondent",
    "korrespondentin", "journalistin", "rédacteur", "rédactrice", "directeur", "directrice",
    "journaliste", "redactor", "redactora", "directora", "periodista", "giornalista",
    "redattore", "direttore", "editora", "jornalista", "redacteur", "hoofdredacteur",
})  # fmt: skip
_NOT_IN_NAMES |= ROLE_WORDS
BY_PREFIX = re.compile(
    r"^\s*(?:[—–\-]+\s*)?(?:by|written by|words by|par|von|por|di|door|av|بقلم|كتب|كتبت)\s*:?\s+",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(
    r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\ben\b|\bog\b|\boch\b| و)\s*", re.IGNORECASE
)
# Capitalised in any Latin-script alphabet ("Émile", "Łukasz", "Ørsted"), not only A-Z.
UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_NAME_TOKEN = re.compile(
    rf"^(?:[{UPPER}][\w'’.\-]*|[{UPPER}]\.|(?:al|el|an|as|ad|ar)-[{UPPER}][\w'’\-]*)$"
)
_LATIN = re.compile(r"[A-Za-z]")
_PAREN_TAIL = re.compile(r"\s*\([A-Za-z]{2,5}\)\s*$")  # a wire service's initials: "(AP)"


def is_person_name(text: str) -> bool:
    """A Latin-script personal name: 2-5 capitalised words, particles allowed ("Ahmed al-Omran")."""
    text = tidy(text).strip(".,;:")
    if not text or len(text) > 60 or any(ch.isdigit() for ch in text) or "@" in text:
        return False
    tokens = text.split()
    if not 2 <= len(tokens) <= 5:
        return False
    capitalised = 0
    for position, tok in enumerate(tokens):
        low = tok.casefold()
        if low in _NOT_IN_NAMES and not (position == 0 and low == "will"):  # "Will Judd"
            return False
        if low in _PARTICLES:
            continue
        if not _NAME_TOKEN.match(tok):
            return False
        capitalised += 1
    return capitalised >= 2


# A team credited as the writer ("The Example Team", "Example Staff", "Redaktion Example"): a
# group's name where a byline, a label or a link to an author's page puts the writer's.
_TEAM_AFTER = re.compile(
    rf"^(?:the\s+)?(?:[{UPPER}0-9][\w&'’.\-]*\s+){{1,4}}"
    r"(?:team|staff|editors|editorial(?:\s+(?:team|board|staff))?|news\s?desk|newsroom|desk)$",
    re.IGNORECASE,
)
_TEAM_BEFORE = re.compile(
    rf"^(?:redaktion|redactie|redacción|redação|redazione|rédaction|la rédaction|l['’]équipe"
    rf"|équipe|equipo|team)\s+(?:[{UPPER}0-9][\w&'’.\-]*\s*){{1,4}}$",
    re.IGNORECASE,
)
# Words before "Team" that make a call to action or a heading, not a team's name.
_NOT_TEAM = {"our", "your", "my", "meet", "join", "contact", "about", "read", "more", "the"}


def is_team_name(text: str) -> bool:
    """A team or desk credited as a piece's writer ("The Example Team", "Example Staff")."""
    text = tidy(text).strip(".,;:")
    if len(text) > 60 or "@" in text:
        return False
    words = text.split()
    if words and words[0].casefold() == "the":
        words = words[1:]
    if len(words) < 2 or not (words[0][:1].isupper() or words[0][:1].isdigit()):
        return False
    if _TEAM_BEFORE.match(text):
        return True
    # The words naming the team before "Team": not "Meet the Team", "Join Our Team".
    return bool(_TEAM_AFTER.match(text)) and not any(w.casefold() in _NOT_TEAM for w in words)


def is_role(text: str) -> bool:
    """A job title rather than a name: "Sr. Director of Operations", "Senior Editor"."""
    return any(w.strip(".,;:()").casefold() in ROLE_WORDS for w in text.split())


def split_authors(text: str) -> list[str]:
    """'By Jane Doe and John Roe' -> ['Jane Doe', 'John Roe']; junk parts are dropped."""
    text = tidy(BY_PREFIX.sub("", tidy(text)))
    text = re.split(r"\s*[|•·/]\s*", text)[0]  # "Jane Doe | Columnist"
    names: list[str] = []
    for part in _NAME_SPLIT.split(text):
        part = _PAREN_TAIL.sub("", part).strip(" .,:;-—–")  # "Jane Doe (AP)"
        if names and is_role(part) and not is_person_name(part) and not is_team_name(part):
            break  # "Jane Doe, Head of Research, Acme Freight": then comes her employer
        if (
            is_person_name(part)
            or is_team_name(part)
            or (
                part
                and not _LATIN.search(part)
                and 1 <= len(part.split()) <= 5
                and any(ch.isalpha() for ch in part)
            )
        ):
            names.append(part)
    return names


def byline_authors(line: str) -> list[str]:
    """Authors when ``line`` is a byline ("By X", "X and Y", "X | Columnist"), else []."""
    if "\n" in line:  # a byline block: names on their lines, a role or a date on others
        return dedupe_names(name for part in line.split("\n") for name in byline_authors(part))
    line = tidy(line)
    if not line or len(line) > 140 or ends_like_sentence(line) and not line.endswith("."):
        return []
    if BY_PREFIX.match(line):
        return split_authors(line)
    first = re.split(r"\s*[|•·]\s*", line)[0]
    parts = [p.strip(" .,:;-—–") for p in _NAME_SPLIT.split(first) if p.strip(" .,:;-—–")]
    if not parts:
        return []
    names = [p for p in parts if is_person_name(p)]
    # Every part a name, or names followed by an affiliation ("Jane Doe, Special to X").
    if names and (len(names) == len(parts) or parts[0] in names and len(names) >= len(parts) - 1):
        return names
    return []


def dedupe_names(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = tidy(name).strip(" .,;:")
        key = norm(name)
        if name and key and key not in seen:
            seen.add(key)
            out.append(name)
    return out


# A surname this common as an English word ("Plant", "Center", "Report") makes a capitalised
# pair more likely a label or a menu entry than a name, when nothing else marks it as a name.
_COMMON_AS_WORD = 4.2
_NOT_NAME_TOKEN = re.compile(
    r"\w\.\w|^(?!mc|mac|de|di|la|le|van|von|du|o')[^\W\d_]+[a-zà-ÿ][A-ZÀ-Þ]"
)


def looks_like_bare_name(text: str) -> bool:
    """A personal name that no markup or label marks, standing alone on its line: stricter than
    :func:`is_person_name` (no label's colon, no mixed capitals, a surname rare as a word)."""
    from .hyphenation import word_zipf  # wordfreq loads only for pages that get this far

    if "\n" in text or text.rstrip().endswith(":") or not is_person_name(text):
        return False
    tokens = [t.strip(".,;") for t in text.split()]
    shouting = [t.isupper() and len(t) > 1 for t in tokens]
    if any(shouting) and not all(shouting):
        return False  # "Download ZIP", "Report PDF"
    if any(_NOT_NAME_TOKEN.search(t) for t in tokens if not t.isupper()):
        return False  # "Electrical.pdf", "WiFi" (but "McAdams", "DeVito", "O'Neil")
    return word_zipf(tokens[-1]) < _COMMON_AS_WORD
