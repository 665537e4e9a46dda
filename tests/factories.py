"""Building blocks for tests: a Core on a temporary database, and pieces stored on demand."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import open_core as open_app_core
from bot.config import Settings
from bot.core import Core
from bot.delivery.routing import route
from bot.types import ExtractedPiece, PieceDraft, Summary

_counter = itertools.count(1)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "commentary_database": tmp_path / "test.db",
        "commentary_allow_private_urls": True,
        "commentary_demo": False,
    }
    values.update(overrides)
    # The bot refuses a database in a missing folder; tests may nest their databases.
    database = values["commentary_database"]
    if isinstance(database, Path) or (
        isinstance(database, str) and not database.startswith("postgres")
    ):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def open_core(tmp_path: Path, **overrides: Any) -> AsyncIterator[Core]:
    """A Core on a temp DB; the scheduler is not started (tests poll explicitly)."""
    async with open_app_core(make_settings(tmp_path, **overrides)) as core:
        yield core


async def add_piece(
    core: Core,
    *,
    title: str | None = None,
    text: str = "The government should act now. Critics say it must not wait any longer.",
    authors: list[str] | None = None,
    source: str | None = "demo",
    url: str | None = None,
    outlet: str | None = "Test Outlet",
    standfirst: str | None = None,
    pull_quotes: list[str] | None = None,
    author_bio: str | None = None,
    language: str | None = "en",
    published: datetime | None = None,
    summary: str | None = None,
    fan_out: bool = True,
) -> int:
    """Store a piece (creating the source if needed) and fan it out to matching chats."""
    n = next(_counter)
    source_id = None
    if source:
        found = await core.services.store.get_source(source)
        if found is None:
            found = await core.services.store.add_source(
                source, f"https://{source}.example/feed-{n}.xml"
            )
        source_id = found.id
    piece = ExtractedPiece(
        title=title or f"Test piece {n}",
        text=text,
        url=url or f"https://example.com/opinion/test-piece-{n}",
        standfirst=standfirst,
        authors=authors if authors is not None else ["Test Author"],
        published=published or datetime.now(UTC),
        outlet=outlet,
        language=language,
        pull_quotes=pull_quotes or [],
        author_bio=author_bio,
    )
    made = Summary(text=summary or text[:200], method="extractive")
    draft = PieceDraft(
        url=piece.url,
        piece=piece,
        source_id=source_id,
        summary=made,
        summary_short=made.text[:120],
        summary_long=text[:1200],
    )
    result = await core.services.store.save_piece(draft, route=route if fan_out else None)
    core.wake_delivery()
    return result.piece_id
