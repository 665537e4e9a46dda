"""Forum topics as places: ``/subscribe … topic new`` opens one named after what it follows."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.errors import PlaceError
from bot.messages import Place

log = logging.getLogger(__name__)

NO_TOPICS = "This group has no topics: turn Topics on in its settings first."
NO_RIGHT = (
    "I can't create topics here: make me an administrator with the right to manage topics, "
    "then try again."
)


async def open_topic(bot: Bot, chat_id: int, name: str) -> Place:
    """A new forum topic in the chat (``PlaceError`` says why not: no topics, no right)."""
    try:
        topic = await bot.create_forum_topic(chat_id=chat_id, name=name[:128])
    except RetryAfter:
        raise PlaceError("Telegram asks me to wait a little; try again in a minute.") from None
    except (BadRequest, Forbidden) as exc:
        log.info("createForumTopic in %s refused: %s", chat_id, exc.message)
        raise PlaceError(NO_TOPICS if "forum" in exc.message.lower() else NO_RIGHT) from None
    except TelegramError as exc:
        log.info("createForumTopic in %s failed: %s", chat_id, exc)
        raise PlaceError("Telegram did not create the topic; try again in a moment.") from None
    return Place(str(chat_id), str(topic.message_thread_id), topic.name)
