"""Discord interactions in: slash commands, context menus and button presses become neutral
``Request``s for ``core.handle``; the ``Response`` goes back as the interaction's answer.

Discord gives 3 s to acknowledge an interaction, so a slow answer is deferred first; errors
are answered privately (ephemeral) so a busy channel is not flooded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.adapters.calls import OOPS, answer
from bot.adapters.discord.chats import PLATFORM, ChatAccess, can_post, chat_kind, chat_title
from bot.adapters.discord.rendering import (
    MESSAGE_LIMIT,
    NONE_MENTIONED,
    Outgoing,
    escape,
    render_response,
)
from bot.adapters.discord.sender import MAX_SNOWFLAKE
from bot.adapters.discord.threads import open_thread
from bot.commands import CommandSpec, Option
from bot.messages import Request, Response, is_piece_action

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

UNKNOWN_INTERACTION = 10062
# Discord gives 3 s to acknowledge an interaction; answers slower than this are deferred first.
DEFER_AFTER_SECONDS = 2.0

_MESSAGE_LINK = re.compile(
    r"^https?://(?:\w+\.)?discord(?:app)?\.com/channels/(?:@me|\d+)/(\d+)/(\d+)/?$"
)
_SNOWFLAKE = re.compile(r"^\d{15,21}$")


class Interactions:
    """What the bot does with each kind of interaction, for one running client."""

    def __init__(self, core: Core, access: ChatAccess) -> None:
        self.core = core
        self.access = access
        self.defer_after = DEFER_AFTER_SECONDS

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse interactions from a guild the bot is no longer in (it cannot post there)."""
        # The client that received it: with shards, the one whose cache holds that server.
        client = interaction.client
        if interaction.guild_id and client.get_guild(interaction.guild_id) is None:
            log.info("interaction from guild %s the bot is not in", interaction.guild_id)
            await self.say_error(
                interaction,
                "I am not a member of this server any more. Ask an admin to add me again.",
            )
            return False
        return True

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors from the command tree: bad option values, failed checks, our own bugs."""
        if isinstance(error, app_commands.CheckFailure):
            return  # interaction_check already answered
        if isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            log.info("bad options for /%s: %s", getattr(interaction.command, "name", "?"), error)
            await self.say_error(interaction, "I could not read those options; please try again.")
            return
        if isinstance(error, app_commands.CommandNotFound):
            log.info("unknown command %s (commands out of sync?)", error.name)
            await self.say_error(interaction, "I do not know that command any more.")
            return
        log.error("Discord command failed", exc_info=error)
        await self.say_error(interaction, OOPS)

    async def on_slash(
        self,
        interaction: discord.Interaction,
        spec: CommandSpec,
        options: list[Option],
        names: list[str],
        values: dict[str, Any],
    ) -> None:
        """A slash command: options back to the argument text the core parses."""
        parts: list[str] = []
        reply_to: str | None = None
        for option, name in zip(options, names, strict=True):
            value = values.get(name)
            if value is None or value == "":
                continue
            if option.kind == "int" and not in_range(value, option):
                await self.say_error(interaction, range_problem(name, option))
                return
            if spec.reply_action and name == "post":
                reply_to, problem = post_reference(str(value), interaction.channel_id)
                if problem:
                    await self.say_error(interaction, problem)
                    return
                if reply_to is None:  # "#123": the core takes a piece id as the argument
                    parts.append(str(value).strip())
                continue
            parts.append(" ".join(str(value).split()))
        request = _request(interaction, spec.name, " ".join(parts))
        request.reply_to_message_id = reply_to
        await self._run(interaction, request)

    async def on_context_menu(
        self, interaction: discord.Interaction, command: str, message: discord.Message
    ) -> None:
        """Apps > More/Full text/... on a message: acts on that post's piece."""
        me = interaction.client.user
        if me is None or message.author.id != me.id:
            await self.say_error(interaction, "That works on my posts only.")
            return
        request = _request(interaction, command, "")
        request.reply_to_message_id = str(message.id)
        await self._run(interaction, request)

    async def on_button(
        self, interaction: discord.Interaction, action: str, piece_ref: str
    ) -> None:
        """A press on a post's button; answered privately so a busy channel is not flooded."""
        if (
            not is_piece_action(action)
            or not piece_ref.isdigit()
            or not 0 < int(piece_ref) <= MAX_SNOWFLAKE
        ):
            log.info("stale or forged button id cb:%s:%s", action[:20], piece_ref[:20])
            await self.say_error(interaction, "This button no longer works.")
            return
        if not await self.interaction_check(interaction):
            return
        request = _request(interaction, action, "")
        request.piece_id = int(piece_ref)
        await self._run(interaction, request, private=True)

    async def _run(
        self, interaction: discord.Interaction, request: Request, *, private: bool = False
    ) -> None:
        """Run the command; defer first if the core needs more than ~2 s (Discord allows 3)."""
        await self.access.maybe_reactivate(interaction.app_permissions, request)
        task = asyncio.create_task(answer(self.core, request))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        deferred = False
        if not done:
            try:
                await interaction.response.defer(thinking=True, ephemeral=private)
                deferred = True
            except discord.HTTPException as exc:
                _log_failure(exc, request)
        response = await task
        try:
            await self._answer(interaction, request, response, deferred=deferred, private=private)
        except discord.HTTPException as exc:
            _log_failure(exc, request)

    async def _answer(
        self,
        interaction: discord.Interaction,
        request: Request,
        response: Response,
        *,
        deferred: bool,
        private: bool,
    ) -> None:
        outgoing = render_response(response) or [Outgoing(content="Done.", error=response.is_error)]
        sent: list[tuple[str, int | None]] = []
        first = outgoing[0]
        rest = outgoing[1:]
        # ``private``: how the interaction was deferred; a private response (a read-later
        # list) is for the asker's eyes only, wherever it was asked.
        hidden = private or response.private
        first_private = hidden or first.error
        if not deferred:
            result = await interaction.response.send_message(
                ephemeral=first_private, **first.kwargs()
            )
            if not first_private and result is not None and result.message_id:
                sent.append((str(result.message_id), first.piece_id))
        elif first_private and not private:
            # A public "thinking…" placeholder cannot turn private: drop it, say it privately.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
            await interaction.followup.send(ephemeral=True, **first.kwargs())
        else:
            message = await interaction.edit_original_response(**first.edit_kwargs())
            if not hidden:
                sent.append((str(message.id), first.piece_id))
        for item in rest:
            is_private = hidden or item.error
            followup = await interaction.followup.send(
                wait=True, ephemeral=is_private, **item.kwargs()
            )
            if not is_private and followup is not None:
                sent.append((str(followup.id), item.piece_id))
        if sent:
            try:
                await self.core.record_messages(PLATFORM, request.chat_id, sent)
            except Exception:
                log.exception("could not record Discord message ids")

    async def say_error(self, interaction: discord.Interaction, text: str) -> None:
        """An ephemeral error that works whether or not the interaction was answered yet."""
        content = escape(text)[:MESSAGE_LIMIT]
        try:
            if interaction.type == discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])
            elif interaction.response.is_done():
                await interaction.followup.send(
                    content, ephemeral=True, allowed_mentions=NONE_MENTIONED
                )
            else:
                await interaction.response.send_message(
                    content, ephemeral=True, allowed_mentions=NONE_MENTIONED
                )
        except discord.HTTPException as exc:
            if exc.code == UNKNOWN_INTERACTION:
                log.warning("Discord interaction expired before the error was shown")
            else:
                log.error("could not answer an interaction: %s %s", exc.status, exc.text[:200])


