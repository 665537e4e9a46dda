"""The Telegram adapter's lifecycle: python-telegram-bot v22 started, stopped, and watched.

PTB's ``Application`` is driven by hand (initialize, start, updater) because the bot shares the
event loop with the scheduler and Discord; ``run_polling`` would take the loop over. Updates go
to :mod:`.updates`, posts and answers out through :mod:`.sender`.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken
from telegram.ext import Application, ApplicationBuilder, ApplicationHandlerStop, TypeHandler

from bot.adapters.calls import safely
from bot.adapters.telegram.commands import register_menu
from bot.adapters.telegram.sender import PLATFORM, TelegramSender
from bot.adapters.telegram.updates import Updates
from bot.commands import CommandTable
from bot.delivery.sender import PlatformLimits
from bot.logs import install_redaction

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "channel_post",
    "callback_query",
    "my_chat_member",
    "message_reaction",  # 👍/👎 on posts teach relevance (sent where the bot is an admin)
]


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and every Bot API URL carries the token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def file_base_url(base_url: str) -> str:
    """The file URL that goes with a Bot API base URL: ``.../bot`` -> ``.../file/bot``."""
    parts = urlsplit(base_url)
    path = parts.path
    at = path.rfind("/bot")
    new_path = path[:at] + "/file" + path[at:] if at >= 0 else path.rstrip("/") + "/file/bot"
    return parts._replace(path=new_path).geturl()


class TelegramAdapter:
    """Runs the Telegram side of the bot; its ``sender`` posts Telegram deliveries."""

    platform = PLATFORM

    def __init__(
        self,
        core: Core,
        commands: CommandTable,
        *,
        poll_timeout: float = 30.0,
        admin_cache_seconds: float = 300.0,
        limits: PlatformLimits | None = None,
    ) -> None:
        self.core = core
        self.commands = commands
        self.settings = core.settings
        self.poll_timeout = poll_timeout
        self.admin_cache_seconds = admin_cache_seconds
        self.application: Application | None = None
        self.updates: Updates | None = None
        self.sender = TelegramSender(self, limits or PlatformLimits())
        self.bot_username = ""
        self.webhook_secret: str | None = None
        self._delivery_started = False

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
            # Updates of different chats run concurrently; Updates keeps one chat in order.
            .concurrent_updates(64)
            .get_updates_read_timeout(self.poll_timeout + 10.0)
        )
        base = self.settings.telegram_api_base_url
        if base:
            builder = builder.base_url(base).base_file_url(file_base_url(base))
        app = builder.build()
        try:
            await app.initialize()
        except InvalidToken:
            # PTB's message quotes the token; say it without.
            raise RuntimeError("Telegram rejected TELEGRAM_BOT_TOKEN (getMe failed)") from None
        self.application = app
        self.bot_username = app.bot.username or ""
        self.sender.bot = app.bot
        self.updates = Updates(
            self.core, self.commands, self.sender, app.bot, self.admin_cache_seconds
        )
        self.updates.register(app)
        await register_menu(app.bot, self.commands, self.settings.owners)
        await app.start()
        await self._start_receiving(app)
        self.core.start_delivery(self.sender)
        self._delivery_started = True

    async def _start_receiving(self, app: Application) -> None:
        """Long polling, or the webhook when TELEGRAM_WEBHOOK_URL is set (or neither: role)."""
        assert app.updater is not None
        if not self.core.receives_updates:
            log.info("Telegram: sending only (this process's role takes no updates)")
        elif self.settings.telegram_webhook_url:
            url = self.settings.telegram_webhook_url
            secret = self.settings.telegram_webhook_secret
            # Telegram echoes the secret in a header on every call; without one anybody who
            # learns the URL could inject updates, so make one up for this run.
            self.webhook_secret = secret.get_secret_value() if secret else secrets.token_hex(24)
            # Replicas behind one URL: an update Telegram sends again (its 200 got lost) may
            # reach another replica; the first to claim its id on the database handles it.
            app.add_handler(TypeHandler(Update, self._claim_update), group=-1)
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

    async def _claim_update(self, update: Update, context: object) -> None:
        key = f"telegram-update:{self.sender.bot.id if self.sender.bot else 0}:{update.update_id}"
        if await safely(self.core.first_claim(key)) is False:
            log.info("telegram update %s already handled by another replica", update.update_id)
            raise ApplicationHandlerStop

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
        self.sender.bot = None

    def health(self) -> str | None:
        """Why Telegram is not healthy, or None (the core's /healthz asks)."""
        app = self.application
        if app is None or not app.running:
            return "not running"
        if self.core.receives_updates and (app.updater is None or not app.updater.running):
            return "not receiving updates"
        return None
