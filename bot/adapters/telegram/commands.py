"""Telegram's side of the command table: parsing ``/cmd@Bot args``, the command menu
(setMyCommands per scope), and running a channel's command from its admin's private chat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    ChatMember,
    Message,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.adapters.calls import answer, safely
from bot.adapters.telegram.admins import ADMIN_STATUSES
from bot.adapters.telegram.sender import PLATFORM
from bot.commands import CommandTable
from bot.messages import Request, Response

if TYPE_CHECKING:
    from bot.adapters.telegram.sender import TelegramSender
    from bot.core import Core

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})$")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+|$)", re.DOTALL)
_TG_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
# Commands a channel admin may run for a channel from a private chat (`/subscribe @channel ...`),
# besides every command whose scope is chat_admin: reading what the channel follows is harmless.
CHANNEL_READ_COMMANDS = {"list", "subscriptions", "settings", "why"}


def parse_command(text: str, bot_username: str) -> tuple[str, str, bool] | None:
    """``(command, args, addressed)`` for ``/cmd@Bot args``; None if not a command for us."""
    match = _COMMAND.match(text)
    if not match:
        return None
    name, target = match.group(1).lower(), match.group(2)
    if target and target.lower() != bot_username.lower():
        return None  # another bot's command
    return name, text[match.end() :].strip(), bool(target)


async def register_menu(bot: Bot, commands: CommandTable, owners: Iterable[str]) -> None:
    """Make Telegram's command menu match /help (everyone, chat admins, private, owners)."""
    everyone: list[BotCommand] = []
    admin: list[BotCommand] = []
    owner: list[BotCommand] = []
    for spec in commands.values():
        if not _TG_COMMAND_NAME.fullmatch(spec.name):
            log.warning("command %r cannot be a Telegram command; not in the menu", spec.name)
            continue
        entry = BotCommand(spec.name, (spec.description or spec.usage)[:256])
        {"anyone": everyone, "chat_admin": admin, "owner": owner}[spec.scope].append(entry)
    scopes: list[tuple[Any, list[BotCommand]]] = [
        (BotCommandScopeDefault(), everyone),
        (BotCommandScopeAllChatAdministrators(), everyone + admin),
        # A private chat's user administers it.
        (BotCommandScopeAllPrivateChats(), everyone + admin),
    ]
    for key in owners:
        platform, _, user_id = key.partition(":")
        if platform == PLATFORM and user_id.lstrip("-").isdigit():
            scopes.append((BotCommandScopeChat(int(user_id)), everyone + admin + owner))
    for scope, entries in scopes:
        try:
            await bot.set_my_commands(entries[:100], scope=scope)
        except TelegramError as exc:
            # The menu is a convenience; a missing one must not keep the bot down.
            log.warning("setMyCommands (%s) failed: %s", scope.type, exc)


def is_channel_command(commands: CommandTable, name: str, args: str) -> bool:
    """``/subscribe @channel ...``: a command a channel's admin runs for it from elsewhere."""
    first = args.split(maxsplit=1)[0] if args else ""
    if not _USERNAME.fullmatch(first):
        return False
    spec = commands.lookup(name)
    return spec is not None and (spec.scope == "chat_admin" or spec.name in CHANNEL_READ_COMMANDS)


async def run_for_channel(
    core: Core, sender: TelegramSender, bot: Bot, message: Message, name: str, args: str
) -> None:
    """``/subscribe @channel ...`` in a private chat: run it for the channel, answer here."""
    handle, _, rest = args.partition(" ")
    user = message.from_user
    here = message.chat_id

    async def say(text: str) -> None:
        await sender.send_response(here, None, Response.error(text), reply_to=message.message_id)

    try:
        target = await bot.get_chat(handle)
    except BadRequest:
        await say(f"I can't find {handle}. Check the name, and add me to it first.")
        return
    except Forbidden:
        await say(f"I am not in {handle}. Add me as an administrator first.")
        return
    if target.type != ChatType.CHANNEL:
        await say(f"{handle} is not a channel. Run the command inside that chat instead.")
        return
    try:
        # The bot first: without admin rights it cannot even read the member list.
        me = await bot.get_chat_member(target.id, bot.id)
        can_post = me.status == ChatMember.ADMINISTRATOR and bool(
            getattr(me, "can_post_messages", False)
        )
        member = await bot.get_chat_member(target.id, user.id if user else 0) if can_post else None
    except TelegramError as exc:
        log.info("channel rights check for %s failed: %s", handle, exc)
        member = None
        can_post = False
    if not can_post or member is None:
        await say(f"Make me an administrator of {handle} who can post messages first.")
        return
    if member.status not in ADMIN_STATUSES:
        await say(f"Only administrators of {handle} can do that.")
        return
    await safely(core.chat_seen(PLATFORM, str(target.id), "channel", title=target.title))
    request = Request(
        platform=PLATFORM,
        chat_id=str(target.id),
        user_id=str(user.id) if user else "",
        command=name,
        args=rest.strip(),
        chat_kind="channel",
        chat_title=target.title,
        is_chat_admin=True,
    )
    response = await answer(core, request)
    # The answer goes to the private chat; replies there do not map to the channel's pieces.
    await sender.send_response(here, None, response, reply_to=message.message_id, record=False)
