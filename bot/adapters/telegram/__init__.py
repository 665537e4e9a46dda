"""The Telegram adapter, split by job: ``lifecycle`` (start, stop, health), ``updates``
(updates in, Requests to the core), ``commands`` (parsing and the command menu), ``admins``
(who administers a chat), ``private`` (answers for the asker only), ``sender`` (posts and
answers out, errors mapped) and ``rendering`` (neutral replies as Telegram HTML).

This package is named after the platform, not the library: inside it ``import telegram``
is still python-telegram-bot (absolute imports), and nothing outside imports it by a bare name.
"""

from bot.adapters.telegram.commands import parse_command
from bot.adapters.telegram.lifecycle import TelegramAdapter, file_base_url
from bot.adapters.telegram.sender import TelegramSender

__all__ = ["TelegramAdapter", "TelegramSender", "file_base_url", "parse_command"]
