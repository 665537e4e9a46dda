"""Sending to Telegram: outbox posts for the delivery worker, answers to commands, and
Telegram's errors mapped to the delivery errors the worker understands.

The worker paces from ``limits``, so PTB's own rate limiter is deliberately not used (two
pacers would fight).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.error import ChatMigrated as TgChatMigrated
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.calls import safely
from bot.adapters.telegram.admins import AdminCheck
from bot.adapters.telegram.rendering import RenderedMessage, render_reply
from bot.delivery.errors import (
    ChatGone,
    ChatMigrated,
    DeliveryError,
    PermanentError,
    RetryLater,
)
from bot.delivery.sender import PlatformLimits
from bot.messages import Reply, Response
from bot.types import Chat

if TYPE_CHECKING:
    from bot.adapters.telegram.lifecycle import TelegramAdapter
    from bot.core import Core

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# Interactive replies wait this long at most when Telegram says "retry after".
MAX_INLINE_RETRY = 5.0


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after becomes a timedelta; both shapes are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _is_parse_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "can't parse entities" in text or "can't find end tag" in text or "entity" in text


def _is_gone_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(
        phrase in text
        for phrase in (
            "chat not found",
            "need administrator rights",
            "not enough rights",
            "have no rights to send",
            "message thread not found",
            "topic_closed",
            "topic_deleted",
        )
    )


def _markup(rendered: RenderedMessage) -> InlineKeyboardMarkup | None:
    if not rendered.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in rendered.buttons
        ]  # fmt: skip
    )


class TelegramSender:
    """The ``Sender`` for Telegram deliveries, and how command answers reach a chat."""

    platform = PLATFORM

    def __init__(self, adapter: TelegramAdapter, limits: PlatformLimits) -> None:
        self.adapter = adapter  # whose lifecycle decides whether this sender can send
        self.core: Core = adapter.core
        self.limits = limits
        self.bot: Bot | None = None  # set while the adapter runs
        self._admins: AdminCheck | None = None  # is the bot an admin (does it see reactions)

    def health(self) -> str | None:
        """Why Telegram is not healthy, or None (the core's /healthz asks)."""
        return self.adapter.health()

    async def send_post(self, chat: Chat, post: Reply) -> str:
        """Sender: deliver one post to a chat; returns the (first) message id."""
        if self.bot is None:
            raise DeliveryError("the Telegram adapter is not running")
        chat_id = int(chat.platform_chat_id)
        thread_id = int(chat.thread_id) if chat.thread_id else None
        parts = render_reply(post, vote_buttons=await self.vote_buttons(chat))
        if not parts:
            raise PermanentError("empty post")
        previews = bool(chat.settings.link_previews)
        first = await self._send(chat_id, thread_id, parts[0], post, None, previews)
        rest: list[tuple[str, int | None]] = []
        for part in parts[1:]:
            # The first part is out: raising now would make the worker post it twice, so later
            # parts get one short wait on 429 and are otherwise logged and dropped.
            try:
                message_id = await self._send(
                    chat_id, thread_id, part, post, None, previews, wait_once=True
                )
                rest.append((message_id, post.piece_id))
            except DeliveryError as exc:
                log.warning("part of a long post to %s not sent: %s", chat_id, exc)
                break
        if rest:
            await safely(self.core.record_messages(PLATFORM, chat.platform_chat_id, rest))
        return first

    async def vote_buttons(self, chat: Chat) -> bool:
        """Whether posts there need 👍/👎 buttons: Telegram tells a bot about reactions in
        private chats and in groups where it is an administrator; channel reactions are
        anonymous, so members vote with buttons there and in groups where it is not."""
        if chat.kind == "private" or self.bot is None:
            return False
        if chat.kind == "channel":
            return True
        if self._admins is None or self._admins.bot is not self.bot:
            self._admins = AdminCheck(self.bot)
        chat_id = int(chat.platform_chat_id)
        return not await self._admins.user_is_admin(chat_id, ChatType.SUPERGROUP, self.bot.id)

    async def edit_post(self, chat: Chat, message_id: str, post: Reply) -> None:
        """Editor: rewrite a post in place (editMessageText; a correction)."""
        bot = self.bot
        if bot is None:
            raise DeliveryError("the Telegram adapter is not running")
        parts = render_reply(post, vote_buttons=await self.vote_buttons(chat))
        if not parts or not message_id.isdigit():
            raise PermanentError("nothing to edit")
        rendered = parts[0]  # a long post's later parts are its full text, not the summary
        previews = bool(chat.settings.link_previews)
        preview_url = post.card.url if post.card is not None and previews else None
        try:
            await bot.edit_message_text(
                text=rendered.html,
                chat_id=int(chat.platform_chat_id),
                message_id=int(message_id),
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(rendered),
                link_preview_options=LinkPreviewOptions(is_disabled=not previews, url=preview_url),
            )
        except RetryAfter as exc:
            raise RetryLater(_retry_seconds(exc)) from None
        except Forbidden as exc:
            raise ChatGone(exc.message) from None
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return  # it already reads so
            if _is_gone_error(exc):
                raise ChatGone(exc.message) from None
            # Deleted, too old to edit, or refused: nothing more to do for this post.
            raise PermanentError(exc.message) from None
        except TelegramError as exc:
            raise DeliveryError(str(exc)) from None

    async def previews(self, chat_id: int, thread_id: int | None) -> bool:
        """The chat's link-preview setting (off for a chat the core has not seen)."""
        settings = await self.core.chat_settings(
            PLATFORM, str(chat_id), str(thread_id) if thread_id else None
        )
        return bool(settings.link_previews)

    async def send_response(
        self,
        chat_id: int,
        thread_id: int | None,
        response: Response,
        *,
        reply_to: int | None = None,
        record: bool = True,
        link_previews: bool = False,
    ) -> list[str]:
        """Send a command's response into a chat (topic); record ids so replies map back."""
        sent: list[tuple[str, int | None]] = []
        for reply in response.messages:
            for rendered in render_reply(reply):
                try:
                    message_id = await self._send(
                        chat_id, thread_id, rendered, reply, reply_to, link_previews, wait_once=True
                    )
                except DeliveryError as exc:
                    log.info("reply to telegram chat %s not sent: %s", chat_id, exc)
                    if isinstance(exc, ChatGone):
                        await safely(self.core.chat_gone(PLATFORM, str(chat_id), exc.reason))
                    if isinstance(exc, ChatMigrated):
                        await safely(
                            self.core.chat_migrated(PLATFORM, str(chat_id), exc.new_chat_id)
                        )
                    return [m for m, _ in sent]
                sent.append((message_id, reply.piece_id))
                reply_to = None  # only the first message quotes the command
        if record and sent:
            await safely(self.core.record_messages(PLATFORM, str(chat_id), sent))
        return [m for m, _ in sent]

    async def _send(
        self,
        chat_id: int,
        thread_id: int | None,
        rendered: RenderedMessage,
        reply: Reply,
        reply_to: int | None,
        link_previews: bool,
        *,
        wait_once: bool = False,
    ) -> str:
        """One sendMessage; with ``wait_once`` a short "retry after" is waited out once.

        Someone waiting for an answer (or for the rest of a post already begun) is better
        served by a short wait than by a dropped message; the worker paces everything else.
        """
        bot = self.bot
        if bot is None:
            raise DeliveryError("the Telegram adapter is not running")
        preview_url = reply.card.url if reply.card is not None and link_previews else None
        kwargs: dict[str, Any] = {
            "chat_id": chat_id,
            "message_thread_id": thread_id,
            "reply_markup": _markup(rendered),
            "link_preview_options": LinkPreviewOptions(
                is_disabled=not link_previews, url=preview_url
            ),
        }
        if reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=True
            )
        while True:
            try:
                return await _send_message(bot, rendered, kwargs)
            except RetryLater as exc:
                if not wait_once or exc.seconds > MAX_INLINE_RETRY:
                    raise
                wait_once = False
                await asyncio.sleep(exc.seconds)


async def _send_message(bot: Bot, rendered: RenderedMessage, kwargs: dict[str, Any]) -> str:
    """One sendMessage with Telegram errors mapped to delivery errors.

    A formatting rejection is retried once as plain text (the escaping should make this
    impossible, so it is logged loudly enough to find).
    """
    try:
        try:
            message = await bot.send_message(
                text=rendered.html, parse_mode=ParseMode.HTML, **kwargs
            )
        except BadRequest as exc:
            if not _is_parse_error(exc):
                raise
            log.warning("Telegram refused our HTML (%s); sending plain text", exc.message)
            message = await bot.send_message(text=rendered.plain, **kwargs)
    except RetryAfter as exc:
        raise RetryLater(_retry_seconds(exc)) from None
    except TgChatMigrated as exc:
        raise ChatMigrated(str(exc.new_chat_id)) from None
    except Forbidden as exc:
        raise ChatGone(exc.message) from None
    except BadRequest as exc:
        if _is_gone_error(exc):
            raise ChatGone(exc.message) from None
        raise PermanentError(exc.message) from None
    except TelegramError as exc:  # network trouble, timeouts, 5xx
        raise DeliveryError(str(exc)) from None
    return str(message.message_id)
