"""Who administers a Telegram chat: the adapter's verdict for ``Request.is_chat_admin``.

Group admin lists are cached for a few minutes (one getChatAdministrators per chat, not one
per command); a change of the bot's own membership drops the chat's entry.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot, ChatMember, Message
from telegram.constants import ChatType
from telegram.error import TelegramError

log = logging.getLogger(__name__)

ADMIN_STATUSES = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}


class AdminCheck:
    """Answers "does this user administer this chat?" with a short-lived cache."""

    def __init__(self, bot: Bot, cache_seconds: float = 300.0) -> None:
        self.bot = bot
        self.cache_seconds = cache_seconds
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}

    def forget(self, chat_id: int) -> None:
        """Drop the cached admins of a chat (the bot's membership there changed)."""
        self._admins.pop(chat_id, None)

    async def sender_is_admin(self, message: Message) -> bool:
        """Whether whoever sent ``message`` administers its chat."""
        tg_chat = message.chat
        if tg_chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            return True  # a private chat's user owns it; only admins post in a channel
        if message.sender_chat is not None:
            # An anonymous admin posts as the group itself; a linked channel's post does not count.
            return message.sender_chat.id == tg_chat.id
        if message.from_user is None:
            return False
        return await self.user_is_admin(tg_chat.id, tg_chat.type, message.from_user.id)

    async def user_is_admin(self, chat_id: int, chat_type: str, user_id: int) -> bool:
        """Whether a user administers a chat (a private chat's user always does)."""
        if chat_type in (ChatType.PRIVATE,):
            return True
        if chat_type == ChatType.CHANNEL:
            # Button presses in a channel: any subscriber can press, so ask.
            return await self.member_is_admin(chat_id, user_id)
        cached = self._admins.get(chat_id)
        now = time.monotonic()
        if cached is None or cached[0] < now:
            try:
                admins = await self.bot.get_chat_administrators(chat_id)
            except TelegramError as exc:
                log.info("getChatAdministrators %s failed: %s", chat_id, exc)
                return await self.member_is_admin(chat_id, user_id)
            ids = frozenset(member.user.id for member in admins)
            cached = (now + self.cache_seconds, ids)
            self._admins[chat_id] = cached
        return user_id in cached[1]

    async def member_is_admin(self, chat_id: int, user_id: int) -> bool:
        try:
            member = await self.bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.info("getChatMember %s/%s failed: %s", chat_id, user_id, exc)
            return False
        return member.status in ADMIN_STATUSES
