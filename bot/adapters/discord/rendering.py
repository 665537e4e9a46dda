"""Rendering for Discord: escaping, embeds within Discord's limits, message splitting, and a
neutral ``Reply`` as Discord messages with persistent buttons.

No network and no client here, so every rule is tested without a server. All text from the
core is plain and untrusted (titles and summaries come from the web): it is escaped for
Discord markdown and mentions before it reaches a message, and every message is also sent
with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord

from bot.adapters.text import safe_url as shared_safe_url
from bot.adapters.text import split_text
from bot.bidi import directional
from bot.messages import Action, PieceCard, Reply, Response, authors_line, is_piece_action

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

NONE_MENTIONED = discord.AllowedMentions.none()

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


# --------------------------------------------------------------------------- replies as messages


@dataclass
class Outgoing:
    """One Discord message made from (part of) a core ``Reply``."""

    content: str | None = None
    embed: discord.Embed | None = None
    actions: tuple[Action, ...] = ()
    piece_id: int | None = None
    error: bool = False

    def view(self) -> discord.ui.View | None:
        """Buttons as a stopped view: rendered into the message but not kept in memory.

        Presses are routed by :class:`PieceButton` (a DynamicItem matched on custom_id), so
        no view needs to live in discord.py's store, and buttons keep working after a restart.
        """
        if not self.actions:
            return None
        view = discord.ui.View(timeout=None)
        for action in self.actions[:25]:
            view.add_item(PieceButton(action.command, str(action.piece_id), action.label))
        view.stop()
        return view

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for send/send_message/edit (without ephemeral)."""
        result: dict[str, Any] = {"allowed_mentions": NONE_MENTIONED}
        if self.content:
            result["content"] = self.content
        if self.embed is not None:
            result["embed"] = self.embed
        view = self.view()
        if view is not None:
            result["view"] = view
        return result

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for editing a message into this one."""
        kwargs = self.kwargs()
        # An edit keeps fields it is not given; say "no embed"/"no text" explicitly.
        kwargs.setdefault("content", None)
        kwargs.setdefault("embed", None)
        return kwargs


def render_reply(reply: Reply) -> list[Outgoing]:
    """A core Reply as Discord messages: text split under 2,000 characters, a card as embed."""
    piece_id = reply.piece_id or (reply.card.piece_id if reply.card else None)
    error = reply.kind == "error"
    # Every kind is split, not only "long": an over-long "info" must still be delivered whole.
    chunks = split_message(escape(reply.text), MESSAGE_LIMIT)
    actions = tuple(a for a in reply.actions if is_piece_action(a.command))
    out = [Outgoing(content=chunk, piece_id=piece_id, error=error) for chunk in chunks]
    if reply.card is not None:
        embed = piece_embed(reply.card)
        if out and len(out[-1].content or "") <= MESSAGE_LIMIT:
            out[-1].embed = embed
        else:
            out.append(Outgoing(embed=embed, piece_id=piece_id, error=error))
    if not out:
        return []
    out[-1].actions = actions
    return out


def render_response(response: Response) -> list[Outgoing]:
    return [item for reply in response.messages for item in render_reply(reply)]


class PieceButton(discord.ui.DynamicItem[discord.ui.Button], template=r"cb:(?P<rest>.{0,97})"):
    """A button whose custom_id names the action and the piece: ``cb:more:123``.

    Registered once with ``client.add_dynamic_items``, it is rebuilt from the custom_id of any
    press, so buttons on posts made before a restart keep working. The template is loose on
    purpose: stale or forged ids (``cb:delete:1``, ``cb:more:abc``) still reach the adapter,
    which answers "this button no longer works" instead of staying silent.
    """

    def __init__(self, action: str, piece_ref: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=button_label(label or action.title()),
                style=discord.ButtonStyle.secondary,
                custom_id=f"cb:{action}:{piece_ref}"[:CUSTOM_ID_LIMIT],
            )
        )
        self.action = action
        self.piece_ref = piece_ref

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PieceButton:
        action, _, piece_ref = match["rest"].partition(":")
        return cls(action, piece_ref, item.label if isinstance(item, discord.ui.Button) else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        # The client is ours (lifecycle's _Client): it knows where presses go.
        interactions = getattr(interaction.client, "interactions", None)
        if interactions is not None:
            await interactions.on_button(interaction, self.action, self.piece_ref)
