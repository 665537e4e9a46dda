"""The Discord adapter's lifecycle: discord.py 2.x logged in, connected, stopped, watched.

The client runs as a task inside our event loop (never ``client.run()``), so the scheduler
and the Telegram adapter share the loop with it. Interactions go to :mod:`.interactions`,
gateway events to :mod:`.events`, posts out through :mod:`.sender`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord.chats import ChatAccess
from bot.adapters.discord.commands import build_commands, sync_commands
from bot.adapters.discord.events import Client, Events
from bot.adapters.discord.interactions import Interactions
from bot.adapters.discord.rendering import NONE_MENTIONED
from bot.adapters.discord.sender import PLATFORM, DiscordSender
from bot.commands import CommandTable

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)


class DiscordAdapter:
    """Runs the Discord bot for one :class:`Core`; ``start()``/``stop()`` own its lifecycle."""

    platform = PLATFORM

    def __init__(
        self, core: Core, commands: CommandTable, *, guild_ready_timeout: float = 2.0
    ) -> None:
        self.core = core
        self.commands = commands
        self.settings = core.settings
        self.guild_ready_timeout = guild_ready_timeout
        self.access = ChatAccess(core)
        self.interactions = Interactions(core, self.access)
        self.events = Events(core, self.access)
        self.sender = DiscordSender(self.access, self.health)
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._saved_urls: tuple[str, yarl.URL] | None = None
        self.synced_to: str | None = None  # "global" or the guild id commands were synced to

    @property
    def defer_after(self) -> float:
        """Seconds the core may take before an interaction is deferred (Discord allows 3)."""
        return self.interactions.defer_after

    @defer_after.setter
    def defer_after(self, seconds: float) -> None:
        self.interactions.defer_after = seconds

    def _token(self) -> str:
        token = self.settings.discord_bot_token
        value = token.get_secret_value().strip() if token else ""
        if not value:
            raise RuntimeError("DISCORD_BOT_TOKEN is not set")
        return value

    def _apply_urls(self) -> None:
        """Point discord.py at DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL (both process-wide)."""
        self._saved_urls = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self.settings.discord_api_base_url:
            Route.BASE = self.settings.discord_api_base_url.rstrip("/")
        if self.settings.discord_gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.discord_gateway_url)

    def _restore_urls(self) -> None:
        if self._saved_urls is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_urls
            self._saved_urls = None

    def _new_client(self) -> Client:
        # The bot never joins voice; discord.py would warn at start-up that PyNaCl and davey
        # (voice libraries) are missing, which only worries an operator reading the log.
        for flag in ("warn_nacl", "warn_dave"):
            if hasattr(discord.VoiceClient, flag):
                setattr(discord.VoiceClient, flag, False)
        intents = discord.Intents.none()
        intents.guilds = True  # guild join/leave, channel and thread deletes
        intents.dm_messages = True  # to answer DMs with a hint; no message-content intent
        return Client(
            self.events,
            self.interactions,
            lambda tree: build_commands(tree, self.commands, self.interactions, self.core),
            intents=intents,
            allowed_mentions=NONE_MENTIONED,
            max_messages=None,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=self.guild_ready_timeout,
            # Longer 429 waits come back as RateLimited -> RetryLater for the worker to pace.
            max_ratelimit_timeout=60.0,
        )

    async def start(self) -> None:
        """Log in, connect the gateway as a task, sync commands, start the delivery worker."""
        token = self._token()
        self._apply_urls()
        self.client = client = self._new_client()
        try:
            await client.login(token)
        except discord.LoginFailure:
            await client.close()
            self._restore_urls()
            raise RuntimeError("Discord refused DISCORD_BOT_TOKEN (login failed)") from None
        except BaseException:  # unreachable API, cancelled: close the HTTP session too
            await client.close()
            self._restore_urls()
            raise
        self.access.client = client
        if self.core.receives_updates:
            self._task = asyncio.create_task(self._run_gateway(), name="discord-gateway")
            await self.sync_commands()
        else:  # sending goes through the REST API; the gateway is for updates
            log.info("Discord: sending only (this process's role takes no updates)")
        self.core.start_delivery(self.sender)
        log.info("Discord adapter started (application %s)", client.application_id)

    async def sync_commands(self) -> None:
        """Sync the command tree to DISCORD_GUILD_ID at once, or globally (takes up to an hour)."""
        assert self.client is not None
        self.synced_to = await sync_commands(self.client.tree, self.settings.discord_guild_id)

    async def _run_gateway(self) -> None:
        """Keep the gateway connected; discord.py reconnects itself on network errors.

        An exception from discord.py's event parsing (a payload it did not expect) ends
        ``connect()``; we reconnect after a pause rather than lose Discord until a restart.
        """
        assert self.client is not None
        delay = 1.0
        while not self.client.is_closed():
            try:
                await self.client.connect(reconnect=True)
            except asyncio.CancelledError:
                raise
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
                log.error("Discord gateway refused the bot: %s", type(exc).__name__)
                return
            except Exception as exc:
                if self.client.is_closed():
                    return
                log.error(
                    "Discord gateway stopped (%s); reconnecting in %.0f s",
                    type(exc).__name__,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
            else:
                return

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the gateway is READY and the guilds have arrived (tests, health checks)."""
        assert self.client is not None
        await asyncio.wait_for(self.client.wait_until_ready(), timeout)

    def health(self) -> str | None:
        """Why Discord is not healthy, or None (the core's /healthz asks)."""
        client = self.client
        if client is None or client.is_closed():
            return "not connected"
        if not self.core.receives_updates:
            return None  # sending only: REST, no gateway
        if self._task is None or self._task.done():
            return "gateway stopped"
        if not client.is_ready():
            return "gateway not ready yet"
        if client.ws is None or not client.ws.open:
            return "gateway disconnected (reconnecting)"
        return None

    async def stop(self) -> None:
        """Stop delivery, close the connection, and restore discord.py's URLs."""
        with contextlib.suppress(Exception):
            await self.core.stop_delivery(PLATFORM)
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.access.cancel_notes()
        self._restore_urls()
