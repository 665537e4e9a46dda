"""The contract between the platform-neutral delivery worker and a platform adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply
from bot.types import Chat


@dataclass(frozen=True)
class PlatformLimits:
    """The pacing a platform asks for; the worker keeps to it (adapters must not pace again)."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0  # for group/channel chats (Telegram's limit)


class Sender(Protocol):
    """Implemented by each adapter: send one post to one chat and return its message id.

    Raises the errors in ``bot.delivery.errors``: ``RetryLater``, ``ChatGone``,
    ``ChatMigrated``, ``PermanentError``, or ``DeliveryError`` for anything retryable.
    """

    platform: str
    limits: PlatformLimits

    async def send_post(self, chat: Chat, post: Reply) -> str: ...


class Editor(Protocol):
    """A sender that can also edit a post it sent (corrections in place).

    Raises like ``send_post``; ``PermanentError`` when the message is gone or too old to edit.
    An edit to the very text the message already has counts as done.
    """

    async def edit_post(self, chat: Chat, message_id: str, post: Reply) -> None: ...
