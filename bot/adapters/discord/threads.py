"""Threads as places: ``/subscribe … thread new`` opens a public thread named after what it
follows in the channel it was run in."""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord

from bot.errors import PlaceError
from bot.messages import Place

log = logging.getLogger(__name__)

ARCHIVE_AFTER_MINUTES: Literal[10080] = 10080  # a week without posts, the longest allowed


async def open_thread(channel: Any, name: str) -> Place:
    """A new public thread in a text channel (``PlaceError`` says why not)."""
    if not isinstance(channel, discord.TextChannel):
        raise PlaceError("I can open threads in text channels only.")
    try:
        thread = await channel.create_thread(
            name=name[:100] or "thread",
            type=discord.ChannelType.public_thread,
            auto_archive_duration=ARCHIVE_AFTER_MINUTES,
        )
    except discord.Forbidden:
        raise PlaceError(
            "I can't open threads here: give me Create Public Threads and Send Messages in "
            "Threads in this channel, then try again."
        ) from None
    except discord.HTTPException as exc:
        log.info("create thread in %s failed: %s %s", channel.id, exc.status, exc.text[:200])
        raise PlaceError("Discord did not open the thread; try again in a moment.") from None
    return Place(str(thread.id), None, thread.name)
