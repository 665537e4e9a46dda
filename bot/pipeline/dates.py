"""Dates stated on the page ("Published: 17 July 2016 09:52 GMT") and date lines in a body."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .text import tidy

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
# Month names of other languages pages are written in (German, French, Spanish, Portuguese,
# Italian, Dutch): "31. Oktober 2023", "3 de março de 2024", "12 janvier 2025".
_FOREIGN_MONTHS = [
    ("januar", "janvier", "enero", "janeiro", "gennaio", "januari", "jän", "janv", "ene"),
    ("februar", "février", "fevrier", "febrero", "fevereiro", "febbraio", "februari", "févr",
     "fevr", "fev", "fév"),
    ("märz", "maerz", "mars", "marzo", "março", "marco", "maart", "mär"),
    ("avril", "abril", "aprile", "avr", "abr"),
    ("mai", "mayo", "maio", "maggio", "mei", "mag"),
    ("juni", "juin", "junio", "junho", "giugno", "giu"),
    ("juli", "juillet", "julio", "julho", "luglio", "juil", "lug"),
    ("août", "aout", "agosto", "augustus"),
    ("setembro", "septiembre", "septembre", "settembre", "sett"),
    ("oktober", "octobre", "octubre", "outubro", "ottobre", "okt", "ott"),
    ("novembre", "noviembre", "novembro"),
    ("dezember", "décembre", "decembre", "diciembre", "dezembro", "dicembre", "dez", "déc",
     "dic"),
]  # fmt: skip
for _number, _names in enumerate(_FOREIGN_MONTHS, start=1):
    for _name in _names:
        _MONTHS.setdefault(_name, _number)
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
        rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s+(?:de\s+)?(?P<mon>{_MONTH_NAMES})\.?,?"
        rf"\s+(?:de\s+)?(?P<y>\d{{4}})" + r",?\s*" + _TIME + _TZ,
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![^\W\d_])(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})"
        + r",?\s*"
        + _TIME
        + _TZ,
        re.IGNORECASE,
    ),
    # Numeric days: 17.05.2021, 2/24/2026, 24/2/2026; read only when one of the two numbers
    # cannot be a month, or both are the same (3/4/2024 and 09.10.2024 are written both ways
    # round: left unread).
    re.compile(
        r"(?<![\d.])(?P<a>\d{1,2})\.\s?(?P<b>\d{1,2})\.\s?(?P<y>\d{4})(?![\d.])[,\s]*"
        + _TIME
        + _TZ,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])[,\s]*" + _TIME + _TZ,
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
    """(the first date stated in ``text``, how much it states: DATE_ONLY, TIME_NO_ZONE or
    TIME_AND_ZONE), or None.

    The datetime is aware and keeps the offset the page stated (UTC when it states none): the
    same instant as in UTC, but the day the page shows (storage converts to UTC anyway).
    """
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        g = m.groupdict()
        if g.get("a"):  # month and day in an order the page does not say: settle it or skip
            a, b = int(g["a"]), int(g["b"])
            if (a > 12) == (b > 12) and a != b:  # 12.12.2025 reads the same both ways
                continue
            g["d"], g["m"] = (str(a), str(b)) if a > 12 else (str(b), str(a))
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
        # A fixed offset (not the region): the instant stays unambiguous in the DST overlap.
        offset = value.utcoffset()
        return value.replace(tzinfo=UTC if not offset else timezone(offset)), level
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


# Numeric days as pages print them: 12/20/2024, 20.12.2024, 2024/12/20, 2024.03.05, and the
# CJK forms 2024年3月5日 and 2024년 3월 5일.
_NUMERIC_DAY = re.compile(r"(?<!\d)(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?!\d)")
_CJK_DAY = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")


def states_day(text: str, day: date) -> bool:
    """Whether ``text`` states ``day`` in a form a reader would see as a date.

    Numeric forms are ambiguous (3/4 or 4/3): every reading that is a real day counts. Dates
    with month names are read only around the places the year is written (scanning a whole
    page with the month-name patterns costs milliseconds).
    """
    for m in _NUMERIC_DAY.finditer(text):
        a, b, c = (int(x) for x in m.groups())
        for y, mo, d in ((a, b, c), (c, b, a), (c, a, b)):
            if (y + 2000 if y < 100 else y, mo, d) == (day.year, day.month, day.day):
                return True
    for m in _CJK_DAY.finditer(text):
        if (int(m[1]), int(m[2]), int(m[3])) == (day.year, day.month, day.day):
            return True
    year = str(day.year)
    at = text.find(year)
    while at >= 0:
        window = text[max(0, at - 40) : at + 50]
        for pattern in _DATE_PATTERNS[:3]:  # the numeric forms were read above
            for found in pattern.finditer(window):
                if (stated := date_precision(found.group(0))) and stated[0].date() == day:
                    return True
        at = text.find(year, at + 4)
    return False
