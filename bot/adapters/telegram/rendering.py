"""Telegram HTML for neutral replies: escaping, piece cards, buttons, splitting. Pure functions.

Everything in a ``Reply`` is untrusted text (titles and summaries come from the web), so every
string is escaped before it meets a tag; only this module writes tags. Lengths are counted in
UTF-16 code units after entity parsing, which is how Telegram counts its 4,096-character limit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.adapters.text import prefix_that_fits, safe_url
from bot.adapters.text import split_text as split_chunks
from bot.bidi import directional
from bot.messages import VOTE_COMMANDS, Action, PieceCard, Reply, is_piece_action
from bot.messages import byline as neutral_byline

MAX_MESSAGE = 4096
# Split a little under the limit: the server's count and ours may differ on odd characters.
SPLIT_AT = 4000
MAX_CALLBACK_DATA = 64
MAX_TITLE = 300
# A summary longer than this goes into an expandable blockquote so a post stays compact.
EXPANDABLE_OVER = 500
CALLBACK_PREFIX = "a"

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedMessage:
    """One Telegram message: HTML text, its plain-text fallback, and its buttons."""

    html: str
    plain: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, callback data)


def utf16_len(text: str) -> int:
    """Telegram's length of ``text`` (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape untrusted text for Telegram HTML (``<``, ``>``, ``&`` only, as the API asks)."""
    return html.escape(text, quote=False)


def escape_attr(text: str) -> str:
    return html.escape(text, quote=True)


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace (titles from the web carry newlines and tabs) and cap the length."""
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def callback_data(action: Action) -> str | None:
    """Compact callback data for a button, e.g. ``a:more:123`` (None if it would not fit)."""
    data = f"{CALLBACK_PREFIX}:{action.command}:{action.piece_id}"
    return data if len(data.encode()) <= MAX_CALLBACK_DATA else None


def parse_callback_data(data: str | None) -> tuple[str, int] | None:
    """``(command, piece_id)`` from callback data, or None when forged or from an old version."""
    if not data or len(data) > MAX_CALLBACK_DATA:
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX or not is_piece_action(parts[1]):
        return None
    if not parts[2].isdigit() or len(parts[2]) > 18:
        return None
    return parts[1], int(parts[2])


def keyboard(
    actions: list[Action], per_row: int = 3, *, vote_buttons: bool = False
) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Rows of (label, callback data) for the reply's actions; 👍/👎 only with
    ``vote_buttons`` (where the bot cannot see reactions: they are the votes elsewhere)."""
    buttons = []
    for action in actions:
        if action.command in VOTE_COMMANDS and not vote_buttons:
            continue
        data = callback_data(action)
        label = one_line(action.label, 64)
        if data and label:
            buttons.append((label, data))
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


def byline(card: PieceCard) -> str:
    """``Author, Author · Outlet`` (plain)."""
    authors = [a.strip() for a in card.authors if a and a.strip()]
    return one_line(neutral_byline(authors, (card.outlet or "").strip() or None, None), 300)


def render_card(card: PieceCard, text: str = "", budget: int = SPLIT_AT) -> tuple[str, str]:
    """(HTML, plain) for a piece card, trimmed so the visible text fits in ``budget``."""
    title = directional(one_line(card.title or "Untitled", MAX_TITLE))
    url = safe_url(card.url)
    head_html = (
        f'<b><a href="{escape_attr(url)}">{escape(title)}</a></b>'
        if url
        else f"<b>{escape(title)}</b>"
    )
    head_plain = title
    lines_html, lines_plain = [head_html], [head_plain]
    who = byline(card)
    if who:
        lines_html.append(f"<i>{escape(who)}</i>")
        lines_plain.append(who)
    extra_html, extra_plain = [], []
    if card.standfirst and card.standfirst.strip() and not card.summary:
        standfirst = directional(one_line(card.standfirst, 600))
        extra_html.append(escape(standfirst))
        extra_plain.append(standfirst)
    if card.also_in:
        outlets = ", ".join(one_line(outlet, 60) for outlet, _ in card.also_in[:5] if outlet)
        if outlets:
            extra_html.append(f"<i>Also in: {escape(outlets)}</i>")
            extra_plain.append(f"Also in: {outlets}")
    if text.strip():
        extra_html.append(escape(text.strip()))
        extra_plain.append(text.strip())
    if not url and card.url:
        # An odd URL is still shown, as text, so the reader can judge it.
        extra_plain.append(card.url)
        extra_html.append(escape(card.url))

    fixed = "\n".join(lines_plain) + "\n\n" + "\n\n".join(extra_plain)
    summary = directional((card.summary or "").strip())
    if summary:
        room = budget - utf16_len(fixed) - 4
        summary = _trim(summary, max(room, 0))
    body_html, body_plain = [], []
    if summary:
        quoted = escape(summary)
        expandable = " expandable" if len(summary) > EXPANDABLE_OVER else ""
        note = card.method_note
        body_html.append(
            f"<blockquote{expandable}>{quoted}</blockquote>"
            + (f"\n<i>{escape(note)}</i>" if note else "")
        )
        body_plain.append(summary + (f"\n{note}" if note else ""))
    html_text = "\n".join(lines_html)
    plain_text = "\n".join(lines_plain)
    for chunk_html, chunk_plain in zip(
        body_html + extra_html, body_plain + extra_plain, strict=True
    ):
        html_text += "\n\n" + chunk_html
        plain_text += "\n\n" + chunk_plain
    return html_text, plain_text


def _trim(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` UTF-16 units at a sentence or word boundary, with an ellipsis."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    head = _cut(text, limit - 1)
    return head.rstrip() + "…"


def split_text(text: str, limit: int = SPLIT_AT) -> list[str]:
    """Split plain text into chunks of at most ``limit`` UTF-16 units (Telegram's measure)."""
    return split_chunks(text, limit, measure=utf16_len)


def _cut(text: str, limit: int) -> str:
    return prefix_that_fits(text, limit, measure=utf16_len)


def render_reply(reply: Reply, *, vote_buttons: bool = False) -> list[RenderedMessage]:
    """The Telegram messages for one reply: a card, a text, or a long text split in parts."""
    buttons = keyboard(reply.actions, vote_buttons=vote_buttons)
    if reply.card is not None:
        html_text, plain = render_card(reply.card, reply.text)
        return [RenderedMessage(html_text, plain, buttons)]
    text = reply.text or ""
    if not text.strip():
        return []
    if reply.kind == "long" or utf16_len(text) > SPLIT_AT:
        parts = split_text(text)
    else:
        parts = [text]
    messages = [RenderedMessage(escape(part), part) for part in parts]
    # Buttons go under the last part, where the reader ends up.
    messages[-1] = RenderedMessage(messages[-1].html, messages[-1].plain, buttons)
    return messages
