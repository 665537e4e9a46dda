"""The Telegram adapter: python-telegram-bot v22 updates in, neutral Requests to the core, HTML out.

No command logic lives here: the adapter parses commands (``/latest@BotName args``), decides
whether the sender administers the chat, runs ``core.handle`` and renders the ``Response``. It
is also the Telegram ``Sender`` the core's delivery worker posts through; the worker paces from
``limits``, so PTB's own rate limiter is deliberately not used (two pacers would fight).

PTB's ``Application`` is driven by hand (initialize, start, updater) because the bot shares the
event loop with the scheduler and Discord; ``run_polling`` would take the loop over.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.error import (
    ChatMigrated as TgChatMigrated,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.telegram_render import RenderedMessage, parse_callback_data, render_reply
from bot.delivery.errors import (
    ChatGone,
    ChatMigrated,
    DeliveryError,
    PermanentError,
    RetryLater,
)
from bot.delivery.sender import PlatformLimits
from bot.logs import install_redaction
from bot.messages import Reply, Request, Response
from bot.types import Chat, ChatKind
from handlers.registry import COMMANDS, load_all, lookup

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query", "my_chat_member"]
ADMIN_STATUSES = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}
_USERNAME = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})$")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+|$)", re.DOTALL)
_TG_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
# Commands a channel admin may run for a channel from a private chat (`/subscribe @channel ...`),
# besides every command whose scope is chat_admin: reading what the channel follows is harmless.
CHANNEL_READ_COMMANDS = {"list", "subscriptions", "settings", "why"}
GREETING = (
    "Hello! I post short summaries of new opinion pieces here.\n"
    "An admin can start with /subscribe <source or author>; /help lists everything."
)
NOT_TEXT_HINT = "I only understand commands here. Send /help to see them."
# Interactive replies wait this long at most when Telegram says "retry after".
MAX_INLINE_RETRY = 5.0


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and every Bot API URL carries the token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


# ---------------------------------------------------------------------------- helpers


def file_base_url(base_url: str) -> str:
    """The file URL that goes with a Bot API base URL: ``.../bot`` -> ``.../file/bot``."""
    parts = urlsplit(base_url)
    path = parts.path
    at = path.rfind("/bot")
    new_path = path[:at] + "/file" + path[at:] if at >= 0 else path.rstrip("/") + "/file/bot"
    return parts._replace(path=new_path).geturl()


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after becomes a timedelta; both shapes are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _is_parse_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "can't parse entities" in text or "can't find end tag" in text or "entity" in text


def _is_gone_error(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(
        phrase in text
        for phrase in (
            "chat not found",
            "need administrator rights",
            "not enough rights",
            "have no rights to send",
            "message thread not found",
            "topic_closed",
            "topic_deleted",
        )
    )


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


def parse_command(text: str, bot_username: str) -> tuple[str, str, bool] | None:
    """``(command, args, addressed)`` for ``/cmd@Bot args``; None if not a command for us."""
    match = _COMMAND.match(text)
    if not match:
        return None
    name, target = match.group(1).lower(), match.group(2)
    if target and target.lower() != bot_username.lower():
        return None  # another bot's command
    return name, text[match.end() :].strip(), bool(target)


# ---------------------------------------------------------------------------- the adapter


class TelegramAdapter:
    """Runs the Telegram side of the bot; also the ``Sender`` for Telegram deliveries."""

    platform = PLATFORM

    def __init__(
        self,
        core: Core,
        *,
        poll_timeout: float = 30.0,
        admin_cache_seconds: float = 300.0,
        limits: PlatformLimits | None = None,
    ) -> None:
        self.core = core
        self.settings = core.settings
        self.limits = limits or PlatformLimits()
        self.poll_timeout = poll_timeout
        self.admin_cache_seconds = admin_cache_seconds
        self.application: Application | None = None
        self.bot_username = ""
        self.bot_id = 0
        self.webhook_secret: str | None = None
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._chat_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._delivery_started = False
        self._answered: set[str] = set()  # callback queries answered while being handled

    @property
    def sender(self) -> TelegramAdapter:
        """The Sender the core's delivery worker uses (this adapter)."""
        return self

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, register handlers and commands, start polling or the webhook, then delivery."""
        token_secret = self.settings.telegram_bot_token
        token = token_secret.get_secret_value() if token_secret else ""
        if not token:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
        # PTB logs its API URL (with the token) at DEBUG and quotes it in InvalidToken.
        quiet_http_loggers()
        install_redaction([token, *self.settings.secrets])
        builder: ApplicationBuilder = (
            ApplicationBuilder()
            .token(token)
            # Updates of different chats run concurrently; _serialized keeps one chat in order.
            .concurrent_updates(64)
            .get_updates_read_timeout(self.poll_timeout + 10.0)
        )
        base = self.settings.telegram_api_base_url
        if base:
            builder = builder.base_url(base).base_file_url(file_base_url(base))
        app = builder.build()
        self._register_handlers(app)
        try:
            await app.initialize()
        except InvalidToken:
            # PTB's message quotes the token; say it without.
            raise RuntimeError("Telegram rejected TELEGRAM_BOT_TOKEN (getMe failed)") from None
        self.application = app
        self.bot_username = app.bot.username or ""
        self.bot_id = app.bot.id
        await self._register_commands()
        await app.start()
        assert app.updater is not None
        if not self.core.receives_updates:
            log.info("Telegram: sending only (this process's role takes no updates)")
        elif self.settings.telegram_webhook_url:
            url = self.settings.telegram_webhook_url
            secret = self.settings.telegram_webhook_secret
            # Telegram echoes the secret in a header on every call; without one anybody who
            # learns the URL could inject updates, so make one up for this run.
            self.webhook_secret = secret.get_secret_value() if secret else secrets.token_hex(24)
            await app.updater.start_webhook(
                listen=self.settings.telegram_webhook_listen,
                port=self.settings.telegram_webhook_port,
                url_path=urlsplit(url).path.lstrip("/"),
                webhook_url=url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("Telegram webhook listening on %s:%s", self.settings.telegram_webhook_listen,
                     self.settings.telegram_webhook_port)  # fmt: skip
        else:
            await app.updater.start_polling(
                timeout=int(self.poll_timeout) if self.poll_timeout >= 1 else 0,
                poll_interval=0.0 if self.poll_timeout >= 1 else 0.05,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("Telegram polling as @%s", self.bot_username)
        self.core.start_delivery(self)
        self._delivery_started = True

    async def stop(self) -> None:
        """Stop delivery, then PTB (updater, application); safe to call twice."""
        if self._delivery_started:
            self._delivery_started = False
            await self.core.stop_delivery(PLATFORM)
        app = self.application
        if app is None:
            return
        # Application.stop() lets in-flight updates finish, and they still need the bot.
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        self.application = None

    def health(self) -> str | None:
        """Why Telegram is not healthy, or None (the core's /healthz asks)."""
        app = self.application
        if app is None or not app.running:
            return "not running"
        if self.core.receives_updates and (app.updater is None or not app.updater.running):
            return "not receiving updates"
        return None

    def _register_handlers(self, app: Application) -> None:
        new = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(
            MessageHandler(filters.StatusUpdate.MIGRATE, self._serialized(self._on_migrate))
        )
        app.add_handler(MessageHandler(new & filters.COMMAND, self._serialized(self._on_command)))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self._on_edited))
        app.add_handler(MessageHandler(new & ~filters.COMMAND, self._serialized(self._on_other)))
        app.add_handler(CallbackQueryHandler(self._serialized(self._on_callback)))
        app.add_handler(
            ChatMemberHandler(
                self._serialized(self._on_my_chat_member), ChatMemberHandler.MY_CHAT_MEMBER
            )
        )
        app.add_error_handler(self._on_error)

    def _serialized(
        self, handler: Callable[[Update, Any], Coroutine[Any, Any, None]]
    ) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
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

    async def _register_commands(self) -> None:
        """Make Telegram's command menu match /help (everyone, chat admins, private, owners)."""
        assert self.application is not None
        load_all()
        everyone: list[BotCommand] = []
        admin: list[BotCommand] = []
        owner: list[BotCommand] = []
        for spec in COMMANDS.values():
            if not _TG_COMMAND_NAME.fullmatch(spec.name):
                log.warning("command %r cannot be a Telegram command; not in the menu", spec.name)
                continue
            entry = BotCommand(spec.name, (spec.description or spec.usage)[:256])
            {"anyone": everyone, "chat_admin": admin, "owner": owner}[spec.scope].append(entry)
        bot = self.application.bot
        scopes: list[tuple[Any, list[BotCommand]]] = [
            (BotCommandScopeDefault(), everyone),
            (BotCommandScopeAllChatAdministrators(), everyone + admin),
            # A private chat's user administers it.
            (BotCommandScopeAllPrivateChats(), everyone + admin),
        ]
        for key in self.settings.owners:
            platform, _, user_id = key.partition(":")
            if platform == PLATFORM and user_id.lstrip("-").isdigit():
                scopes.append((BotCommandScopeChat(int(user_id)), everyone + admin + owner))
        for scope, commands in scopes:
            try:
                await bot.set_my_commands(commands[:100], scope=scope)
            except TelegramError as exc:
                # The menu is a convenience; a missing one must not keep the bot down.
                log.warning("setMyCommands (%s) failed: %s", scope.type, exc)

    # ------------------------------------------------------------------ updates

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        parsed = parse_command(message.text, self.bot_username)
        if parsed is None:
            log.debug("ignored a command for another bot in %s", message.chat_id)
            return
        name, args, addressed = parsed
        tg_chat = message.chat
        spec = lookup(name)
        if spec is None and tg_chat.type != ChatType.PRIVATE and not addressed:
            # In groups an unaddressed unknown command is most likely another bot's.
            log.debug("ignored unknown unaddressed /%s in %s", name[:40], tg_chat.id)
            return
        if len(args) > 4000:
            args = args[:4000]  # the router refuses long arguments; do not carry megabytes
        user = message.from_user
        thread = topic_id(message)

        if (
            tg_chat.type == ChatType.PRIVATE
            and spec is not None
            and self._is_channel_command(spec.name, args)
        ):
            await self._channel_command_from_private(message, spec.name, args)
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
            request.is_chat_admin = await self._is_admin(message)
        elif tg_chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            request.is_chat_admin = True
        response = await self._handle(request)
        if response.private and tg_chat.type != ChatType.PRIVATE and user is not None:
            await self._answer_privately(user.id, tg_chat.id, thread, response, message.message_id)
            return
        await self.send_response(
            tg_chat.id,
            thread,
            response,
            reply_to=message.message_id,
            link_previews=await self._previews(tg_chat.id, thread),
        )

    def _start_link(self, payload: str) -> str:
        """The deep link that opens a private chat with the bot and sends ``/start payload``."""
        return f"https://t.me/{self.bot_username}?start={payload}"

    async def _send_direct(self, user_id: int, response: Response) -> bool:
        """Send a private answer to the user's own chat; False when the user never started
        the bot (Telegram lets a bot write only to people who did) or blocked it."""
        return bool(await self.send_response(user_id, None, response))

    async def _answer_privately(
        self, user_id: int, chat_id: int, thread: int | None, response: Response, reply_to: int
    ) -> None:
        """A private answer to a command in a group: a direct message, and a word in the group."""
        if await self._send_direct(user_id, response):
            note = Response.text("I sent you the answer in our private chat.")
            await self.send_response(chat_id, thread, note, reply_to=reply_to, record=False)
            return
        assert self.application is not None
        text = (
            "I can only answer that privately, and you have not started a private chat with "
            "me yet. Press the button, then Start."
        )
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Open a private chat", url=self._start_link("saved"))]]
        )
        try:
            await self.application.bot.send_message(
                chat_id=chat_id,
                message_thread_id=thread,
                text=text,
                reply_markup=markup,
                reply_parameters=ReplyParameters(
                    message_id=reply_to, allow_sending_without_reply=True
                ),
            )
        except TelegramError as exc:
            log.info("start hint to telegram chat %s not sent: %s", chat_id, exc)

    async def _handle(self, request: Request) -> Response:
        try:
            return await self.core.handle(request)
        except Exception:
            log.exception("core.handle failed for /%s", request.command)
            return Response.error("Something went wrong on our side; it has been logged.")

    def _is_channel_command(self, name: str, args: str) -> bool:
        first = args.split(maxsplit=1)[0] if args else ""
        if not _USERNAME.fullmatch(first):
            return False
        spec = lookup(name)
        return spec is not None and (
            spec.scope == "chat_admin" or spec.name in CHANNEL_READ_COMMANDS
        )

    async def _channel_command_from_private(self, message: Message, name: str, args: str) -> None:
        """``/subscribe @channel ...`` in a private chat: run it for the channel, answer here."""
        assert self.application is not None
        bot = self.application.bot
        handle, _, rest = args.partition(" ")
        user = message.from_user
        here = message.chat_id

        async def say(text: str) -> None:
            await self.send_response(here, None, Response.error(text), reply_to=message.message_id)

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
            me = await bot.get_chat_member(target.id, self.bot_id)
            can_post = me.status == ChatMember.ADMINISTRATOR and bool(
                getattr(me, "can_post_messages", False)
            )
            member = (
                await bot.get_chat_member(target.id, user.id if user else 0) if can_post else None
            )
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
        await self._safe(
            self.core.chat_seen(PLATFORM, str(target.id), "channel", title=target.title)
        )
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
        response = await self._handle(request)
        # The answer goes to the private chat; replies there do not map to the channel's pieces.
        await self.send_response(here, None, response, reply_to=message.message_id, record=False)

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Non-command messages (text, photos, stickers): a hint in private chats, else nothing."""
        message = update.effective_message
        if message is None:
            return
        if message.chat.type == ChatType.PRIVATE:
            log.debug("non-command message in private chat %s", message.chat_id)
            await self.send_response(message.chat_id, None, Response.text(NOT_TEXT_HINT))
        else:
            log.debug("ignored a non-command message in %s", message.chat_id)

    async def _on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Re-running an edited command would answer twice; Telegram users expect nothing here.
        log.debug(
            "ignored an edited message in %s", update.effective_chat and update.effective_chat.id
        )

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
        self._admins.pop(old, None)
        await self._safe(self.core.chat_migrated(PLATFORM, str(old), str(new)))

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
        if not self._button_on_message(message, query.data or ""):
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
        spec = lookup(command)
        if spec is not None and spec.needs_admin_rights:
            request.is_chat_admin = await self._is_admin_user(tg_chat.id, tg_chat.type, user.id)
        elif tg_chat.type == ChatType.PRIVATE:
            request.is_chat_admin = True
        response = await self._handle(request)
        if response.is_error:
            # A short popup instead of a message in the chat for everyone to see.
            await self._answer(query, response.plain_text()[:190])
            return
        if response.private and tg_chat.type != ChatType.PRIVATE:
            await self._private_callback_answer(query, response)
            return
        await self._answer(query, None)
        await self.send_response(
            tg_chat.id,
            thread,
            response,
            reply_to=message.message_id,
            link_previews=await self._previews(tg_chat.id, thread),
        )

    async def _private_callback_answer(self, query: CallbackQuery, response: Response) -> None:
        """A private answer to a button in a group: a popup when it is short, else a direct
        message; a user who never started the bot is sent to it by the query's deep link."""
        text = response.plain_text()
        if len(response.messages) == 1 and len(text) <= 190:
            await self._answer(query, text)
            return
        if await self._send_direct(query.from_user.id, response):
            await self._answer(query, "Sent to you in our private chat.")
            return
        self._answered.add(query.id)
        try:
            await query.answer(url=self._start_link("saved"))
        except TelegramError as exc:
            log.info("answerCallbackQuery with a start link failed: %s", exc)

    @staticmethod
    def _button_on_message(message: Message, data: str) -> bool:
        markup = message.reply_markup
        if markup is None:
            return False
        return any(b.callback_data == data for row in markup.inline_keyboard for b in row)

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        self._answered.add(query.id)
        try:
            await query.answer(text=text)
        except TelegramError as exc:
            # Old queries (> ~15 s) cannot be answered; nothing else to do.
            log.info("answerCallbackQuery failed: %s", exc)

    async def _on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        tg_chat = change.chat
        new = change.new_chat_member
        old = change.old_chat_member
        chat_id = str(tg_chat.id)
        kind = chat_kind(tg_chat.type)
        self._admins.pop(tg_chat.id, None)
        was_in = old.status in (*ADMIN_STATUSES, ChatMember.MEMBER, ChatMember.RESTRICTED)
        if new.status in (ChatMember.LEFT, ChatMember.BANNED):
            reason = "blocked by the user" if kind == "private" else "removed from the chat"
            log.info("telegram chat %s gone: %s", chat_id, reason)
            await self._safe(self.core.chat_gone(PLATFORM, chat_id, reason))
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
            await self._safe(self.core.chat_gone(PLATFORM, chat_id, "no right to post"))
            return
        title = tg_chat.title or tg_chat.username or tg_chat.first_name
        await self._safe(self.core.chat_seen(PLATFORM, chat_id, kind, title=title))
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
                await self.send_response(
                    change.from_user.id, None, Response.text(text), record=False
                )
            return
        await self.send_response(tg_chat.id, None, Response.text(GREETING), record=False)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)

    async def _safe(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except Exception:
            log.exception("core call failed")
            return None

    # ------------------------------------------------------------------ admin checks

    async def _is_admin(self, message: Message) -> bool:
        tg_chat = message.chat
        if tg_chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            return True  # a private chat's user owns it; only admins post in a channel
        if message.sender_chat is not None:
            # An anonymous admin posts as the group itself; a linked channel's post does not count.
            return message.sender_chat.id == tg_chat.id
        if message.from_user is None:
            return False
        return await self._is_admin_user(tg_chat.id, tg_chat.type, message.from_user.id)

    async def _is_admin_user(self, chat_id: int, chat_type: str, user_id: int) -> bool:
        if chat_type in (ChatType.PRIVATE,):
            return True
        if chat_type == ChatType.CHANNEL:
            # Button presses in a channel: any subscriber can press, so ask.
            return await self._member_is_admin(chat_id, user_id)
        cached = self._admins.get(chat_id)
        now = time.monotonic()
        if cached is None or cached[0] < now:
            assert self.application is not None
            try:
                admins = await self.application.bot.get_chat_administrators(chat_id)
            except TelegramError as exc:
                log.info("getChatAdministrators %s failed: %s", chat_id, exc)
                return await self._member_is_admin(chat_id, user_id)
            ids = frozenset(member.user.id for member in admins)
            cached = (now + self.admin_cache_seconds, ids)
            self._admins[chat_id] = cached
        return user_id in cached[1]

    async def _member_is_admin(self, chat_id: int, user_id: int) -> bool:
        assert self.application is not None
        try:
            member = await self.application.bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.info("getChatMember %s/%s failed: %s", chat_id, user_id, exc)
            return False
        return member.status in ADMIN_STATUSES

    # ------------------------------------------------------------------ sending

    async def _previews(self, chat_id: int, thread_id: int | None) -> bool:
        """The chat's link-preview setting (off for a chat the core has not seen)."""
        settings = await self.core.chat_settings(
            "telegram", str(chat_id), str(thread_id) if thread_id else None
        )
        return bool(settings.link_previews)

    async def send_response(
        self,
        chat_id: int,
        thread_id: int | None,
        response: Response,
        *,
        reply_to: int | None = None,
        record: bool = True,
        link_previews: bool = False,
    ) -> list[str]:
        """Send a command's response into a chat (topic); record ids so replies map back."""
        sent: list[tuple[str, int | None]] = []
        for reply in response.messages:
            for rendered in render_reply(reply):
                try:
                    message_id = await self._send_interactive(
                        chat_id, thread_id, rendered, reply, reply_to, link_previews
                    )
                except DeliveryError as exc:
                    log.info("reply to telegram chat %s not sent: %s", chat_id, exc)
                    if isinstance(exc, ChatGone):
                        await self._safe(self.core.chat_gone(PLATFORM, str(chat_id), exc.reason))
                    if isinstance(exc, ChatMigrated):
                        await self._safe(
                            self.core.chat_migrated(PLATFORM, str(chat_id), exc.new_chat_id)
                        )
                    return [m for m, _ in sent]
                sent.append((message_id, reply.piece_id))
                reply_to = None  # only the first message quotes the command
        if record and sent:
            await self._safe(self.core.record_messages(PLATFORM, str(chat_id), sent))
        return [m for m, _ in sent]

    async def _send_interactive(
        self,
        chat_id: int,
        thread_id: int | None,
        rendered: RenderedMessage,
        reply: Reply,
        reply_to: int | None,
        link_previews: bool,
    ) -> str:
        try:
            return await self._send(chat_id, thread_id, rendered, reply, reply_to, link_previews)
        except RetryLater as exc:
            # Someone is waiting for this answer: wait a little, once, rather than drop it.
            if exc.seconds > MAX_INLINE_RETRY:
                raise
            await asyncio.sleep(exc.seconds)
            return await self._send(chat_id, thread_id, rendered, reply, reply_to, link_previews)

    async def _send(
        self,
        chat_id: int,
        thread_id: int | None,
        rendered: RenderedMessage,
        reply: Reply,
        reply_to: int | None,
        link_previews: bool,
    ) -> str:
        """One sendMessage with Telegram errors mapped to delivery errors.

        A formatting rejection is retried once as plain text (the escaping should make this
        impossible, so it is logged loudly enough to find).
        """
        assert self.application is not None
        bot = self.application.bot
        markup = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in rendered.buttons
                ]  # fmt: skip
            )
            if rendered.buttons
            else None
        )
        preview_url = reply.card.url if reply.card is not None and link_previews else None
        kwargs: dict[str, Any] = {
            "chat_id": chat_id,
            "message_thread_id": thread_id,
            "reply_markup": markup,
            "link_preview_options": LinkPreviewOptions(
                is_disabled=not link_previews, url=preview_url
            ),
        }
        if reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=True
            )
        try:
            try:
                message = await bot.send_message(
                    text=rendered.html, parse_mode=ParseMode.HTML, **kwargs
                )
            except BadRequest as exc:
                if not _is_parse_error(exc):
                    raise
                log.warning("Telegram refused our HTML (%s); sending plain text", exc.message)
                message = await bot.send_message(text=rendered.plain, **kwargs)
        except RetryAfter as exc:
            raise RetryLater(_retry_seconds(exc)) from None
        except TgChatMigrated as exc:
            raise ChatMigrated(str(exc.new_chat_id)) from None
        except Forbidden as exc:
            raise ChatGone(exc.message) from None
        except BadRequest as exc:
            if _is_gone_error(exc):
                raise ChatGone(exc.message) from None
            raise PermanentError(exc.message) from None
        except TelegramError as exc:  # network trouble, timeouts, 5xx
            raise DeliveryError(str(exc)) from None
        return str(message.message_id)

    async def send_post(self, chat: Chat, post: Reply) -> str:
        """Sender: deliver one post to a chat; returns the (first) message id."""
        if self.application is None:
            raise DeliveryError("the Telegram adapter is not running")
        chat_id = int(chat.platform_chat_id)
        thread_id = int(chat.thread_id) if chat.thread_id else None
        parts = render_reply(post)
        if not parts:
            raise PermanentError("empty post")
        previews = bool(chat.settings.link_previews)
        first = await self._send(chat_id, thread_id, parts[0], post, None, previews)
        rest: list[tuple[str, int | None]] = []
        for part in parts[1:]:
            # The first part is out: raising now would make the worker post it twice, so later
            # parts get one short wait on 429 and are otherwise logged and dropped.
            try:
                message_id = await self._send_interactive(
                    chat_id, thread_id, part, post, None, previews
                )
                rest.append((message_id, post.piece_id))
            except DeliveryError as exc:
                log.warning("part of a long post to %s not sent: %s", chat_id, exc)
                break
        if rest:
            await self._safe(self.core.record_messages(PLATFORM, chat.platform_chat_id, rest))
        return first
