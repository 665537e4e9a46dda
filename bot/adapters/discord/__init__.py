"""The Discord adapter, split by job: ``lifecycle`` (start, stop, health), ``interactions``
(slash commands, menus and buttons in, Requests to the core), ``commands`` (the command tree
from the table), ``events`` (gateway events), ``chats`` (channels as chats, posting rights),
``shards`` (gateway shards held as leases), ``sender`` (posts out, errors mapped) and
``rendering`` (neutral replies as Discord messages).

Named after the platform, not the library: inside it ``import discord`` is still discord.py
(absolute imports).
"""

from bot.adapters.discord.lifecycle import DiscordAdapter
from bot.adapters.discord.rendering import PieceButton, render_reply
from bot.adapters.discord.sender import DiscordSender

__all__ = ["DiscordAdapter", "DiscordSender", "PieceButton", "render_reply"]
