"""Posting outbox pieces to Discord channels and threads, with Discord's errors mapped to the
delivery errors the core's worker understands (which paces the sender)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

import aiohttp
import discord

from bot.adapters.discord.chats import PLATFORM, ChatAccess
from bot.adapters.discord.rendering import render_reply
from bot.delivery.errors import ChatGone, DeliveryError, PermanentError, RetryLater
from bot.delivery.sender import PlatformLimits
from bot.messages import Reply, post_actions
from bot.types import Chat

log = logging.getLogger(__name__)

MAX_SNOWFLAKE = (1 << 63) - 1

# Error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_DM_USER = 50007
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
ARCHIVED_THREAD = 50083
CHAT_GONE_CODES = {
    MISSING_ACCESS: "missing access",
    MISSING_PERMISSIONS: "missing permissions",
    CANNOT_DM_USER: "cannot message this user",
    UNKNOWN_CHANNEL: "unknown channel",
    ARCHIVED_THREAD: "thread archived or locked",
}


class DiscordSender:
    """Sends outbox posts to Discord channels and threads (the core's worker paces it)."""

    platform = PLATFORM
    # Discord: ~50 requests/s per bot and 5 messages per 5 s per channel. Kept under both.
    limits = PlatformLimits(
        global_per_second=40.0, per_chat_per_second=1.0, per_group_per_minute=60.0
    )

    def __init__(self, access: ChatAccess, health: Callable[[], str | None]) -> None:
        self.access = access
        self._health = health

    def health(self) -> str | None:
        """Why Discord is not healthy, or None (the core's /healthz asks)."""
        return self._health()

    async def send_post(self, chat: Chat, post: Reply) -> str:
        """Send one post; returns the id of the message that carries the piece."""
        client = self.access.client
        if client is None or client.is_closed():
            raise DeliveryError("Discord client is not running")
        target = chat.platform_chat_id
        if not target.isdigit() or not 0 < int(target) <= MAX_SNOWFLAKE:
            raise ChatGone(f"invalid Discord channel id {target[:30]!r}")
        if post.card is not None and not post.actions:
            card = post.card
            actions = post_actions(card.piece_id, has_author=bool(card.authors))
            post = dataclasses.replace(post, actions=actions)
        channel = client.get_partial_messageable(int(target))
        outgoing = render_reply(post)
        if not outgoing:
            raise PermanentError("empty post")
        carrier: str | None = None
        for index, item in enumerate(outgoing):
            try:
                message = await channel.send(**item.kwargs())
            except Exception as exc:
                error = self._translate(exc, chat)
                if carrier is not None or index > 0:
                    # Part of the post is out: resending would duplicate it, so stop here.
                    log.warning("Discord post to %s cut short: %s", target, error)
                    break
                raise error from None
            if carrier is None or item.embed is not None:
                carrier = str(message.id)
        assert carrier is not None
        return carrier

    async def edit_post(self, chat: Chat, message_id: str, post: Reply) -> None:
        """Editor: rewrite a post in place (a correction); its buttons stay as they were."""
        client = self.access.client
        if client is None or client.is_closed():
            raise DeliveryError("Discord client is not running")
        target = chat.platform_chat_id
        if not (target.isdigit() and message_id.isdigit()):
            raise PermanentError(f"not a Discord message: {target[:30]}/{message_id[:30]}")
        outgoing = [item for item in render_reply(post) if item.embed is not None]
        if not outgoing:
            raise PermanentError("empty post")
        message = client.get_partial_messageable(int(target)).get_partial_message(int(message_id))
        try:
            await message.edit(**outgoing[0].edit_kwargs())
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:  # deleted by someone: nothing left to correct
                raise PermanentError("the post was deleted") from None
            raise self._translate(exc, chat) from None
        except Exception as exc:
            raise self._translate(exc, chat) from None

    def _translate(self, exc: Exception, chat: Chat) -> DeliveryError:
        if isinstance(exc, discord.RateLimited):
            return RetryLater(exc.retry_after)
        if isinstance(exc, discord.HTTPException):
            code = exc.code
            if code in CHAT_GONE_CODES:
                reason = f"Discord {code}: {CHAT_GONE_CODES[code]}"
                if code in (MISSING_PERMISSIONS, MISSING_ACCESS):
                    self.access.note_lost_access(chat.platform_chat_id, CHAT_GONE_CODES[code])
                return ChatGone(reason)
            if exc.status == 404:
                return ChatGone(f"Discord 404 ({code})")
            if exc.status >= 500:
                return DeliveryError(f"Discord server error {exc.status}")
            if exc.status == 429:
                return RetryLater(5.0)
            return PermanentError(
                f"Discord refused the message: {exc.status} {code} {exc.text[:200]}"
            )
        if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
            return DeliveryError(f"network error: {type(exc).__name__}")
        return DeliveryError(f"unexpected {type(exc).__name__}")
