"""Finding a source or an author by what a person typed, with close-name hints when none fits."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from bot.types import Source

if TYPE_CHECKING:
    from bot.services import Services

MAX_AUTHORS_FOR_HINTS = 5000  # difflib over more names gets slow; hints are best effort


def clip(text: str, limit: int = 60) -> str:
    """User text shortened for an answer, so a 1,000-character argument is not echoed whole."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def close_names(word: str, names: list[str], count: int = 3) -> list[str]:
    """Names that look like ``word`` (case-insensitive), best first."""
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(word.casefold(), list(by_folded), n=count, cutoff=0.6)
    # Prefix matches help with short inputs ("guard" for "guardian") that difflib ranks low.
    folded = word.casefold()
    for key in by_folded:
        if len(found) >= count:
            break
        if folded and key.startswith(folded) and key not in found:
            found.append(key)
    return [by_folded[key] for key in found]


def hint(what: str, word: str, names: list[str], see: str) -> str:
    """One line: no such thing, maybe you meant ..., and where to look."""
    line = f"I know no {what} {clip(word)!r}."
    similar = close_names(word, names)
    if similar:
        line += " Did you mean " + " or ".join(repr(n) for n in similar) + "?"
    return line + f" See {see}."


async def find_source(services: Services, text: str) -> Source | None:
    """A source by name (any case), else by its feed title."""
    source = await services.store.get_source(text)
    if source is not None:
        return source
    folded = text.casefold()
    for candidate in await services.store.list_sources():
        if candidate.title and candidate.title.casefold() == folded:
            return candidate
    return None


async def source_hint(services: Services, text: str) -> str:
    sources = await services.store.list_sources()
    names = [s.name for s in sources] + [s.title for s in sources if s.title]
    return hint("source", text, names, "/sources")


async def find_author(services: Services, text: str) -> str | None:
    """The stored spelling of an author's name."""
    found = await services.store.get_author(text)
    return found[0] if found else None


async def author_hint(services: Services, text: str, chat_id: int | None = None) -> str:
    """Near spellings among the writers the chat can read (none from others' /summary)."""
    found = await services.store.find_authors("", MAX_AUTHORS_FOR_HINTS, chat_id=chat_id)
    names = [name for name, _ in found]
    return hint("author", text, names, "/authors")
