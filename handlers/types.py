"""The platform-neutral conversation: what a command asks (Request) and what the bot says back.

Adapters build a ``Request`` from a platform update and render a ``Response``. All text in a
``Reply`` is plain, untrusted text: adapters escape it for their markup (Telegram HTML, Discord
markdown) and never interpret it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.types import ChatKind

# Reply commands and buttons act on one piece; these are their names (a button's command).
PIECE_ACTIONS = ("more", "full", "quote", "author", "similar", "source", "follow")


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

    @property
    def method_note(self) -> str | None:
        """A label for machine-written summaries, so readers know what they are reading."""
        if self.summary and self.summary_method and self.summary_method.startswith("llm:"):
            return f"Summary written by a language model ({self.summary_method[4:]})"
        return None


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
    kind: Literal["info", "error", "long"] = "info"
    piece_id: int | None = None  # the piece this message is about, so replies map back


@dataclass
class Response:
    messages: list[Reply] = field(default_factory=list)

    @classmethod
    def text(cls, text: str, *, kind: Literal["info", "error", "long"] = "info") -> Response:
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
