"""The end matter of an opinion piece: the author's bio and the outlet's disclaimer; datelines."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .names import UPPER, is_person_name
from .text import norm, tidy

# The outlet's "not our view" formula beyond English, Arabic and French: guest pieces "müssen
# nicht der Meinung der Redaktion entsprechen", "no reflejan necesariamente la opinión"...
VIEWS_NOT_OURS = (
    r"\bnicht\b.{0,40}\b(?:meinung|ansicht|haltung|position) der redaktion\b"
    r"|\bno (?:necesariamente )?(?:refleja|representa|expresa)n? (?:necesariamente )?"
    r"(?:la |el |los |las )?(?:opini[oó]n|punto de vista|posici[oó]n|l[ií]nea editorial)"
    r"|\bnon (?:necessariamente )?(?:riflett|rappresent|esprim)\w* (?:necessariamente )?"
    r"(?:la |le |il )?(?:opinion|posizion|linea|punto di vista)"
    r"|\bnão (?:necessariamente )?(?:reflet|represent|express)\w* (?:necessariamente )?"
    r"(?:a |as |o )?(?:opini|posi|linha)"
    r"|\b(?:weerspiegel|vertegenwoordig|geef)t? niet (?:noodzakelijk(?:erwijs)? )?"
    r"(?:de|het) (?:mening|standpunt)"
    r"|\b(?:ger|speglar|representerar|uttrycker) inte (?:nödvändigtvis )?"
    r"(?:tidningens|redaktionens) (?:åsikt|hållning|uppfattning|linje)"
)

_DISCLAIMER = re.compile(
    r"^\W*disclaimer\b"
    r"|\b(?:views?|opinions?|thoughts)\b.{0,80}\b(?:expressed|contained|in this)\b.{0,120}"
    r"\b(?:own|necessarily|do not|don't|does not|not reflect|solely)\b"
    r"|\b(?:do|does) not necessarily (?:reflect|represent)\b"
    r"|\b(?:reflects?|represents?) (?:only )?the (?:views?|opinions?) of the (?:author|writer)"
    r"|لا (?:تعبر|يعبر) (?:بالضرورة )?عن|تعبر عن (?:رأي|وجهة نظر) كاتبها"
    r"|n'engagent que leurs? auteurs?|" + VIEWS_NOT_OURS,
    re.IGNORECASE,
)


def is_disclaimer(block: str) -> bool:
    block = tidy(block)
    return 0 < len(block) <= 600 and bool(_DISCLAIMER.search(block))


# Singular and plural: a contributor note may present two writers ("X and Y are ...").
_BIO_VERB = re.compile(
    r"^[^.!?]{0,120}?\b(?:is|are|was|were|has been|have been|serves? as|writes|write|teach(?:es)?|"
    r"directs|heads|leads|covers|founded|co-?founded|est|sont|était|étaient|enseigne|dirige|es|"
    r"son|fue|fueron|escribe|ist|sind|war|waren|schreibt|leitet)\b",
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
    r",|\b(?:is|are|was|were|has been|have been|serves? as|writes|write|teach(?:es)?|est|sont|"
    r"était|étaient|es|son|fue|fueron|ist|sind|war|waren)\b"
)
_SUBJECT_AND = re.compile(r"\s+(?:and|&|und|et|y|e)\s+", re.IGNORECASE)
# Singular only: "They are ..." closes many an argument, and a bio of two names names them.
_PRONOUNS = ("he", "she", "il", "elle", "ella", "él", "er", "sie")
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
    subject = _SUBJECT_SPLIT.split(block, maxsplit=1)[0].strip()
    return subject.casefold() in _PRONOUNS or bool(bio_subjects(block))


def bio_subjects(bio: str) -> list[str]:
    """The people a bio opens on: one writer, or several joined by "and" ("Jane Doe and John
    Roe are fellows at ..."); [] when its subject is not a list of personal names."""
    subject = _SUBJECT_SPLIT.split(tidy(bio).lstrip("*_—–- "), maxsplit=1)[0].strip()
    people = _SUBJECT_AND.split(subject)
    return people if len(people) <= 4 and all(is_person_name(p) for p in people) else []


# A dateline opening a report: "LAGOS, Ohio — ", "LONDON (Reuters) - ", "PARIS, 4 mars (AFP) –".
_DATELINE = re.compile(
    rf"^(?P<place>[{UPPER}][{UPPER}.'’\- ]*[{UPPER}])"
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
