"""The platform-neutral conversation and how a piece is shown in it.

A command arrives as a ``Request`` (built by an adapter) and is answered with a ``Response``
of ``Reply`` messages; a delivered post is a ``Reply`` too. All text here is plain and
untrusted: adapters escape it for their markup (Telegram HTML, Discord markdown) and never
interpret it. This module also owns the one list of piece actions (reply commands and the
buttons under posts) and the neutral rendering of a piece as a card, a post and a digest, so
the handlers, the delivery worker and every adapter show a piece the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.types import ChatKind, Piece, SummaryLength, Translation

ReplyKind = Literal["info", "error", "long"]


# --- piece actions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PieceAction:
    """A reply command that acts on one piece, and how platforms offer it."""

    command: str
    label: str
    button: bool = False  # a button under every post
    needs_author: bool = False  # offered only for pieces with a known author
    menu: bool = False  # a message context-menu entry (Discord allows five)
    vote: bool = False  # a vote on the piece (a reaction where the platform has them)


# The one list: reply commands, buttons, callback data and context menus all read it.
PIECE_ACTIONS: tuple[PieceAction, ...] = (
    PieceAction("more", "More", button=True, menu=True),
    PieceAction("full", "Full text", button=True, menu=True),
    PieceAction("quote", "Quote", menu=True),
    PieceAction("author", "Author", button=True, needs_author=True, menu=True),
    PieceAction("similar", "Similar", button=True, menu=True),
    PieceAction("source", "Source"),
    PieceAction("follow", "Follow author", button=True, needs_author=True),
    PieceAction("save", "Save", button=True),
    PieceAction("unsave", "Unsave"),
    # Only under translated posts (post_for adds the button there): the post as written.
    PieceAction("original", "Original"),
    # Votes: buttons where the platform has no reactions the bot can read (Telegram's
    # adapter reads 👍/👎 reactions instead and leaves these buttons out).
    PieceAction("like", "👍", button=True, vote=True),
    PieceAction("dislike", "👎", button=True, vote=True),
)
ACTION_COMMANDS: frozenset[str] = frozenset(a.command for a in PIECE_ACTIONS)
VOTE_COMMANDS: frozenset[str] = frozenset(a.command for a in PIECE_ACTIONS if a.vote)


def is_piece_action(command: str) -> bool:
    return command in ACTION_COMMANDS


# --- the conversation --------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where posts can go inside a chat: a Telegram forum topic, a Discord thread."""

    chat_id: str  # the platform chat id (a Discord thread's own id)
    thread_id: str | None  # the Telegram topic id (None on Discord)
    title: str


# Made by the adapter for a command that may open a place of its own (``topic new``): it
# creates a topic or thread with that name, or raises ``PlaceError`` saying why it cannot.
OpenPlace = Callable[[str], Awaitable[Place]]


@dataclass
class Request:
    """One command from a chat, already parsed by the adapter."""

    platform: str  # "console" | "telegram" | "discord"
    chat_id: str  # the platform's chat id (channel id on Discord)
    user_id: str  # the platform's user id ("" when unknown, e.g. an anonymous channel post)
    command: str  # lower-case, without "/" and without "@BotName"
    args: str = ""  # the raw argument text after the command
    chat_kind: ChatKind = "private"
    thread_id: str | None = None  # Telegram forum topic / Discord thread the command came from
    chat_title: str | None = None
    is_chat_admin: bool = False  # the adapter's verdict; a private chat's user is its admin
    # The platform id of the message this one replies to (reply commands).
    reply_to_message_id: str | None = None
    piece_id: int | None = None  # set when a button (callback) names the piece directly
    # The adapter's verdict that the bot may post in this chat. A command from a chat shows
    # the bot is there again, so a chat marked gone (kicked, blocked, 403) comes back on;
    # Discord answers interactions even where the bot may not post, so it checks permissions.
    can_post: bool = True
    open_place: OpenPlace | None = None  # where the platform can make topics or threads
    # The channel a Discord thread belongs to: where its posts go if it is archived or deleted.
    parent_chat_id: str | None = None

    @property
    def user_key(self) -> str:
        """The ``platform:user_id`` form used by COMMENTARY_OWNERS."""
        return f"{self.platform}:{self.user_id}"


