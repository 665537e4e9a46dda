"""Discord channels as our chats, and whether the bot may post in them.

Chat ids: a guild text channel is ``kind="group"`` with the channel id; a thread is
``kind="thread"`` with **the thread's own id** as chat id (``thread_id`` stays ``None``),
because on Discord a thread is a channel: messages are posted to, and context menus come
from, the thread id itself. A DM is ``kind="private"`` with the DM channel id.

:class:`ChatAccess` remembers, for this process, which chats lost the right to post (the
server's admins are told once) and which were seen able to post again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.adapters.discord.rendering import NONE_MENTIONED, escape
from bot.messages import Request
from bot.types import ChatKind

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

PLATFORM = "discord"

# A thread is a channel on Discord; these are its types.
_THREAD_TYPES = {
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
}


def chat_kind(channel: Any) -> ChatKind:
    """Our chat kind for a Discord channel (a DM is private, a thread a thread)."""
    channel_type = getattr(channel, "type", None)
    if channel_type == discord.ChannelType.private:
        return "private"
    if channel_type in _THREAD_TYPES:
        return "thread"
    return "group"


def chat_title(channel: Any) -> str | None:
    """``Server #channel`` where both are known."""
    name = getattr(channel, "name", None)
    guild = getattr(channel, "guild", None)
    if name and guild is not None and getattr(guild, "name", None):
        return f"{guild.name} #{name}"
    return name or None


def can_post(perms: discord.Permissions, kind: str) -> bool:
    """Whether the bot may post embeds in a channel (or thread) with these permissions."""
    sends = perms.send_messages_in_threads if kind == "thread" else perms.send_messages
    return bool(perms.view_channel and sends and perms.embed_links)


class ChatAccess:
    """Which chats lost posting rights here, which were seen able to post, and notes sent."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.client: discord.Client | None = None  # set while the adapter runs
        # With a sharded gateway, the clients of the shards run here (their caches know the
        # servers; the main client then only speaks REST).
        self.shard_clients: dict[int, Any] = {}
        self._noted: set[str] = set()
        # Chats deactivated here for missing permissions; a later interaction from one of them
        # that shows the bot may post again turns it back on (see maybe_reactivate).
        self._lost: set[str] = set()
        self._confirmed: set[str] = set()  # chats whose posting rights were seen this process
        self._background: set[asyncio.Task[Any]] = set()

    async def known(self, ids: list[str]) -> set[str]:
        """Which of these channel ids are chats the core knows (active or not)."""
        if not ids:
            return set()
        try:
            return set(await self.core.known_chat_ids(PLATFORM, ids))
        except Exception:
            log.exception("could not look up Discord chats")
            return set()

    def forget(self, chat_ids: list[str]) -> None:
        """These channels are gone (or the bot left): check their rights again next time."""
        self._confirmed.difference_update(chat_ids)

    async def maybe_reactivate(self, permissions: discord.Permissions, request: Request) -> None:
        """A command from a chat the bot can post in again turns that chat back on.

        Checked once per chat per process (and again after a 50013 here), so a chat paused
        for missing permissions before a restart also comes back when an admin fixes them and
        runs a command there, as the note to the admins promises.
        """
        chat_id = request.chat_id
        lost = chat_id in self._lost
        if chat_id in self._confirmed and not lost:
            return
        if request.chat_kind != "private" and not can_post(permissions, request.chat_kind):
            return
        self._confirmed.add(chat_id)
        self._lost.discard(chat_id)
        self._noted.discard(chat_id)
        if not lost and chat_id not in await self.known([chat_id]):
            return  # not a chat yet: the handlers register it when it needs to be one
        if lost:
            log.info("Discord chat %s can be posted to again", chat_id)
        await self.core.chat_seen(PLATFORM, chat_id, request.chat_kind, title=request.chat_title)

    def note_lost_access(self, chat_id: str, reason: str) -> None:
        """Tell the server's admins (system channel) once that posting to a channel stopped."""
        self._lost.add(chat_id)
        self._confirmed.discard(chat_id)
        if self.client is None or chat_id in self._noted or not chat_id.isdigit():
            return
        channel = self._cached_channel(int(chat_id))
        guild = getattr(channel, "guild", None)
        target = getattr(guild, "system_channel", None)
        if target is None or target.id == int(chat_id):
            return
        self._noted.add(chat_id)
        name = getattr(channel, "name", chat_id)
        text = (
            f"I can no longer post in #{escape(name)} ({reason}), so its subscriptions are "
            "paused. Give me View Channel, Send Messages and Embed Links there, then run a "
            "command in that channel to start them again."
        )
        task = asyncio.create_task(_send_note(target, text))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _cached_channel(self, channel_id: int) -> Any:
        for client in [self.client, *self.shard_clients.values()]:
            channel = client.get_channel(channel_id) if client is not None else None
            if channel is not None:
                return channel
        return None

    def cancel_notes(self) -> None:
        for task in list(self._background):
            task.cancel()


async def _send_note(target: Any, text: str) -> None:
    try:
        await target.send(text, allowed_mentions=NONE_MENTIONED)
    except discord.HTTPException as exc:
        log.info("could not send the admin note: %s", exc.status)
