"""Plain text as copied from an article page -> ExtractedPiece.

A copy of an opinion page reads top to bottom: a title, maybe a standfirst, a byline and a date
line (in any order), the body with pull quotes repeated in it, then a bio and a disclaimer. The
header is read block by block; the rest goes through the same cleanup as HTML extraction.
"""

from __future__ import annotations

import re

from bot.types import ExtractedPiece

from .boilerplate import is_boilerplate, is_rule
from .cleanup import clean_paragraphs
from .dates import date_line
from .errors import ExtractionError
from .fallbacks import authors_from_bio, fallback_title, outlet_from_url
from .hyphenation import repair_hyphenation
from .names import byline_authors, dedupe_names
from .sentences import detect_language
from .text import ends_like_sentence, norm, tidy, word_count

_LETTER = re.compile(r"[^\W\d_]")
_INVISIBLE = re.compile("[\ufeff\u200b\u2060]")
_LATIN = re.compile(r"[A-Za-z]")
_OUTLET_IN_DISCLAIMER = re.compile(
    r"(?:reflect|represent)\s+(?:the\s+(?:views?|opinions?|position)\s+of\s+)?"
    r"(?P<outlet>[A-Z][\w&.'’ -]{1,60}?)(?:['’]s)?\s+"
    r"(?:point[- ]of[- ]view|views?|editorial|position|policy|opinion)",
)
_HEADER_LIMIT = 8
_MAX_TITLE_WORDS = 30
_MAX_STANDFIRST_WORDS = 60


def _blocks(text: str) -> list[str]:
    """Paragraphs: one per line, hard-wrapped lines of one paragraph joined back."""
    out: list[str] = []
    previous_blank = True
    for raw in text.split("\n"):
        line = tidy(raw)
        if not line:
            previous_blank = True
            continue
        if out and not previous_blank and _continues(out[-1], line):
            out[-1] = out[-1] + ("" if out[-1].endswith("-") else " ") + line
        else:
            out.append(line)
        previous_blank = False
    return out


def _continues(previous: str, line: str) -> bool:
    if is_rule(previous) or is_rule(line) or ends_like_sentence(previous):
        return False
    return line[:1].islower() and previous[-1:] not in ":"


def _is_byline(block: str, later: list[str]) -> list[str]:
    names = byline_authors(block)
    if names:
        return names
    # Right-to-left and other non-Latin names: a short line without punctuation that the page
    # repeats on its own (under a pull quote) or that carries a "by" word.
    if not _LATIN.search(block) and word_count(block) <= 4 and not ends_like_sentence(block):
        if any(norm(b) == norm(block) for b in later):
            return [tidy(block)]
    return []


def extract_text(text: str, url: str | None = None) -> ExtractedPiece:
    """Turn copied article text into a piece: header fields, clean body, quotes, bio, disclaimer."""
    text = _INVISIBLE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    if not _LETTER.search(text):
        raise ExtractionError("The text is empty.")
    language = detect_language(text)
    text = repair_hyphenation(text, language=language)
    blocks = [b for b in _blocks(text) if _LETTER.search(b) or is_rule(b)]
    while blocks and is_rule(blocks[0]):
        blocks.pop(0)
    if not blocks:
        raise ExtractionError("The text is empty.")

    title: str | None = None
    standfirst: str | None = None
    authors: list[str] = []
    published = None
    i = 0
    first = blocks[0]
    if (
        len(blocks) > 1
        and word_count(first) <= _MAX_TITLE_WORDS
        and len(first) <= 300
        and not byline_authors(first)
        and not date_line(first)[0]
    ):
        title = first.rstrip()
        i = 1
    while i < min(len(blocks), _HEADER_LIMIT):
        block = blocks[i]
        is_date, stated = date_line(block)
        if is_date:
            published = published or stated
            i += 1
            continue
        names = _is_byline(block, blocks[i + 1 :])
        if names:
            authors += names
            i += 1
            continue
        if is_boilerplate(block):
            i += 1
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else ""
        header_follows = bool(following) and (
            date_line(following)[0] or bool(_is_byline(following, blocks[i + 2 :]))
        )
        if (
            title is not None
            and standfirst is None
            and not authors
            and i + 1 < len(blocks)
            and word_count(block) <= _MAX_STANDFIRST_WORDS
            and (header_follows or not ends_like_sentence(block))
        ):
            standfirst = block
            i += 1
            continue
        break

    result = clean_paragraphs(blocks[i:], authors=authors, title=title, standfirst=standfirst)
    body = result.text
    if not body.strip():
        # A single paragraph with no header: all of it is the body.
        result = clean_paragraphs(blocks, authors=authors)
        body, title, standfirst = result.text, None, None
    if not body.strip():
        raise ExtractionError("No article text was found in the text.")

    authors = dedupe_names(authors) or authors_from_bio(result.author_bio)
    outlet = None
    if result.disclaimer:
        m = _OUTLET_IN_DISCLAIMER.search(result.disclaimer)
        if m and not m.group("outlet").casefold().startswith(("the author", "this", "our")):
            outlet = m.group("outlet").strip()
    return ExtractedPiece(
        title=title or fallback_title(body),
        text=body,
        url=url,
        standfirst=standfirst,
        authors=authors,
        published=published or result.published,
        outlet=outlet or outlet_from_url(url),
        language=language,
        pull_quotes=result.pull_quotes,
        author_bio=result.author_bio,
        disclaimer=result.disclaimer,
    )
