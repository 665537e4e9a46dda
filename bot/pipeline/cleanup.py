"""Opinion cleanup: a separate step over paragraphs that trafilatura (or a copy-paste) produced.

It takes out what opinion pages add around the argument — pull quotes repeated from the body and
their attribution line, the author's bio, the outlet's disclaimer, share/navigation leftovers and
empty "Published: Updated:" lines — and keeps each in its own field. Every rule needs evidence
from the piece itself (a repeated sentence, a rule line, a known author name, a disclaimer
formula), so ordinary news text passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .boilerplate import drop_hover_cards, is_boilerplate, is_rule
from .dates import date_line
from .endmatter import is_disclaimer, looks_like_bio, strip_dateline
from .names import BY_PREFIX, is_person_name, split_authors
from .text import norm, tidy
from .titles import strip_section


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
    blocks = [drop_hover_cards(tidy(p)) for p in paragraphs]
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
        if (
            _same(blocks[0], title or "")
            or _same(strip_section(blocks[0]), title or "")
            or _same(blocks[0], standfirst or "")
        ):
            blocks.pop(0)
            continue
        names = _leading_byline(blocks[0], author_keys)
        if names is None:
            break
        result.authors += names
        blocks.pop(0)
    if blocks:
        blocks[0] = strip_dateline(blocks[0])  # the place line of a report is not its lede

    # Disclaimer: the outlet's formula, near either end of the piece (at the top, often boxed
    # under the standfirst and a "Note:" label, a few blocks down).
    disclaimers: list[str] = []
    disclaimer_key = norm(known_disclaimer) if known_disclaimer else ""
    for i, b in enumerate(blocks):
        near_end = i >= len(blocks) - 4 or i < 6
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
    if BY_PREFIX.match(block):
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
