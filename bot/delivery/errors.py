"""What a platform sender may raise; the delivery worker decides what each one means."""

from __future__ import annotations

from bot.errors import BotError


class DeliveryError(BotError):
    """A send failed; ``retryable`` says whether trying again later can help."""

    retryable = True


class RetryLater(DeliveryError):
    """The platform asked us to wait (HTTP 429 / RetryAfter)."""

    def __init__(self, seconds: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.seconds = float(seconds)


class ChatGone(DeliveryError):
    """The bot cannot post there any more (blocked, kicked, chat deleted, missing permissions)."""

    retryable = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatMigrated(DeliveryError):
    """The chat has a new id (Telegram group upgraded to a supergroup); retry at the new id."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = str(new_chat_id)


class PermanentError(DeliveryError):
    """The message itself cannot be sent (e.g. rejected content); retrying will not help."""

    retryable = False
