"""Opinion cleanup: a separate step over paragraphs that trafilatura (or a copy-paste) produced.

It takes out what opinion pages add around the argument — pull quotes repeated from the body and
their attribution line, the author's bio, the outlet's disclaimer, share/navigation leftovers and
empty "Published: Updated:" lines — and keeps each in its own field. Every rule needs evidence
from the piece itself (a repeated sentence, a rule line, a known author name, a disclaimer
formula), so ordinary news text passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ---------------------------------------------------------------------------------------------
# Small text helpers shared with extract.py and text_input.py

_WORD_RUN = re.compile(r"[^\W_]+")
_SPACE_CHARS = r"[ \t\u00a0\u2000-\u200b\u202f\u3000]"
# Only what needs changing: a space followed by more spacing, or any other spacing character
# (matching every single space made this the busiest regex of the extraction).
_SPACES = re.compile(rf" {_SPACE_CHARS}+|[\t\u00a0\u2000-\u200b\u202f\u3000]{_SPACE_CHARS}*")


# Bidi embeddings/overrides/isolates and zero-width characters: they can make a title read
# differently from what it says ("Evil\u202egnp.exe"). ZWJ/ZWNJ and LRM/RLM are kept: real
# scripts and emoji need them.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


def strip_invisible(text: str) -> str:
    """Remove bidi control and zero-width characters."""
    return _INVISIBLE.sub("", text)


def norm(text: str) -> str:
    """Lower-cased words only: the key used to compare paragraphs, quotes and names."""
    return " ".join(_WORD_RUN.findall(text.casefold()))


def tidy(text: str) -> str:
    """Collapse runs of spaces on each line and strip the ends."""
    return _SPACES.sub(" ", text).strip()


def word_count(text: str) -> int:
    return len(norm(text).split())


_SENTENCE_END = (".", "!", "?", "…", "؟", "۔", "。", "！", "？")
_CLOSING = "\"'”’»)]*_"


def ends_like_sentence(text: str) -> bool:
    return text.rstrip().rstrip(_CLOSING).endswith(_SENTENCE_END)


# ---------------------------------------------------------------------------------------------
# Names and bylines

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
}  # fmt: skip
_BY_PREFIX = re.compile(
    r"^\s*(?:[—–\-]+\s*)?(?:by|written by|words by|par|von|por|di|door|av|بقلم|كتب|كتبت)\s*:?\s+",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b| و)\s*", re.IGNORECASE)
# Capitalised in any Latin-script alphabet ("Émile", "Łukasz", "Ørsted"), not only A-Z.
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_NAME_TOKEN = re.compile(
    rf"^(?:[{_UPPER}][\w'’.\-]*|[{_UPPER}]\.|(?:al|el|an|as|ad|ar)-[{_UPPER}][\w'’\-]*)$"
)
_LATIN = re.compile(r"[A-Za-z]")


def is_person_name(text: str) -> bool:
    """A Latin-script personal name: 2-5 capitalised words, particles allowed ("Ahmed al-Omran")."""
    text = tidy(text).strip(".,;:")
    if not text or len(text) > 60 or any(ch.isdigit() for ch in text) or "@" in text:
        return False
    tokens = text.split()
    if not 2 <= len(tokens) <= 5:
        return False
    capitalised = 0
    for tok in tokens:
        low = tok.casefold()
        if low in _NOT_IN_NAMES:
            return False
        if low in _PARTICLES:
            continue
        if not _NAME_TOKEN.match(tok):
            return False
        capitalised += 1
    return capitalised >= 2


def split_authors(text: str) -> list[str]:
    """'By Jane Doe and John Roe' -> ['Jane Doe', 'John Roe']; junk parts are dropped."""
    text = tidy(_BY_PREFIX.sub("", tidy(text)))
    text = re.split(r"\s*[|•·/]\s*", text)[0]  # "Jane Doe | Columnist"
    names: list[str] = []
    for part in _NAME_SPLIT.split(text):
        part = part.strip(" .,:;-—–")
        if is_person_name(part) or (
            part and not _LATIN.search(part) and 1 <= len(part.split()) <= 5
        ):
            names.append(part)
    return names


def byline_authors(line: str) -> list[str]:
    """Authors when ``line`` is a byline ("By X", "X and Y", "X | Columnist"), else []."""
    line = tidy(line)
    if not line or len(line) > 140 or ends_like_sentence(line) and not line.endswith("."):
        return []
    if _BY_PREFIX.match(line):
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


# ---------------------------------------------------------------------------------------------
# Dates stated on the page ("Published: 17 July 2016 09:52 GMT")

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}  # fmt: skip
_TIME = (
    r"(?:(?:at|,|-|–)?\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?)?"
)
# Zone abbreviations pages print after a time. ET/CT/MT/PT name a region's local time (standard
# or daylight saving, by the date); the others name a fixed offset.
_ZONE_REGIONS = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}
_ZONE_OFFSETS = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "GMT": 0, "UTC": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
}  # fmt: skip
_ZONE_NAMES = "|".join(sorted([*_ZONE_REGIONS, *_ZONE_OFFSETS], key=len, reverse=True))
# The abbreviations match in capitals only: "et" and "pt" are words in other languages.
_TZ = (
    r"\s*(?P<tz>(?:GMT|UTC)\s*[+-]\d{1,2}(?::?\d{2})?|Z|[+-]\d{2}:?\d{2}"
    rf"|(?-i:\(?(?:{_ZONE_NAMES})\)?)(?![^\W\d_]))?"
)
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = [
    re.compile(
        r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})"
        r"(?::(?P<s>\d{2})(?:\.\d+)?)?)?" + _TZ,
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})"
        + r",?\s*"
        + _TIME
        + _TZ,
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})"
        + r",?\s*"
        + _TIME
        + _TZ,
        re.IGNORECASE,
    ),
]


def _tz(value: str | None) -> tzinfo:
    """The zone a stated abbreviation or offset names (UTC when none is stated)."""
    if not value:
        return UTC
    value = value.strip("() ")
    if value in _ZONE_REGIONS:
        return _region(_ZONE_REGIONS[value])
    if value in _ZONE_OFFSETS:
        return timezone(timedelta(hours=_ZONE_OFFSETS[value]))
    value = value.upper().replace("GMT", "").replace("UTC", "").replace(" ", "")
    if value in ("", "Z"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", value)
    if not m:
        return UTC
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    return timezone(-delta if m.group(1) == "-" else delta)


@lru_cache(maxsize=8)
def _region(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # no tz database: the zone's standard offset
        return timezone(timedelta(hours=_STANDARD_OFFSETS[name]))


_STANDARD_OFFSETS = {
    "America/New_York": -5,
    "America/Chicago": -6,
    "America/Denver": -7,
    "America/Los_Angeles": -8,
}


def parse_date(text: str | None) -> datetime | None:
    """The first full date (with optional time and zone) stated in ``text``, as aware UTC.

    A stamp without a zone is read as UTC (nothing is guessed from the outlet or language);
    :func:`date_precision` tells such a stamp from one that states its zone.
    """
    stated = date_precision(text)
    return stated[0] if stated else None


DATE_ONLY, TIME_NO_ZONE, TIME_AND_ZONE = 0, 1, 2


def date_precision(text: str | None) -> tuple[datetime, int] | None:
    """(the first date stated in ``text`` as aware UTC, how much it states: DATE_ONLY,
    TIME_NO_ZONE or TIME_AND_ZONE), or None."""
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        g = m.groupdict()
        try:
            month = int(g["m"]) if g.get("m") else _MONTHS[g["mon"].casefold().rstrip(".")]
            hour = int(g.get("h") or 0)
            if (g.get("ampm") or "").lower().startswith("p") and hour < 12:
                hour += 12
            elif (g.get("ampm") or "").lower().startswith("a") and hour == 12:
                hour = 0
            value = datetime(
                int(g["y"]), month, int(g["d"]), hour, int(g.get("mi") or 0),
                int(g.get("s") or 0),
            )  # fmt: skip
            value = value.replace(tzinfo=_tz(g.get("tz")))  # ZoneInfo: DST by the date
        except (KeyError, ValueError):
            continue
        if not 1990 <= value.year <= 2100:
            continue
        level = TIME_AND_ZONE if g.get("tz") else TIME_NO_ZONE if g.get("h") else DATE_ONLY
        return value.astimezone(UTC), level
    return None


_DATE_LABEL = re.compile(
    r"^\s*(?:(?:first\s+)?published(?:\s+on)?|updated(?:\s+on)?|last\s+updated|posted(?:\s+on)?|"
    r"date|modified|نشر|تاريخ النشر|آخر تحديث|تحديث|publié le|mis à jour|veröffentlicht|"
    r"aktualisiert|publicado|actualizado)\s*:?",
    re.IGNORECASE,
)


_ANY_DATE_LABEL = re.compile(_DATE_LABEL.pattern.replace("^\\s*", "", 1), re.IGNORECASE)
_TIME_WORDS = re.compile(
    rf"\b(?:am|pm|a\.m|p\.m|at|on|ast|ksa|{_ZONE_NAMES.lower()})\b", re.IGNORECASE
)


def date_line(line: str) -> tuple[bool, datetime | None]:
    """(is a "Published: ... Updated: ..." line, the published date it states or None)."""
    if not _DATE_LABEL.match(line):
        return False, None  # the anchored label test first: it settles nearly every line
    line = tidy(line)
    if len(line) > 160:
        return False, None
    rest = line
    while True:  # strip every label; what remains must be dates, times and separators
        m = _ANY_DATE_LABEL.search(rest)
        if not m:
            break
        rest = rest[: m.start()] + " " + rest[m.end() :]
    published = parse_date(rest)
    leftover = rest
    for pattern in _DATE_PATTERNS:
        leftover = pattern.sub(" ", leftover)
    leftover = _TIME_WORDS.sub(" ", leftover)
    if re.search(r"[^\W\d_]{3,}", leftover):
        return False, None  # a sentence that starts with "Updated:", not a date line
    return True, published


# ---------------------------------------------------------------------------------------------
# Boilerplate lines that must never reach the text

_SOCIAL = (
    r"twitter|facebook|whatsapp|linkedin|e-?mail|print|reddit|telegram|pinterest|x|messenger|"
    r"copy(?: the)? link|copy|flipboard|pocket|threads|bluesky|mastodon|sms"
)
_BOILERPLATE = re.compile(
    r"^(?:"
    rf"(?:share|tweet|send)(?: this| the)?(?: article| story| post| page| column| piece)?"
    rf"(?:\s*(?:on|via|to|with)?\s*(?:{_SOCIAL}))*"
    rf"|(?:(?:{_SOCIAL})\s*[|·•,/]?\s*)+"
    r"|advertisement|advert|sponsored(?: content)?|ad"
    r"|(?:read|see) (?:more|also)|also read|related(?: articles| stories| content| links)?"
    r"|most (?:read|popular|viewed)|recommended(?: for you)?|you (?:may|might) also like"
    r"|more from (?:this|the) (?:author|writer|section)|more (?:opinion|views|columns)"
    r"|comments?|\d+ comments?|leave a (?:comment|reply)|show comments|join the conversation"
    r"|follow us(?: on .{0,40})?|follow (?:the author|@\w+.*)"
    r"|(?:sign up|subscribe)(?: now| today| here)?.{0,60}newsletter.{0,40}"
    r"|(?:get|receive) (?:our|the) .{0,40}newsletter.{0,40}"
    r"|back to top|skip to (?:main )?content|menu|home|close|loading\W*"
    r"|click here to .{0,60}|listen to (?:this )?(?:article|story)(?: \d+ min)?"
    r"|\d+ min(?:ute)?s? read|reading time:? .{0,20}"
    r")[\s.:!|]*$",
    re.IGNORECASE,
)


def is_boilerplate(line: str) -> bool:
    if len(line) > 100 and "  " not in line and line == line.strip():
        return False  # already tidy and too long to be a leftover: skip the regex work
    line = tidy(line)
    return bool(line) and len(line) <= 100 and bool(_BOILERPLATE.match(line))


_RULE = re.compile(r"^\s*(?:[_\-–—=*·•~#]\s*){3,}$")


def is_rule(line: str) -> bool:
    return bool(_RULE.match(line))


# ---------------------------------------------------------------------------------------------
# Disclaimers and bios

_DISCLAIMER = re.compile(
    r"^\W*disclaimer\b"
    r"|\b(?:views?|opinions?|thoughts)\b.{0,80}\b(?:expressed|contained|in this)\b.{0,120}"
    r"\b(?:own|necessarily|do not|don't|does not|not reflect|solely)\b"
    r"|\b(?:do|does) not necessarily (?:reflect|represent)\b"
    r"|\b(?:reflects?|represents?) (?:only )?the (?:views?|opinions?) of the (?:author|writer)"
    r"|لا (?:تعبر|يعبر) (?:بالضرورة )?عن|تعبر عن (?:رأي|وجهة نظر) كاتبها"
    r"|n'engagent que leurs? auteurs?",
    re.IGNORECASE,
)


def is_disclaimer(block: str) -> bool:
    block = tidy(block)
    return 0 < len(block) <= 600 and bool(_DISCLAIMER.search(block))


_BIO_VERB = re.compile(
    r"^[^.!?]{0,120}?\b(?:is|was|has been|serves as|writes|teaches|directs|heads|leads|"
    r"covers|founded|est|était|enseigne|dirige|es|fue|escribe|ist|war|schreibt|leitet)\b",
    re.IGNORECASE,
)
_BIO_CUES = re.compile(
    r"\b(?:columnist|writer|author|journalist|professor|lecturer|fellow|editor|analyst|"
    r"researcher|director|former|founder|president|chair|ceo|phd|candidate|contributor|"
    r"correspondent|commentator|expert|specialist|scholar|book|twitter|follow(?:ed)?|@\w+|"
    r"university|institute|centre|center|"
    r"chroniqueur|chroniqueuse|journaliste|écrivaine?|auteure?|autrice|professeure?|chercheuse|"
    r"chercheur|ancienne?|université|periodista|escritora?|columnista|profesora?|"
    r"investigadora?|universidad|Journalistin|Autorin|Kolumnistin|Professorin|Kolumnist|"
    r"Universität)\b|@\w+",
    re.IGNORECASE,
)
_SUBJECT_SPLIT = re.compile(
    r",|\b(?:is|was|has been|serves as|writes|teaches|est|était|es|fue|ist|war)\b"
)
# Arabic bios open on the name and a profession, with no verb: "سلمى العبدالله كاتبة ومهندسة".
_AR_BIO = re.compile(
    r"^(?P<name>(?:[\u0600-\u06ff]+ ){1,4}?)(?:هو |هي )?(?:ال)?(?:كاتب|كاتبة|صحفي|صحفية|صحافي|"
    r"صحافية|أستاذ|أستاذة|باحث|باحثة|محلل|محللة|أكاديمي|أكاديمية|روائي|روائية|إعلامي|إعلامية|"
    r"مستشار|مستشارة|رئيس|رئيسة|مدير|مديرة|خبير|خبيرة|شاعر|شاعرة|مؤلف|مؤلفة)(?:\s|[،.,]|$)"
)


def looks_like_bio(block: str, authors: Sequence[str] = ()) -> bool:
    """A paragraph about the writer: "X is a ..." with a known author or bio vocabulary."""
    block = tidy(block).lstrip("*_—–- ")
    if not block or len(block) > 1500:
        return False
    starts_with_author = any(
        norm(block).startswith(norm(a)) or norm(block).startswith(norm(a).split()[-1])
        for a in authors
        if norm(a)
    )
    if (ar := _AR_BIO.match(block)) and len(block) <= 600:
        # The name part must be a known author, or a short name (two to four words).
        return starts_with_author or 2 <= len(ar.group("name").split()) <= 4
    if starts_with_author and _BIO_VERB.match(block):
        return True
    if not _BIO_VERB.match(block) or not _BIO_CUES.search(block):
        return False
    subject = _SUBJECT_SPLIT.split(block, maxsplit=1)[0]
    return is_person_name(subject) or subject.strip().casefold() in (
        "he", "she", "they", "il", "elle", "ella", "él", "er", "sie",
    )  # fmt: skip


# A dateline opening a report: "LAGOS, Ohio — ", "LONDON (Reuters) - ", "PARIS, 4 mars (AFP) –".
_DATELINE = re.compile(
    rf"^(?P<place>[{_UPPER}][{_UPPER}.'’\- ]*[{_UPPER}])"
    r"(?P<region>,\s+[^\W\d_][\w.'’ ]{0,25}?)?(?:,?\s+\d{1,2}\s+[^\W\d_]{3,10}\.?)?"
    r"(?P<agency>\s+\([^()]{2,30}\))?(?:\s*[—–]\s*|(?(agency)\s*-{1,2}\s+|(?!)))"
)


def strip_dateline(paragraph: str) -> str:
    """The paragraph without a leading all-capitals dateline ("LAGOS, Ohio — ")."""
    m = _DATELINE.match(paragraph)
    if not m:
        return paragraph
    if not m.group("region") and not m.group("agency") and sum(map(str.isalpha, m["place"])) < 6:
        return paragraph  # "NATO — ...": a bare capitalised word is an acronym, not a place
    rest = paragraph[m.end() :]
    # Only when a sentence follows it (not an all-capitals heading like "BREAKING — ...").
    return rest if len(rest.split()) >= 4 and rest[:1].isupper() else paragraph


# ---------------------------------------------------------------------------------------------
# The cleanup step


@dataclass
class CleanupResult:
    paragraphs: list[str]
    pull_quotes: list[str] = field(default_factory=list)
    author_bio: str | None = None
    disclaimer: str | None = None
    published: datetime | None = None
    date_line_seen: bool = False
    authors: list[str] = field(default_factory=list)  # from a byline line left in the body

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _same(a: str, b: str) -> bool:
    return bool(a) and norm(a) == norm(b)


def _contained(short: str, others: Iterable[str]) -> bool:
    key = norm(short)
    return bool(key) and any(key in norm(o) for o in others if o)


def clean_paragraphs(
    paragraphs: Sequence[str],
    *,
    authors: Sequence[str] = (),
    title: str | None = None,
    standfirst: str | None = None,
    known_pull_quotes: Sequence[str] = (),
    known_bio: str | None = None,
    known_disclaimer: str | None = None,
) -> CleanupResult:
    """Separate body paragraphs from pull quotes, bio, disclaimer and page leftovers."""
    result = CleanupResult(paragraphs=[])
    blocks = [tidy(p) for p in paragraphs]
    blocks = [b for b in blocks if b]

    kept: list[str] = []
    for b in blocks:
        is_date, published = date_line(b)
        if is_date:
            result.date_line_seen = True
            result.published = result.published or published
            continue
        if is_boilerplate(b):
            continue
        kept.append(b)
    blocks = kept

    # Title, standfirst or byline repeated at the top of the body.
    author_keys = {norm(a) for a in authors}
    while blocks:
        if _same(blocks[0], title or "") or _same(blocks[0], standfirst or ""):
            blocks.pop(0)
            continue
        names = _leading_byline(blocks[0], author_keys)
        if names is None:
            break
        result.authors += names
        blocks.pop(0)
    if blocks:
        blocks[0] = strip_dateline(blocks[0])  # the place line of a report is not its lede

    # Disclaimer: the outlet's formula, near either end of the piece.
    disclaimers: list[str] = []
    disclaimer_key = norm(known_disclaimer) if known_disclaimer else ""
    for i, b in enumerate(blocks):
        near_end = i >= len(blocks) - 4 or i < 2
        if (disclaimer_key and (key := norm(b)) and key in disclaimer_key) or (
            near_end and is_disclaimer(b)
        ):
            disclaimers.append(b)
    if disclaimers:
        blocks = [b for b in blocks if b not in disclaimers]
    disclaimer = known_disclaimer or (" ".join(disclaimers) if disclaimers else None)
    result.disclaimer = tidy(disclaimer) if disclaimer else None

    # Bio: after the last rule near the end, a closing "X is a ..." paragraph, or marked-up.
    bio_parts: list[str] = []
    if known_bio:
        bio_key = norm(known_bio)
        bio_blocks = [b for b in blocks if (key := norm(b)) in bio_key and len(key.split()) >= 3]
        blocks = [b for b in blocks if b not in bio_blocks]
        bio_parts = [known_bio]
    rule_at = max((i for i, b in enumerate(blocks) if is_rule(b)), default=-1)
    if rule_at >= 0:
        after = blocks[rule_at + 1 :]
        if not bio_parts and after and len(after) <= 3 and looks_like_bio(after[0], authors):
            bio_parts = after
            blocks = blocks[:rule_at]
    while blocks and is_rule(blocks[-1]):
        blocks.pop()
    if not bio_parts:
        tail: list[str] = []
        while blocks and len(tail) < 2 and looks_like_bio(blocks[-1], authors):
            tail.insert(0, blocks.pop())
        bio_parts = tail
    if bio_parts:
        result.author_bio = tidy(" ".join(p.strip("*_ ") for p in bio_parts))

    # Pull quotes: a paragraph repeated from the body (or marked up as one), plus the
    # attribution line under it.
    known = [norm(q) for q in known_pull_quotes if norm(q)]
    author_keys |= {norm(a) for a in result.authors}
    drop: set[int] = set()
    quotes: list[str] = []
    keys = [norm(b) for b in blocks]
    # One string holding every paragraph: a paragraph found in it once is repeated nowhere, which
    # settles most paragraphs with one C-level scan instead of a comparison with every other one.
    everything = "\n".join(keys)
    for i, b in enumerate(blocks):
        key = keys[i]
        if not key or i in drop:
            continue
        is_quote = key in known
        if (
            not is_quote
            and i > 0
            and _MIN_QUOTE_WORDS <= key.count(" ") + 1 <= 80
            and everything.count(key) > 1
        ):
            containers = [j for j, k in enumerate(keys) if j != i and j not in drop and key in k]
            mine = bool(containers) and _attribution(blocks, i + 1, author_keys)
            if containers and mine:
                is_quote = True  # repeated and signed: "… sentence" / "Author Name"
            elif containers:
                # Unsigned: only a sentence lifted out of a longer paragraph. Exact duplicates
                # (list items, repeated captions, "Click here" lines) stay in the text.
                is_quote = any(len(keys[j]) > len(key) + 10 for j in containers)
        if is_quote:
            drop.add(i)
            quotes.append(b.strip(" \"'“”‘’«»"))
            if _attribution(blocks, i + 1, author_keys):
                drop.add(i + 1)
    result.pull_quotes = quotes
    blocks = [b for i, b in enumerate(blocks) if i not in drop]
    result.paragraphs = blocks
    return result


_MIN_QUOTE_WORDS = 8


def _leading_byline(block: str, author_keys: set[str]) -> list[str] | None:
    """The names when a body's opening block is a byline ("Par Émile Dupré"), else None."""
    if len(block) > 140:
        return None
    if _BY_PREFIX.match(block):
        names = split_authors(block)
        return names or None
    if norm(block) in author_keys:
        return []  # the known author's name alone
    return None


def _attribution(blocks: Sequence[str], i: int, author_keys: set[str]) -> bool:
    if i >= len(blocks):
        return False
    line = blocks[i].lstrip("—–-~ ").strip()
    key = norm(line)
    return bool(key) and (key in author_keys or (is_person_name(line) and len(line) <= 60))
