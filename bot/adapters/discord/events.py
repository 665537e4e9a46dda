"""Gateway events: the bot joined or left a server, a channel or thread was deleted, someone
wrote to it in a DM. The discord.py client subclass passes each event on to these handlers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.adapters.discord.chats import PLATFORM, ChatAccess, chat_kind, chat_title
from bot.adapters.discord.rendering import NONE_MENTIONED, PieceButton

if TYPE_CHECKING:
    from bot.adapters.discord.interactions import Interactions
    from bot.core import Core

log = logging.getLogger(__name__)

DM_HINT_INTERVAL = 600.0  # answer a user's DMs with the slash-command hint at most this often


class Events:
    """What the bot does on gateway events (no message content: guild messages are unread)."""

    def __init__(self, core: Core, access: ChatAccess) -> None:
        self.core = core
        self.access = access
        self._dm_hinted: dict[int, float] = {}

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a guild (again): its channels that were chats become active again."""
        channels: dict[str, Any] = {str(c.id): c for c in guild.channels}
        channels.update({str(t.id): t for t in guild.threads})
        for chat_id in await self.access.known(list(channels)):
            channel = channels[chat_id]
            await self.core.chat_seen(
                PLATFORM, chat_id, chat_kind(channel), title=chat_title(channel)
            )
        log.info("joined Discord guild %s", guild.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a guild: its chats become inactive (subscriptions are kept)."""
        ids = [str(c.id) for c in guild.channels] + [str(t.id) for t in guild.threads]
        self.access.forget(ids)
        for chat_id in await self.access.known(ids):
            await self.core.chat_gone(PLATFORM, chat_id, "removed from the server")
        log.info("left Discord guild %s", guild.id)

    async def on_channel_gone(self, channel_id: int, reason: str) -> None:
        chat_id = str(channel_id)
        self.access.forget([chat_id])
        if chat_id in await self.access.known([chat_id]):
            await self.core.chat_gone(PLATFORM, chat_id, reason)

    async def on_message(self, message: discord.Message) -> None:
        """DMs to the bot get a hint; guild messages are not read (no message-content intent)."""
        if message.author.bot or message.guild is not None:
            return
        now = time.monotonic()
        last = self._dm_hinted.get(message.author.id)
        if last is not None and now - last < DM_HINT_INTERVAL:
            return
        self._dm_hinted[message.author.id] = now
        try:
            await message.channel.send(
                "I work with slash commands: type / to see them, or try /help.",
                allowed_mentions=NONE_MENTIONED,
            )
        except discord.HTTPException as exc:
            log.info("could not answer a DM: %s", exc.status)


class Client(discord.Client):
    """discord.Client with our event handlers; each event is passed on to ``events``."""

    def __init__(
        self,
        events: Events,
        interactions: Interactions,
        build: Callable[[app_commands.CommandTree], None],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.events = events
        self.interactions = interactions  # PieceButton presses go here
        self._build = build
        self.tree = app_commands.CommandTree(self)
        # CommandTree's hooks are meant to be overridden; one tree per client, so replacing
        # them on the instance is the same as a subclass (mypy calls it method-assign).
        self.tree.on_error = interactions.on_tree_error  # type: ignore[method-assign]
        self.tree.interaction_check = interactions.interaction_check  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PieceButton)
        self._build(self.tree)

    async def on_ready(self) -> None:
        log.info("Discord gateway ready in %d guild(s)", len(self.guilds))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.events.on_guild_join(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.events.on_guild_remove(guild)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.events.on_channel_gone(channel.id, "channel deleted")

    async def on_thread_delete(self, thread: discord.Thread) -> None:
        await self.events.on_channel_gone(thread.id, "thread deleted")

    async def on_message(self, message: discord.Message) -> None:
        await self.events.on_message(message)