@dataclass
class Action:
    """A button under a message; pressing it runs ``command`` on the piece."""

    label: str
    command: str  # one of PIECE_ACTIONS
    piece_id: int


@dataclass
class PieceCard:
    """A piece as a post: adapters render it richly (link title, byline, summary)."""

    piece_id: int
    title: str
    url: str
    authors: list[str] = field(default_factory=list)
    outlet: str | None = None
    published: datetime | None = None
    summary: str | None = None
    summary_method: str | None = None
    also_in: list[tuple[str, str]] = field(default_factory=list)  # (outlet, url)
    standfirst: str | None = None
    translated_into: str | None = None  # the title and summary are a translation into this

    @property
    def method_note(self) -> str | None:
        """A label for machine-written summaries, so readers know what they are reading."""
        if self.translated_into and self.summary_method and self.summary_method.startswith("llm:"):
            return (
                f"Translated into {self.translated_into} by a language model "
                f"({self.summary_method[4:]}); /original shows the original"
            )
        if self.summary and self.summary_method and self.summary_method.startswith("llm:"):
            return f"Summary written by a language model ({self.summary_method[4:]})"
        return None

    @property
    def byline(self) -> str:
        return byline(self.authors, self.outlet, self.published)


@dataclass
class Reply:
    """One message of a response.

    ``kind`` tells adapters how to show it: ``"long"`` text is split at paragraph or sentence
    boundaries to the platform's message size; ``"error"`` is shown privately where the
    platform can (Discord ephemeral).
    """

    text: str = ""
    card: PieceCard | None = None
    actions: list[Action] = field(default_factory=list)
    kind: ReplyKind = "info"
    piece_id: int | None = None  # the piece this message is about, so replies map back


@dataclass
class Response:
    messages: list[Reply] = field(default_factory=list)
    # For the asker's eyes only (a read-later list): adapters answer in a direct message
    # (Telegram), ephemerally (Discord), or as usual where the chat is private anyway.
    private: bool = False

    @classmethod
    def text(cls, text: str, *, kind: ReplyKind = "info") -> Response:
        return cls([Reply(text=text, kind=kind)])

    @classmethod
    def error(cls, text: str) -> Response:
        return cls([Reply(text=text, kind="error")])

    @property
    def is_error(self) -> bool:
        return bool(self.messages) and all(m.kind == "error" for m in self.messages)

    def plain_text(self) -> str:
        """Everything the response says, as plain text (tests, logs, the console)."""
        parts: list[str] = []
        for message in self.messages:
            if message.card is not None:
                parts.append(message.card.title)
                if message.card.summary:
                    parts.append(message.card.summary)
            if message.text:
                parts.append(message.text)
        return "\n".join(parts)


# --- how a piece is shown ------------------------------------------------------------------------
def byline(authors: list[str], outlet: str | None, published: datetime | None) -> str:
    """``Ann Author, Bo Writer · The Outlet · 2026-11-29`` (absent parts left out)."""
    parts = []
    if authors:
        parts.append(", ".join(authors))
    if outlet:
        parts.append(outlet)
    if published:
        parts.append(published.strftime("%Y-%m-%d"))
    return " · ".join(parts)


def authors_line(authors: list[str]) -> str:
    """Authors joined for a heading: "A", "A and B", "A, B and C"."""
    names = [a.strip() for a in authors if a and a.strip()]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def piece_byline(piece: Piece) -> str:
    return byline(piece.authors, piece.outlet, piece.published)


def summary_for(piece: Piece, length: SummaryLength | str) -> str | None:
    """The stored summary of that length (the standard one when it is missing)."""
    if length == "short":
        return piece.summary_short or piece.summary
    if length == "long":
        return piece.summary_long or piece.summary
    return piece.summary


