"""Pure rendering for Discord: escaping, embeds within Discord's limits, message splitting.

No network and no client here, so every rule is tested without a server. All text from the
core is plain and untrusted (titles and summaries come from the web): it is escaped for
Discord markdown and mentions before it reaches a message, and every message is also sent
with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import re

import discord

from bot.adapters.text import safe_url as shared_safe_url
from bot.adapters.text import split_text
from bot.bidi import directional
from bot.messages import PieceCard, authors_line

# Discord's documented limits.
MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FOOTER_LIMIT = 2048
EMBED_AUTHOR_LIMIT = 256
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
EMBED_URL_LIMIT = 2048
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
CHOICE_LIMIT = 100  # autocomplete choice name and value

ELLIPSIS = "…"
EMBED_COLOUR = 0x3B6EA5

# Control characters other than newline/tab make Discord reject or garble text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str | None) -> str:
    """Text without control characters (newlines and tabs kept)."""
    return _CONTROL.sub("", text or "")


def escape(text: str | None) -> str:
    """Plain text made inert for Discord: markdown escaped and mentions broken.

    ``escape_markdown`` keeps links working; ``escape_mentions`` puts a zero-width space after
    ``@`` so ``@everyone`` shows as text even where allowed_mentions would not apply (embeds).
    """
    return discord.utils.escape_mentions(discord.utils.escape_markdown(clean(text)))


def plain(text: str | None) -> str:
    """For fields Discord does not render as markdown (embed author, footer, button labels)."""
    return discord.utils.escape_mentions(clean(text))


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis, never leaving a dangling escape."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    # A trailing lone backslash would escape the ellipsis (or the next message's first char).
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    cut = cut.rstrip()
    return cut + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """The URL if Discord will accept it as an embed/link URL (http(s), not too long)."""
    return shared_safe_url(url, max_length=EMBED_URL_LIMIT)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into whole-paragraph/sentence chunks of at most ``limit`` characters."""
    return split_text(text, limit)


def piece_embed(card: PieceCard, extra_text: str | None = None) -> discord.Embed:
    """A piece as an embed: linked title, author, summary, outlet footer, published timestamp.

    Each field is cut to its own limit, then the description is shortened further if the
    whole embed would pass Discord's 6,000-character total.
    """
    title = truncate(escape(directional(card.title)) or "(untitled)", EMBED_TITLE_LIMIT)
    embed = discord.Embed(title=title, url=safe_url(card.url), colour=EMBED_COLOUR)
    author = truncate(plain(authors_line(card.authors)), EMBED_AUTHOR_LIMIT)
    if author:
        embed.set_author(name=author)
    footer_parts = [card.outlet or "", card.method_note or ""]
    footer = truncate(plain(" · ".join(p for p in footer_parts if p)), EMBED_FOOTER_LIMIT)
    if footer:
        embed.set_footer(text=footer)
    if card.published is not None:
        embed.timestamp = card.published

    parts: list[str] = []
    if card.summary:
        parts.append(escape(directional(card.summary)))
    elif card.standfirst:
        parts.append(escape(directional(card.standfirst)))
    if extra_text:
        parts.append(escape(extra_text))
    also = [
        f"[{escape(outlet)}]({url})" for outlet, url in card.also_in if safe_url(url) and outlet
    ]
    if also:
        parts.append("Also in: " + ", ".join(also))
    description = "\n\n".join(p for p in parts if p)

    budget = EMBED_TOTAL_LIMIT - len(title) - len(author) - len(footer)
    description = truncate(description, min(EMBED_DESCRIPTION_LIMIT, budget))
    if description:
        embed.description = description
    return embed


def embed_size(embed: discord.Embed) -> int:
    """The characters Discord counts toward the 6,000 total."""
    return len(embed)


def button_label(label: str) -> str:
    return truncate(plain(label), BUTTON_LABEL_LIMIT) or "…"


def choice_text(value: str) -> str:
    """An autocomplete choice name/value: one line, at most 100 characters."""
    return truncate(" ".join(clean(value).split()), CHOICE_LIMIT)


def sanitize_query(value: str | None, limit: int = 100) -> str:
    """What the user typed into an autocompleted option, made safe to pass to the core."""
    return " ".join(clean(value).split())[:limit]
