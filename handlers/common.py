"""Helpers the handlers share: the current chat, piece lookup for reply actions, cards."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.errors import UsageError
from bot.messages import Reply, Request, post_for
from bot.types import Chat, Piece

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_PIECE_ID = 2**63 - 1  # SQLite's largest integer: a bigger one cannot even be looked up


async def current_chat(request: Request, services: Services) -> Chat:
    """The chat the request came from, registered on first sight.

    A chat marked gone (the bot was kicked or blocked, a post got a 403) that talks to the bot
    again, where the bot may post, is active again: its subscriptions deliver from now on.
    """
    chat = await services.store.ensure_chat(
        request.platform,
        request.chat_id,
        kind=request.chat_kind,
        thread_id=request.thread_id,
        title=request.chat_title,
    )
    if chat.active or not request.can_post:
        return chat
    log.info(
        "chat %s:%s active again (was: %s)", chat.platform, chat.platform_chat_id,
        chat.inactive_reason,
    )  # fmt: skip
    return await services.store.ensure_chat(
        request.platform,
        request.chat_id,
        kind=request.chat_kind,
        thread_id=request.thread_id,
        reactivate=True,
    )


async def piece_from_request(request: Request, services: Services) -> Piece:
    """The piece a reply command or button acts on; UsageError when there is none."""
    piece_id = request.piece_id
    if piece_id is None and request.reply_to_message_id:
        piece_id = await services.store.piece_for_message(
            request.platform, request.chat_id, request.reply_to_message_id
        )
        if piece_id is None:
            raise UsageError("That message is not one of my posts.")
    number = request.args.strip().lstrip("#")
    if piece_id is None and number.isascii() and number.isdigit():
        piece_id = int(number)
    if piece_id is None:
        raise UsageError(f"Reply to one of my posts with /{request.command}.")
    if not 0 < piece_id <= MAX_PIECE_ID:
        shown = str(piece_id) if len(str(piece_id)) <= 20 else str(piece_id)[:20] + "…"
        raise UsageError(f"There is no piece #{shown}.")
    piece = await services.store.get_piece(piece_id)
    if piece is None:
        raise UsageError("I no longer have that piece.")
    return piece


def split_args(text: str) -> list[str]:
    return text.split()


def parse_count(token: str, *, low: int = 1, high: int = 10) -> int:
    try:
        value = int(token)
    except ValueError:
        raise UsageError(f"{token[:20]!r} is not a number.") from None
    if not low <= value <= high:
        raise UsageError(f"n must be between {low} and {high}.")
    return value


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 entry``, ``2 entries``: counts read like sentences."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


async def posts_for(pieces: list[Piece], chat: Chat, services: Services) -> list[Reply]:
    """The pieces as this chat reads its posts: translated when it asked for a language.

    Translations come from the same cache and budget as delivered posts (asked together, so a
    few pieces cost one model round trip of waiting); a piece that cannot be translated is
    shown as written.
    """
    length = chat.settings.length
    translator = services.translator
    if not chat.settings.translate or translator is None:
        return [post_for(p, length) for p in pieces]
    made = await asyncio.gather(
        *(translator.translate(p, chat.settings.translate, length) for p in pieces)
    )
    return [post_for(p, length, translation=t) for p, t in zip(pieces, made, strict=True)]
