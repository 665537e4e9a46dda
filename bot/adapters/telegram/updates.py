"""Telegram updates in: commands, button presses, the bot's membership changes, migrations.

Each handler turns an update into a neutral ``Request`` for ``core.handle`` (or a chat event
for the core: seen, gone, migrated) and sends the answer back through the sender. No command
logic lives here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Bot, CallbackQuery, ChatMember, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    filters,
)

from bot.adapters.calls import answer, safely
from bot.adapters.telegram.admins import ADMIN_STATUSES, AdminCheck
from bot.adapters.telegram.commands import is_channel_command, parse_command, run_for_channel
from bot.adapters.telegram.private import answer_callback_privately, answer_privately
from bot.adapters.telegram.reactions import reaction_request
from bot.adapters.telegram.rendering import parse_callback_data
from bot.adapters.telegram.sender import PLATFORM
from bot.adapters.telegram.topics import open_topic
from bot.commands import CommandTable
from bot.messages import VOTE_COMMANDS, Request, Response
from bot.types import ChatKind

if TYPE_CHECKING:
    from bot.adapters.telegram.sender import TelegramSender
    from bot.core import Core

log = logging.getLogger(__name__)

GREETING = (
    "Hello! I post short summaries of new opinion pieces here.\n"
    "An admin can start with /subscribe <source or author>; /help lists everything."
)
NOT_TEXT_HINT = "I only understand commands here. Send /help to see them."
MAX_ARGS = 4000  # the router refuses long arguments; do not carry megabytes

UpdateCallback = Callable[[Update, Any], Coroutine[Any, Any, None]]


def chat_kind(chat_type: str, thread_id: int | None = None) -> ChatKind:
    """Our chat kind for a Telegram chat type (a forum topic is a ``thread``)."""
    if chat_type == ChatType.PRIVATE:
        return "private"
    if chat_type == ChatType.CHANNEL:
        return "channel"
    return "thread" if thread_id is not None else "group"


def topic_id(message: Message) -> int | None:
    """The forum topic of a message. Replies in ordinary supergroups carry a
    ``message_thread_id`` too, but posting "into" it would fail, so only real topics count."""
    if message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


class Updates:
    """The update handlers of one running bot (its identity is known once PTB initialized)."""

    def __init__(
        self,
        core: Core,
        commands: CommandTable,
        sender: TelegramSender,
        bot: Bot,
        admin_cache_seconds: float = 300.0,
    ) -> None:
        self.core = core
        self.commands = commands
        self.sender = sender
        self.bot = bot
        self.admins = AdminCheck(bot, admin_cache_seconds)
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._answered: set[str] = set()  # callback queries answered while being handled

    def register(self, app: Application) -> None:
        """Add the handlers to PTB's application."""
        new = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(
            MessageHandler(filters.StatusUpdate.MIGRATE, self._serialized(self._on_migrate))
        )
        app.add_handler(MessageHandler(new & filters.COMMAND, self._serialized(self._on_command)))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self._on_edited))
        app.add_handler(MessageHandler(new & ~filters.COMMAND, self._serialized(self._on_other)))
        app.add_handler(CallbackQueryHandler(self._serialized(self._on_callback)))
        app.add_handler(MessageReactionHandler(self._serialized(self._on_reaction)))
        app.add_handler(
            ChatMemberHandler(
                self._serialized(self._on_my_chat_member), ChatMemberHandler.MY_CHAT_MEMBER
            )
        )
        app.add_error_handler(self._on_error)

    def _serialized(self, handler: UpdateCallback) -> UpdateCallback:
        """Run ``handler`` under a per-chat lock: chats run in parallel, one chat in order."""

        async def run(update: Update, context: Any) -> None:
            chat = update.effective_chat
            if chat is None:
                await handler(update, context)
                return
            lock = self._chat_locks.get(chat.id)
            if lock is None:
                lock = asyncio.Lock()
                self._chat_locks[chat.id] = lock
            async with lock:
                await handler(update, context)

        return run

    # ------------------------------------------------------------------ commands

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        parsed = parse_command(message.text, self.bot.username or "")
        if parsed is None:
            log.debug("ignored a command for another bot in %s", message.chat_id)
            return
        name, args, addressed = parsed
        tg_chat = message.chat
        spec = self.commands.lookup(name)
        if spec is None and tg_chat.type != ChatType.PRIVATE and not addressed:
            # In groups an unaddressed unknown command is most likely another bot's.
            log.debug("ignored unknown unaddressed /%s in %s", name[:40], tg_chat.id)
            return
        args = args[:MAX_ARGS]
        user = message.from_user
        thread = topic_id(message)
        if (
            tg_chat.type == ChatType.PRIVATE
            and spec is not None
            and is_channel_command(self.commands, spec.name, args)
        ):
            await run_for_channel(self.core, self.sender, self.bot, message, spec.name, args)
            return
        request = Request(
            platform=PLATFORM,
            chat_id=str(tg_chat.id),
            user_id=str(user.id) if user else "",
            command=name,
            args=args,
            chat_kind=chat_kind(tg_chat.type, thread),
            thread_id=str(thread) if thread is not None else None,
            chat_title=tg_chat.title or tg_chat.username or tg_chat.first_name,
            reply_to_message_id=(
                str(message.reply_to_message.message_id) if message.reply_to_message else None
            ),
        )
        if spec is not None and spec.needs_admin_rights:
            request.is_chat_admin = await self.admins.sender_is_admin(message)
        elif tg_chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            request.is_chat_admin = True
        if tg_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            request.open_place = functools.partial(open_topic, self.bot, tg_chat.id)
        response = await answer(self.core, request)
        if response.private and tg_chat.type != ChatType.PRIVATE and user is not None:
            await answer_privately(
                self.sender, self.bot, user.id, tg_chat.id, thread, response, message.message_id
            )
            return
        await self._reply(message, thread, response)

    async def _reply(self, message: Message, thread: int | None, response: Response) -> None:
        """Answer in the message's chat (topic), quoting it, with the chat's preview setting."""
        chat_id = message.chat.id
        await self.sender.send_response(
            chat_id,
            thread,
            response,
            reply_to=message.message_id,
            link_previews=await self.sender.previews(chat_id, thread),
        )

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Non-command messages (text, photos, stickers): a hint in private chats, else nothing."""
        message = update.effective_message
        if message is None:
            return
        if message.chat.type == ChatType.PRIVATE:
            log.debug("non-command message in private chat %s", message.chat_id)
            await self.sender.send_response(message.chat_id, None, Response.text(NOT_TEXT_HINT))
        else:
            log.debug("ignored a non-command message in %s", message.chat_id)

    async def _on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Re-running an edited command would answer twice; Telegram users expect nothing here.
        log.debug(
            "ignored an edited message in %s", update.effective_chat and update.effective_chat.id
        )

    # ------------------------------------------------------------------ buttons

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            await self._handle_callback(query)
        finally:
            # Always answer, or the user's client shows a spinner for a long time.
            if query.id not in self._answered:
                await self._answer(query, None)
            self._answered.discard(query.id)

    async def _handle_callback(self, query: CallbackQuery) -> None:
        parsed = parse_callback_data(query.data)
        message = query.message
        if parsed is None or message is None or not isinstance(message, Message):
            log.info("stale or forged callback data %r", (query.data or "")[:64])
            await self._answer(query, "This button no longer works.")
            return
        if not _button_on_message(message, query.data or ""):
            # The data is not one of this message's buttons: a forged client request.
            log.info("callback data %r is not a button of its message", (query.data or "")[:64])
            await self._answer(query, "This button no longer works.")
            return
        command, piece_id = parsed
        thread = topic_id(message)
        tg_chat = message.chat
        user = query.from_user
        request = Request(
            platform=PLATFORM,
            chat_id=str(tg_chat.id),
            user_id=str(user.id),
            command=command,
            chat_kind=chat_kind(tg_chat.type, thread),
            thread_id=str(thread) if thread is not None else None,
            chat_title=tg_chat.title or tg_chat.username or tg_chat.first_name,
            piece_id=piece_id,
            reply_to_message_id=str(message.message_id),
        )
        spec = self.commands.lookup(command)
        if spec is not None and spec.needs_admin_rights:
            request.is_chat_admin = await self.admins.user_is_admin(
                tg_chat.id, tg_chat.type, user.id
            )
        elif tg_chat.type == ChatType.PRIVATE:
            request.is_chat_admin = True
        response = await answer(self.core, request)
        if response.is_error:
            # A short popup instead of a message in the chat for everyone to see.
            await self._answer(query, response.plain_text()[:190])
            return
        if response.private and tg_chat.type != ChatType.PRIVATE:
            popup = await answer_callback_privately(self.sender, self.bot, query, response)
            if popup is None:
                self._answered.add(query.id)  # answered with the start link
            else:
                await self._answer(query, popup)
            return
        if command in VOTE_COMMANDS:
            # A vote is answered with a popup, not a message for the whole chat.
            await self._answer(query, response.plain_text()[:190])
            return
        await self._answer(query, None)
        await self._reply(message, thread, response)

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        self._answered.add(query.id)
        try:
            await query.answer(text=text)
        except TelegramError as exc:
            # Old queries (> ~15 s) cannot be answered; nothing else to do.
            log.info("answerCallbackQuery failed: %s", exc)

    # ------------------------------------------------------------------ reactions

    async def _on_reaction(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """👍/👎 on one of the bot's posts is the member's vote; taking it off takes it back."""
        change = update.message_reaction
        if change is None:
            return
        request = reaction_request(change, chat_kind(change.chat.type))
        if request is None:
            return
        response = await answer(self.core, request)
        # A reaction is answered by nothing: the chat sees the reaction itself.
        log.debug("reaction in %s: %s", change.chat.id, response.plain_text()[:120])

    # ------------------------------------------------------------------ the bot's chats

    async def _on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        # Both the old group (migrate_to) and the new supergroup (migrate_from) announce it.
        if message.migrate_to_chat_id:
            old, new = message.chat_id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat_id
        else:
            return
        self.admins.forget(old)
        await safely(self.core.chat_migrated(PLATFORM, str(old), str(new)))

    async def _on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        tg_chat = change.chat
        new = change.new_chat_member
        old = change.old_chat_member
        chat_id = str(tg_chat.id)
        kind = chat_kind(tg_chat.type)
        self.admins.forget(tg_chat.id)
        was_in = old.status in (*ADMIN_STATUSES, ChatMember.MEMBER, ChatMember.RESTRICTED)
        if new.status in (ChatMember.LEFT, ChatMember.BANNED):
            reason = "blocked by the user" if kind == "private" else "removed from the chat"
            log.info("telegram chat %s gone: %s", chat_id, reason)
            await safely(self.core.chat_gone(PLATFORM, chat_id, reason))
            return
        can_post = True
        if tg_chat.type == ChatType.CHANNEL:
            can_post = new.status == ChatMember.ADMINISTRATOR and bool(
                getattr(new, "can_post_messages", False)
            )
        elif new.status == ChatMember.RESTRICTED:
            can_post = bool(getattr(new, "can_send_messages", False))
        if not can_post:
            log.info("telegram chat %s: lost the right to post", chat_id)
            await safely(self.core.chat_gone(PLATFORM, chat_id, "no right to post"))
            return
        title = tg_chat.title or tg_chat.username or tg_chat.first_name
        await safely(self.core.chat_seen(PLATFORM, chat_id, kind, title=title))
        if was_in or kind == "private":
            # Promoted/unblocked: nothing to say (a private chat starts with the user's /start).
            return
        if kind == "channel":
            # Greeting a channel would post to all its readers; tell the admin who added us.
            if change.from_user:
                handle = f"@{tg_chat.username}" if tg_chat.username else "@<channel>"
                text = (
                    f"I'm in {tg_chat.title or 'the channel'} now. Subscribe it from here with "
                    f"/subscribe {handle} <source or author>, or post /subscribe in the channel."
                )
                await self.sender.send_response(
                    change.from_user.id, None, Response.text(text), record=False
                )
            return
        await self.sender.send_response(tg_chat.id, None, Response.text(GREETING), record=False)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)


def _button_on_message(message: Message, data: str) -> bool:
    markup = message.reply_markup
    if markup is None:
        return False
    return any(b.callback_data == data for row in markup.inline_keyboard for b in row)