def card_for(
    piece: Piece,
    length: SummaryLength | str = "standard",
    *,
    summary: str | None = None,
    method: str | None = None,
) -> PieceCard:
    """The piece as a card; ``summary``/``method`` replace its stored summary (snippets)."""
    return PieceCard(
        piece_id=piece.id,
        title=piece.title,
        url=piece.url,
        authors=list(piece.authors),
        outlet=piece.outlet,
        published=piece.published,
        summary=summary if summary is not None else summary_for(piece, length),
        summary_method=method or piece.summary_method,
        # A second address at the same outlet is not syndication worth announcing.
        also_in=other_outlets(piece),
        standfirst=piece.standfirst,
    )


def post_actions(piece_id: int, *, has_author: bool) -> list[Action]:
    """The buttons under a post of that piece."""
    return [
        Action(a.label, a.command, piece_id)
        for a in PIECE_ACTIONS
        if a.button and (has_author or not a.needs_author)
    ]


def post_for(
    piece: Piece,
    length: SummaryLength | str = "standard",
    *,
    translation: Translation | None = None,
) -> Reply:
    """A piece as the bot posts it: a card with the action buttons.

    With a ``translation`` the card shows the translated title and summary, labelled, and an
    "Original" button brings the original one tap away.
    """
    card = card_for(piece, length)
    actions = post_actions(piece.id, has_author=bool(piece.authors))
    if translation is not None:
        translate_card(card, translation)
        actions.insert(0, Action("Original", "original", piece.id))
    return Reply(card=card, actions=actions, piece_id=piece.id)


def translate_card(card: PieceCard, translation: Translation) -> None:
    """Show ``translation``'s title and summary on ``card``, labelled as a translation."""
    card.title = translation.title
    card.summary = translation.summary
    card.summary_method = translation.method
    card.translated_into = translation.language
    card.standfirst = None  # not translated: the summary stands for it


def digest_for(
    pieces: list[Piece],
    length: SummaryLength | str,
    translations: Mapping[int, Translation] | None = None,
) -> Reply:
    """One message listing the pieces: title, byline, short summary, link.

    A piece in ``translations`` shows its translated title and summary, labelled.
    """
    count = len(pieces)
    blocks = [f"Your digest: {count} piece{'s' if count != 1 else ''}"]
    for piece in pieces:
        translated = (translations or {}).get(piece.id)
        block = [f"• {translated.title if translated else piece.title}"]
        line = piece_byline(piece)
        if line:
            block.append(f"  {line}")
        if translated:
            summary: str | None = translated.summary
        else:
            summary = summary_for(piece, digest_length(length))
        if summary:
            block.append(f"  {summary}")
        if translated:
            block.append(f"  (translated into {translated.language} by a language model)")
        block.append(f"  {piece.url}")
        blocks.append("\n".join(block))
    return Reply(text="\n\n".join(blocks), kind="long")


def digest_length(length: SummaryLength | str) -> SummaryLength:
    """The summary length a digest shows for a chat's length setting."""
    return "short" if length == "short" else "standard"


def held_back_text(pieces: list[Piece]) -> str:
    """The pieces relevance held back, listed so nothing is dropped silently."""
    count = len(pieces)
    lines = [
        f"Held back: {count} piece{'s' if count != 1 else ''} closer to what this chat "
        "disliked than to what it liked (/settings relevance off stops this):"
    ]
    for piece in pieces:
        lines.append(f"• {piece.title}\n  {piece.url}")
    return "\n".join(lines)


def other_outlets(piece: Piece) -> list[tuple[str, str]]:
    """Where else the piece ran: one (outlet, url) per outlet, never the piece's own outlet.

    A second address at the same outlet is not syndication worth announcing, and two copies
    at one other outlet read as "also in: X, X".
    """
    seen = {piece.outlet.casefold()} if piece.outlet else set()
    found = []
    for outlet, url in piece.also_in:
        key = outlet.casefold() if outlet else url
        if key in seen:
            continue
        seen.add(key)
        found.append((outlet, url))
    return found
