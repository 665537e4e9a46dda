"""Builders shared by the ingest tests: feeds, article pages and prose (no tests here)."""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.core import Core

_WORDS = (
    "government council voters budget housing policy reform city country minister court "
    "schools teachers nurses doctors farmers workers markets prices wages taxes rents climate "
    "energy transport railway bridge river harbour library museum theatre newspaper column "
    "argument evidence history promise failure success future past decade century election "
    "party coalition opposition parliament mayor judge lawyer citizen neighbour family "
    "children parents students readers critics supporters experts economists historians"
).split()
_VERBS = (
    "should consider must reject will change cannot ignore ought to defend might improve "
    "has weakened deserves keeps undermining quietly shapes openly doubts"
).split()

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def prose(seed: int, paragraphs: int = 6, sentences: int = 5) -> list[str]:
    """Deterministic, distinct paragraphs of plausible-looking prose for one article."""
    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        parts = []
        for _ in range(sentences):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 11))]
            words.insert(2, rng.choice(_VERBS))
            parts.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(parts))
    return out


def paragraphs_html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


@dataclass
class Item:
    """One feed entry; any field may be None to leave it out of the feed."""

    n: int
    link: str | None
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None
    body: list[str] | None = None  # full text paragraphs (content:encoded) ...
    teaser: str | None = None  # ... or a short description
    extra: dict[str, str] = field(default_factory=dict)


def item(base: str, n: int, *, full: bool = True, **changes: object) -> Item:
    """Entry ``n`` of a test feed, newest has the highest ``n``."""
    values: dict[str, object] = {
        "link": f"{base}/opinion/2024/05/piece-number-{n}-on-civic-life",
        "guid": f"urn:test:piece-{n}",
        "title": f"Piece number {n}: why the council must listen",
        "published": T0 + timedelta(hours=n),
        "body": prose(n) if full else None,
        "teaser": None if full else f"A short teaser for piece {n}.",
    }
    values.update(changes)
    return Item(n=n, **values)  # type: ignore[arg-type]


def rss(items: list[Item], *, title: str = "Test Opinion", link: str = "http://x.test/") -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{html.escape(title)}</title><link>{html.escape(link)}</link>",
        "<description>Opinion pieces</description>",
    ]
    for it in items:
        parts.append("<item>")
        if it.title is not None:
            parts.append(f"<title>{html.escape(it.title)}</title>")
        if it.link is not None:
            parts.append(f"<link>{html.escape(it.link)}</link>")
        if it.guid is not None:
            parts.append(f'<guid isPermaLink="false">{html.escape(it.guid)}</guid>')
        if it.published is not None:
            parts.append(f"<pubDate>{format_datetime(it.published)}</pubDate>")
        parts.append("<dc:creator>Jane Columnist</dc:creator>")
        if it.body is not None:
            parts.append(
                f"<content:encoded><![CDATA[{paragraphs_html(it.body)}]]></content:encoded>"
            )
        if it.teaser is not None:
            parts.append(f"<description>{html.escape(it.teaser)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def article_page(title: str, body: list[str], *, canonical: str | None = None) -> str:
    head = f"<title>{html.escape(title)}</title>"
    if canonical:
        head += f'<link rel="canonical" href="{html.escape(canonical)}">'
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>"
        "<nav><a href='/'>Home</a><a href='/opinion'>Opinion</a></nav>"
        f"<main><article><h1>{html.escape(title)}</h1>"
        "<p class='byline'>By Jane Columnist</p>"
        f"{paragraphs_html(body)}</article></main>"
        "<footer><a href='/privacy'>Privacy</a></footer></body></html>"
    )


RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}


async def subscribed_chat(core: Core, source_name: str, chat_id: str = "100") -> int:
    """A Telegram group that follows ``source_name``; returns the chat's row id."""
    source = await core.services.store.get_source(source_name)
    assert source is not None, source_name
    chat = await core.services.store.ensure_chat("telegram", chat_id, kind="group", title="Readers")
    await core.services.store.add_subscription(chat.id, "source", source.name, source_id=source.id)
    return chat.id


async def count(core: Core, sql: str, *params: object) -> int:
    """A count from the test database (read-only peek for assertions)."""

    def run() -> int:
        return core.services.store.sync.db.execute(sql, list(params)).fetchone()[0]

    return await core.services.store.run(run)