def _request(interaction: discord.Interaction, command: str, args: str) -> Request:
    channel = interaction.channel
    kind = chat_kind(channel)
    if kind == "private":
        is_admin = True  # the user is the admin of their own DM with the bot
    else:
        perms = interaction.permissions
        is_admin = bool(interaction.guild_id and (perms.manage_guild or perms.administrator))
    parent = getattr(channel, "parent_id", None) if kind == "thread" else None
    return Request(
        platform=PLATFORM,
        chat_id=str(interaction.channel_id),
        user_id=str(interaction.user.id),
        command=command,
        args=args,
        chat_kind=kind,
        thread_id=None,
        chat_title=chat_title(channel),
        is_chat_admin=is_admin,
        # Interactions are answered even where the bot may not post: say whether it may.
        can_post=kind == "private" or can_post(interaction.app_permissions, kind),
        open_place=functools.partial(open_thread, channel) if kind == "group" else None,
        parent_chat_id=str(parent) if parent else None,
    )


def _log_failure(exc: discord.HTTPException, request: Request) -> None:
    if getattr(exc, "code", None) == UNKNOWN_INTERACTION:
        # Answered too late (or twice); retrying cannot help: the token is dead.
        log.warning("Discord interaction for /%s expired before it was answered", request.command)
    else:
        log.error("could not answer /%s: %s %s", request.command, exc.status, exc.text[:200])


def in_range(value: Any, option: Option) -> bool:
    """Whether an int option's value is in its range (a crafted interaction may not be)."""
    if not isinstance(value, int):
        return False
    if option.min_value is not None and value < option.min_value:
        return False
    return not (option.max_value is not None and value > option.max_value)


def range_problem(name: str, option: Option) -> str:
    """What to tell a user whose number is out of an option's range."""
    low, high = option.min_value, option.max_value
    if low is not None and high is not None:
        return f"{name} must be between {low} and {high}."
    if low is not None:
        return f"{name} must be at least {low}."
    if high is not None:
        return f"{name} must be at most {high}."
    return f"{name} must be a whole number."


def post_reference(value: str, channel_id: int | None) -> tuple[str | None, str | None]:
    """A message link or id -> (message id, None); "#123" -> (None, None); else a problem."""
    value = value.strip()
    if value.lstrip("#").isdigit() and value.startswith("#"):
        return None, None
    match = _MESSAGE_LINK.match(value)
    if match:
        if channel_id is not None and match[1] != str(channel_id):
            return None, "Use this in the channel of that post (the link points elsewhere)."
        return match[2], None
    if _SNOWFLAKE.match(value) and int(value) <= MAX_SNOWFLAKE:
        return value, None
    return None, "Give the link of one of my posts (right-click it > Copy Message Link)."
