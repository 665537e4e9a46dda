"""The Discord adapter's lifecycle: discord.py 2.x logged in, connected, stopped, watched.

The client runs as a task inside our event loop (never ``client.run()``), so the scheduler
and the Telegram adapter share the loop with it. Interactions go to :mod:`.interactions`,
gateway events to :mod:`.events`, posts out through :mod:`.sender`. With
``DISCORD_SHARD_COUNT`` the gateway runs as shards, one client each, held as leases by
:mod:`.shards`; the main client then only speaks REST (posts, command sync).
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
from bot.adapters.discord.shards import TICK_SECONDS, ShardKeeper, ShardLock
from bot.commands import CommandTable

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

# Adapters that pointed discord.py's process-wide URLs elsewhere, and what they were before.
_URL_USERS: list[DiscordAdapter] = []
_ORIGINAL_URLS: list[tuple[str, yarl.URL]] = []


class DiscordAdapter:
    """Runs the Discord bot for one :class:`Core`; ``start()``/``stop()`` own its lifecycle."""

    platform = PLATFORM

    def __init__(
        self,
        core: Core,
        commands: CommandTable,
        *,
        guild_ready_timeout: float = 2.0,
        shard_tick_seconds: float = TICK_SECONDS,
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
        self.shard_tick_seconds = shard_tick_seconds
        self.shards: ShardKeeper | None = None
        self._shard_clients: dict[int, Client] = self.access.shard_clients
        self._shard_tasks: dict[int, asyncio.Task[None]] = {}
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
        if not _URL_USERS:
            _ORIGINAL_URLS[:] = [(Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)]
        _URL_USERS.append(self)
        self._point_urls()

    def _restore_urls(self) -> None:
        # The URLs are process-wide: an adapter stopping beside another running one (tests
        # run two "processes" in one) leaves the other's in place; the last restores them.
        if self not in _URL_USERS:
            return
        _URL_USERS.remove(self)
        if _URL_USERS:
            _URL_USERS[-1]._point_urls()
        elif _ORIGINAL_URLS:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = _ORIGINAL_URLS.pop()

    def _point_urls(self) -> None:
        if self.settings.discord_api_base_url:
            Route.BASE = self.settings.discord_api_base_url.rstrip("/")
        if self.settings.discord_gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.discord_gateway_url)

    def _new_client(self, **shard: int) -> Client:
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
            **shard,  # shard_id and shard_count, for one shard's gateway
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
        if self.core.receives_updates and self.settings.discord_shard_count:
            await self.sync_commands()
            self.shards = self._shard_keeper(self.settings.discord_shard_count)
            await self.shards.start()
        elif self.core.receives_updates:
            self._task = asyncio.create_task(self._run_gateway(client), name="discord-gateway")
            await self.sync_commands()
        else:  # sending goes through the REST API; the gateway is for updates
            log.info("Discord: sending only (this process's role takes no updates)")
        self.core.start_delivery(self.sender)
        log.info("Discord adapter started (application %s)", client.application_id)

    async def sync_commands(self) -> None:
        """Sync the command tree to DISCORD_GUILD_ID at once, or globally (takes up to an hour)."""
        assert self.client is not None
        self.synced_to = await sync_commands(self.client.tree, self.settings.discord_guild_id)

    def _shard_keeper(self, count: int) -> ShardKeeper:
        lock = None
        if self.core.token_lock(PLATFORM, "shard") is not None:  # a shared database

            def lock(shard: int) -> ShardLock:
                held = self.core.token_lock(PLATFORM, f"shard-{shard}-of-{count}")
                assert held is not None
                return held

        return ShardKeeper(
            count,
            limit=self.settings.discord_shards_per_process,
            lock=lock,
            start_shard=lambda shard: self._start_shard(shard, count),
            stop_shard=self._stop_shard,
            tick_seconds=self.shard_tick_seconds,
        )

    async def _start_shard(self, shard: int, count: int) -> None:
        client = self._new_client(shard_id=shard, shard_count=count)
        try:
            await client.login(self._token())
        except BaseException:
            await client.close()
            raise
        self._shard_clients[shard] = client
        self._shard_tasks[shard] = asyncio.create_task(
            self._run_gateway(client), name=f"discord-shard-{shard}"
        )

    async def _stop_shard(self, shard: int) -> None:
        client = self._shard_clients.pop(shard, None)
        task = self._shard_tasks.pop(shard, None)
        if client is not None:
            await _close(client)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.sleep(0)  # events the closing client scheduled get their turn to end

    @property
    def shard_ids(self) -> list[int]:
        """The gateway shards this process runs (none when the gateway is not sharded)."""
        return sorted(self._shard_clients)

    async def _run_gateway(self, client: Client) -> None:
        """Keep the gateway connected; discord.py reconnects itself on network errors.

        An exception from discord.py's event parsing (a payload it did not expect) ends
        ``connect()``; we reconnect after a pause rather than lose Discord until a restart.
        """
        delay = 1.0
        while not client.is_closed():
            try:
                await client.connect(reconnect=True)
            except asyncio.CancelledError:
                raise
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
                log.error("Discord gateway refused the bot: %s", type(exc).__name__)
                return
            except Exception as exc:
                if client.is_closed():
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
        clients = list(self._shard_clients.values()) if self.shards else [self.client]
        await asyncio.wait_for(asyncio.gather(*(c.wait_until_ready() for c in clients)), timeout)

    def health(self) -> str | None:
        """Why Discord is not healthy, or None (the core's /healthz asks)."""
        client = self.client
        if client is None or client.is_closed():
            return "not connected"
        if not self.core.receives_updates:
            return None  # sending only: REST, no gateway
        if self.shards is not None:
            if not self.shards.running:
                return "shard leases not watched"
            stopped = [str(i) for i, task in sorted(self._shard_tasks.items()) if task.done()]
            # Holding no shard is a standby's normal state: others run them.
            return f"gateway shard {', '.join(stopped)} stopped" if stopped else None
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
        if self.shards is not None:
            await self.shards.stop()  # frees the shards' leases: a standby takes them at once
        if self.client is not None:
            await _close(self.client)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.access.cancel_notes()
        self._restore_urls()


async def _close(client: Client) -> None:
    """Close a client, first ending its wait for the servers to arrive.

    discord.py waits up to ``guild_ready_timeout`` after READY before it dispatches "ready",
    in a task ``close()`` leaves running; closed meanwhile (a shard given up right after it
    connected), that task fails on the client's torn-down loop.
    """
    ready_task = getattr(getattr(client, "_connection", None), "_ready_task", None)
    if isinstance(ready_task, asyncio.Task) and not ready_task.done():
        ready_task.cancel()
    await client.close()
