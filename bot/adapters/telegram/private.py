"""Answers for the asker's eyes only (``Response.private``, e.g. a read-later list) given to a
command or a button in a group: a direct message, or a deep link to start one.

Telegram lets a bot write first only to people who started it, so a user who never did gets
a button (or, for a button press, the callback's URL) that opens the private chat.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import TelegramError

from bot.messages import Response

if TYPE_CHECKING:
    from bot.adapters.telegram.sender import TelegramSender

log = logging.getLogger(__name__)

SENT_PRIVATELY = "I sent you the answer in our private chat."
START_FIRST = (
    "I can only answer that privately, and you have not started a private chat with "
    "me yet. Press the button, then Start."
)
POPUP_LIMIT = 190  # characters a callback answer shows


def start_link(bot: Bot, payload: str) -> str:
    """The deep link that opens a private chat with the bot and sends ``/start payload``."""
    return f"https://t.me/{bot.username}?start={payload}"


async def send_direct(sender: TelegramSender, user_id: int, response: Response) -> bool:
    """Send a private answer to the user's own chat; False when the user never started the
    bot (Telegram lets a bot write only to people who did) or blocked it."""
    return bool(await sender.send_response(user_id, None, response))


async def answer_privately(
    sender: TelegramSender,
    bot: Bot,
    user_id: int,
    chat_id: int,
    thread: int | None,
    response: Response,
    reply_to: int,
) -> None:
    """A private answer to a command in a group: a direct message, and a word in the group."""
    if await send_direct(sender, user_id, response):
        note = Response.text(SENT_PRIVATELY)
        await sender.send_response(chat_id, thread, note, reply_to=reply_to, record=False)
        return
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Open a private chat", url=start_link(bot, "saved"))]]
    )
    try:
        await bot.send_message(
            chat_id=chat_id,
            message_thread_id=thread,
            text=START_FIRST,
            reply_markup=markup,
            reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True),
        )
    except TelegramError as exc:
        log.info("start hint to telegram chat %s not sent: %s", chat_id, exc)


async def answer_callback_privately(
    sender: TelegramSender, bot: Bot, query: CallbackQuery, response: Response
) -> str | None:
    """A private answer to a button in a group: the popup text when it is short, else a
    direct message (then a short popup); a user who never started the bot gets the deep link.

    Returns the popup text to answer the query with; None when the query was answered here.
    """
    text = response.plain_text()
    if len(response.messages) == 1 and len(text) <= POPUP_LIMIT:
        return text
    if await send_direct(sender, query.from_user.id, response):
        return "Sent to you in our private chat."
    try:
        await query.answer(url=start_link(bot, "saved"))
    except TelegramError as exc:
        log.info("answerCallbackQuery with a start link failed: %s", exc)
    return None
