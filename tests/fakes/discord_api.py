"""A small fake of Discord (REST API + gateway websocket) on 127.0.0.1 for the real discord.py.

discord.py talks to it through ``discord.http.Route.BASE`` (REST, interaction callbacks and
webhooks) and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (the gateway); the adapter
sets both from ``DISCORD_API_BASE_URL`` / ``DISCORD_GATEWAY_URL``. The fake serves only what
the bot uses, records every message and interaction callback for assertions, and lets a test
inject gateway events (interactions, messages, guild join/leave) and REST errors.

Quirks it keeps because discord.py depends on them (learned the hard way):

* replies carry exactly ``Content-Type: application/json`` (no charset), else discord.py reads
  the body as text;
* interaction callbacks answer 200 with an ``interaction`` and a ``resource`` object;
* a 429 carries ``retry_after`` in the body and a ``Via`` header, or discord.py treats it as a
  Cloudflare ban.

Shards as Discord has them: a connection that identifies as shard ``[id, count]`` gets the
events of the servers with ``(guild_id >> 22) % count == id`` and, on shard 0, direct messages.
``identified`` lists every IDENTIFY's shard, and ``shard_conflicts`` each one made while another
open connection already ran that shard (what several processes must never do).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
ALL_PERMISSIONS = (1 << 53) - 1
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
# What an ordinary member may do in a channel: view, send, read history, use app commands.
MEMBER_PERMISSIONS = (1 << 10) | SEND_MESSAGES | (1 << 16) | (1 << 31)

# Discord's channel types used here.
TEXT, DM, PUBLIC_THREAD = 0, 1, 11


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # json_response would add "; charset=utf-8" and discord.py would then treat the body as text.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)


@dataclass
class RestError:
    """An error the fake answers instead of success (``times`` = how many requests it hits)."""

    status: int
    code: int
    message: str
    retry_after: float | None = None  # for 429s
    times: int = 1


@dataclass
class Recorded:
    """One request the fake recorded: what kind, where, and the JSON body it carried."""

    # "message" | "edit" | "callback" | "followup" | "edit_original" | "delete_original"
    # | "refused_callback" (an injected error was answered)
    kind: str
    channel_id: str | None
    body: dict[str, Any]
    message_id: str | None = None
    interaction_id: str | None = None

    @property
    def content(self) -> str:
        """The message text (callbacks carry it under ``data``)."""
        data = self.body.get("data", self.body) if self.kind == "callback" else self.body
        return (data or {}).get("content") or ""

    @property
    def data(self) -> dict[str, Any]:
        """The message part of the body (``data`` of a callback, else the body itself)."""
        if self.kind == "callback":
            return self.body.get("data") or {}
        return self.body

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.data.get("components") or []

    @property
    def custom_ids(self) -> list[str]:
        """Every button custom_id in the message, row by row."""
        return [
            item["custom_id"]
            for row in self.components
            for item in row.get("components", [])
            if "custom_id" in item
        ]

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & 64)

    @property
    def callback_type(self) -> int | None:
        return self.body.get("type") if self.kind == "callback" else None


@dataclass
class FakeGuild:
    id: str
    name: str
    channels: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    owner_id: str = "1"
    system_channel_id: str | None = None

    def payload(self, bot_user: dict[str, Any]) -> dict[str, Any]:
        """The GUILD_CREATE payload: the guild with its channels, threads and the bot as member."""
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "owner_id": self.owner_id,
            "afk_channel_id": None,
            "system_channel_id": self.system_channel_id,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [
                {
                    "id": self.id,  # @everyone has the guild's id
                    "name": "@everyone",
                    "permissions": str(MEMBER_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": _now(),
            "members": [
                {
                    "user": bot_user,
                    "roles": [],
                    "joined_at": _now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
            "channels": self.channels,
            "threads": self.threads,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


class FakeDiscord:
    """The fake server. ``async with FakeDiscord() as fake:`` starts it on a free port."""

    def __init__(self, *, token: str = "fake-token", heartbeat_ms: int = 45_000) -> None:
        self.token = token
        self.heartbeat_ms = heartbeat_ms
        # Real-looking snowflakes (time since Discord's epoch << 22), so created_at is "now".
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._ids = itertools.count(now_ms << 22)
        self.app_id = self.new_id()
        self.bot_user = {
            "id": self.app_id,
            "username": "commentary",
            "discriminator": "0",
            "global_name": "Commentary",
            "avatar": None,
            "bot": True,
            "flags": 0,
        }
        self.owner_user = self.user("owner")
        self.guilds: dict[str, FakeGuild] = {}
        self.dm_channels: dict[str, dict[str, Any]] = {}
        self.recorded: list[Recorded] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild id (None = global)
        self.sync_calls: list[str | None] = []
        self.channel_errors: dict[str, RestError] = {}  # channel id -> error for POST messages
        self.callback_errors: dict[str, RestError] = {}  # interaction id -> error
        self.next_callback_error: RestError | None = None  # for the next callback, whichever
        self.app_permissions = ALL_PERMISSIONS  # the bot's rights where interactions come from
        self.bad_tokens_seen: list[str] = []
        self.identifies = 0
        self.identified: list[tuple[int, int]] = []  # (shard id, shard count) per IDENTIFY
        self.shard_conflicts: list[tuple[int, int]] = []
        self._shard_of: dict[web.WebSocketResponse, tuple[int, int]] = {}
        self._session_shards: dict[str, tuple[int, int]] = {}
        self.messages_by_id: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, str] = {}  # interaction token -> interaction id
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        p = API_PREFIX
        app.router.add_get(p + "/users/@me", self._me)
        app.router.add_get(p + "/oauth2/applications/@me", self._application)
        app.router.add_get(p + "/gateway", self._gateway_info)
        app.router.add_get(p + "/gateway/bot", self._gateway_info)
        app.router.add_put(p + "/applications/{app}/commands", self._put_commands)
        app.router.add_put(p + "/applications/{app}/guilds/{guild}/commands", self._put_commands)
        app.router.add_get(p + "/applications/{app}/commands", self._get_commands)
        app.router.add_get(p + "/applications/{app}/guilds/{guild}/commands", self._get_commands)
        app.router.add_post(p + "/channels/{channel}/messages", self._post_message)
        app.router.add_patch(p + "/channels/{channel}/messages/{message}", self._edit_message)
        app.router.add_post(p + "/channels/{channel}/threads", self._create_thread)
        app.router.add_get(p + "/channels/{channel}", self._get_channel)
        app.router.add_post(p + "/users/@me/channels", self._open_dm)
        app.router.add_post(p + "/interactions/{id}/{token}/callback", self._callback)
        app.router.add_post(p + "/webhooks/{app}/{token}", self._followup)
        app.router.add_patch(p + "/webhooks/{app}/{token}/messages/@original", self._edit_original)
        app.router.add_delete(
            p + "/webhooks/{app}/{token}/messages/@original", self._delete_original
        )
        app.router.add_route("*", p + "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        """The value for DISCORD_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The value for DISCORD_GATEWAY_URL."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ----------------------------------------------------------------- world building

    def new_id(self) -> str:
        return str(next(self._ids))

    def user(self, name: str) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "username": name,
            "discriminator": "0",
            "global_name": name.title(),
            "avatar": None,
            "flags": 0,
        }

    def add_guild(
        self, name: str = "Opinion Club", *, channels: int = 1, shard: tuple[int, int] = (0, 1)
    ) -> FakeGuild:
        """A guild the bot is in, with ``channels`` text channels (#general, #news-2, ...);
        ``shard`` (id, count) picks an id whose events go to that shard."""
        guild_id = int(self.new_id())
        while (guild_id >> 22) % shard[1] != shard[0]:
            guild_id += 1 << 22  # the next millisecond's id
        guild = FakeGuild(id=str(guild_id), name=name, owner_id=self.owner_user["id"])
        for index in range(channels):
            self.add_channel(guild, "general" if index == 0 else f"news-{index + 1}")
        return guild

    def add_channel(self, guild: FakeGuild, name: str) -> dict[str, Any]:
        channel = {
            "id": self.new_id(),
            "type": TEXT,
            "guild_id": guild.id,
            "name": name,
            "position": len(guild.channels),
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        guild.channels.append(channel)
        self.guilds[guild.id] = guild
        return channel

    def add_thread(self, guild: FakeGuild, parent: dict[str, Any], name: str) -> dict[str, Any]:
        thread = {
            "id": self.new_id(),
            "type": PUBLIC_THREAD,
            "guild_id": guild.id,
            "parent_id": parent["id"],
            "owner_id": self.owner_user["id"],
            "name": name,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _now(),
                "locked": False,
            },
        }
        guild.threads.append(thread)
        return thread

    def dm_channel(self, user: dict[str, Any]) -> dict[str, Any]:
        channel = {"id": self.new_id(), "type": DM, "recipients": [user], "last_message_id": None}
        self.dm_channels[channel["id"]] = channel
        return channel

    def find_channel(self, channel_id: str) -> dict[str, Any] | None:
        for guild in self.guilds.values():
            for channel in guild.channels + guild.threads:
                if channel["id"] == channel_id:
                    return channel
        return self.dm_channels.get(channel_id)

    # ----------------------------------------------------------------- assertions

    def messages(self, channel_id: str | None = None) -> list[Recorded]:
        """Messages posted with POST /channels/{id}/messages (optionally in one channel)."""
        return [
            r
            for r in self.recorded
            if r.kind == "message" and (channel_id is None or r.channel_id == channel_id)
        ]

    def answers(self, interaction_id: str) -> list[Recorded]:
        """Everything said in answer to one interaction: callback, edits, follow-ups."""
        return [r for r in self.recorded if r.interaction_id == interaction_id]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (checked after each recorded request)."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_answers(
        self, interaction_id: str, count: int = 1, timeout: float = 5.0
    ) -> list[Recorded]:
        """Wait until an interaction has ``count`` recorded answers and return them."""
        await self.wait_for(lambda: len(self.answers(interaction_id)) >= count, timeout)
        return self.answers(interaction_id)

    async def _record(self, item: Recorded) -> None:
        self.recorded.append(item)
        async with self._changed:
            self._changed.notify_all()

    # ----------------------------------------------------------------- gateway

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to the connected clients whose shard carries it."""
        whole_guild = event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")
        guild_id = data.get("id") if whole_guild else data.get("guild_id")
        for ws in list(self._sockets):
            if not ws.closed and self._carries(ws, guild_id):
                await self._send(ws, 0, data, event)

    def _carries(self, ws: web.WebSocketResponse, guild_id: str | None) -> bool:
        """Whether this connection's shard gets a server's events (None: a DM, shard 0)."""
        shard = self._shard_of.get(ws)
        if shard is None:
            return False  # not identified (or resumed) yet: Discord sends it nothing
        shard_id, count = shard
        if guild_id is None:
            return shard_id == 0
        return (int(guild_id) >> 22) % count == shard_id

    def running_shards(self) -> list[tuple[int, int]]:
        """The shards of the open, identified connections (one entry per connection)."""
        return sorted(shard for ws, shard in self._shard_of.items() if not ws.closed)

    async def _send(
        self, ws: web.WebSocketResponse, op: int, data: Any, event: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == 0:
            self._seq += 1
            payload["s"] = self._seq
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await self._send(ws, 10, {"heartbeat_interval": self.heartbeat_ms})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:  # heartbeat
                    await self._send(ws, 11, None)
                elif op == 2:  # identify
                    await self._identify(ws, frame["d"])
                elif op == 6:  # resume
                    session = (frame.get("d") or {}).get("session_id", "")
                    self._shard_of[ws] = self._session_shards.get(session, (0, 1))
                    await self._send(ws, 0, {}, "RESUMED")
        finally:
            self._sockets.remove(ws)
            self._shard_of.pop(ws, None)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            self.bad_tokens_seen.append("identify")
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies += 1
        raw = data.get("shard") or [0, 1]
        shard = (int(raw[0]), int(raw[1]))
        if shard in self.running_shards():
            self.shard_conflicts.append(shard)
        self.identified.append(shard)
        self._shard_of[ws] = shard
        session = f"session-{self.identifies}"
        self._session_shards[session] = shard
        guilds = [guild for guild in self.guilds.values() if self._carries(ws, guild.id)]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": guild.id, "unavailable": True} for guild in guilds],
            "session_id": session,
            "shard": list(shard),
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        await self._send(ws, 0, ready, "READY")
        for guild in guilds:
            await self._send(ws, 0, guild.payload(self.bot_user), "GUILD_CREATE")

    async def join_guild(self, guild: FakeGuild) -> None:
        """The bot is added to a guild: GUILD_CREATE for a guild it did not have."""
        self.guilds[guild.id] = guild
        payload = guild.payload(self.bot_user)
        # A guild just joined comes without "unavailable"; discord.py reads False as "came back".
        del payload["unavailable"]
        await self.dispatch("GUILD_CREATE", payload)

    async def leave_guild(self, guild: FakeGuild) -> None:
        """The bot is removed from a guild: GUILD_DELETE without ``unavailable``."""
        self.guilds.pop(guild.id, None)
        await self.dispatch("GUILD_DELETE", {"id": guild.id})

    # ----------------------------------------------------------------- interactions

    def _base_interaction(
        self,
        type_: int,
        channel: dict[str, Any],
        user: dict[str, Any],
        *,
        admin: bool = False,
        guild_id: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.new_id(),
            "application_id": self.app_id,
            "type": type_,
            "token": f"itoken-{self.new_id()}",
            "version": 1,
            "channel_id": channel["id"],
            "channel": channel,
            "locale": "en-US",
            "app_permissions": str(self.app_permissions),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id or "0"},
            "attachment_size_limit": 10_485_760,
        }
        guild_id = guild_id or channel.get("guild_id")
        if guild_id:
            perms = ALL_PERMISSIONS if admin else MEMBER_PERMISSIONS
            payload.update(
                guild_id=guild_id,
                guild_locale="en-US",
                context=0,
                guild={"id": guild_id, "locale": "en-US", "features": []},
                member={
                    "user": user,
                    "roles": [],
                    "joined_at": _now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": str(perms),
                },
            )
        else:
            payload.update(user=user, context=1)
        return payload

    async def _send_interaction(self, payload: dict[str, Any]) -> str:
        self._tokens[payload["token"]] = payload["id"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload["id"]

    def _command_id(self, name: str, type_: int = 1) -> str:
        for commands in self.commands.values():
            for command in commands:
                if command["name"] == name and command.get("type", 1) == type_:
                    return command["id"]
        return self.new_id()

    async def slash(
        self,
        channel: dict[str, Any],
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: dict[str, Any] | None = None,
        admin: bool = False,
        guild_id: str | None = None,
    ) -> str:
        """A user runs ``/name option:value ...``; returns the interaction id."""
        payload = self._base_interaction(
            2, channel, user or self.owner_user, admin=admin, guild_id=guild_id
        )
        data: dict[str, Any] = {"id": self._command_id(name), "name": name, "type": 1}
        if options:
            data["options"] = [
                {"name": key, "type": _option_type(value), "value": value}
                for key, value in options.items()
            ]
        payload["data"] = data
        return await self._send_interaction(payload)

    async def autocomplete(
        self,
        channel: dict[str, Any],
        name: str,
        option: str,
        value: str,
        *,
        user: dict[str, Any] | None = None,
    ) -> str:
        """A user types ``value`` into an autocompleted option."""
        payload = self._base_interaction(4, channel, user or self.owner_user)
        payload["data"] = {
            "id": self._command_id(name),
            "name": name,
            "type": 1,
            "options": [{"name": option, "type": 3, "value": value, "focused": True}],
        }
        return await self._send_interaction(payload)

    async def message_command(
        self,
        channel: dict[str, Any],
        name: str,
        target: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
    ) -> str:
        """A user picks ``Apps > name`` on the message ``target`` (a recorded message payload)."""
        payload = self._base_interaction(2, channel, user or self.owner_user)
        payload["data"] = {
            "id": self._command_id(name, 3),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        return await self._send_interaction(payload)

    async def press(
        self,
        channel: dict[str, Any],
        custom_id: str,
        message: dict[str, Any],
        *,
        user: dict[str, Any] | None = None,
    ) -> str:
        """A user presses the button ``custom_id`` under ``message``."""
        payload = self._base_interaction(3, channel, user or self.owner_user)
        payload["message"] = message
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        return await self._send_interaction(payload)

    async def user_message(
        self, channel: dict[str, Any], content: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A user writes a message (MESSAGE_CREATE), e.g. a DM to the bot."""
        message = self._message_payload(channel["id"], {"content": content}, author=user)
        if channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    # ----------------------------------------------------------------- REST handlers

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 0, "401: Unauthorized")
        return _json(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.app_id,
                "name": "Commentary",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner_user,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "team": None,
                "interactions_endpoint_url": None,
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url, "shards": 1})

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        body = await request.json()
        stored = []
        for command in body:
            command = dict(command)
            command.setdefault("type", 1)
            command.setdefault("description", "")
            command.update(
                id=self._command_id(command["name"], command["type"]),
                application_id=self.app_id,
                version=self.new_id(),
            )
            if guild:
                command["guild_id"] = guild
            stored.append(command)
        self.commands[guild] = stored
        self.sync_calls.append(guild)
        return _json(stored)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return _json(self.commands.get(request.match_info.get("guild"), []))

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.find_channel(request.match_info["channel"])
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        return _json(channel)

    async def _open_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        for channel in self.dm_channels.values():
            if channel["recipients"][0]["id"] == str(body["recipient_id"]):
                return _json(channel)
        return _json(self.dm_channel({**self.user("someone"), "id": str(body["recipient_id"])}))

    def _message_payload(
        self, channel_id: str, body: dict[str, Any], author: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        message = {
            "id": self.new_id(),
            "channel_id": channel_id,
            "author": author or self.bot_user,
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
        }
        self.messages_by_id[message["id"]] = message
        return message

    def _take_error(self, table: dict[str, RestError], key: str) -> web.Response | None:
        error = table.get(key)
        if error is None:
            return None
        error.times -= 1
        if error.times <= 0:
            del table[key]
        if error.status == 429:
            return _json(
                {
                    "message": "You are being rate limited.",
                    "retry_after": error.retry_after or 0.05,
                    "global": False,
                },
                status=429,
                headers={"Via": "1.1 google", "Retry-After": str(error.retry_after or 0.05)},
            )
        return _error(error.status, error.code, error.message)

    async def _post_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 0, "401: Unauthorized")
        channel_id = request.match_info["channel"]
        failure = self._take_error(self.channel_errors, channel_id)
        if failure is not None:
            return failure
        channel = self.find_channel(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        if (channel.get("thread_metadata") or {}).get("archived"):
            return _error(400, 50083, "Thread is archived")
        body = await request.json()
        if problem := _invalid_message(body):
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)
        message = self._message_payload(channel_id, body)
        await self._record(Recorded("message", channel_id, body, message_id=message["id"]))
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        """PATCH a message the bot sent: the stored message takes the new fields."""
        if not self._authorized(request):
            return _error(401, 0, "401: Unauthorized")
        channel_id, message_id = request.match_info["channel"], request.match_info["message"]
        failure = self._take_error(self.channel_errors, channel_id)
        if failure is not None:
            return failure
        message = self.messages_by_id.get(message_id)
        if message is None or message["channel_id"] != channel_id:
            return _error(404, 10008, "Unknown Message")
        if message["author"]["id"] != self.bot_user["id"]:
            return _error(403, 50005, "Cannot edit a message authored by another user")
        body = await request.json()
        if problem := _invalid_message(body):
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ([] if key != "content" else "")
                )
        message["edited_timestamp"] = _now()
        await self._record(Recorded("edit", channel_id, body, message_id=message_id))
        return _json(message)

    async def _create_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads (a thread without a starter message)."""
        if not self._authorized(request):
            return _error(401, 0, "401: Unauthorized")
        channel_id = request.match_info["channel"]
        failure = self._take_error(self.channel_errors, channel_id)
        if failure is not None:
            return failure
        parent = self.find_channel(channel_id)
        if parent is None:
            return _error(404, 10003, "Unknown Channel")
        if parent.get("type") != TEXT:
            return _error(400, 50024, "Cannot execute action on this channel type")
        guild = self.guilds[parent["guild_id"]]
        body = await request.json()
        thread = self.add_thread(guild, parent, str(body.get("name") or "thread")[:100])
        thread["thread_metadata"]["auto_archive_duration"] = body.get("auto_archive_duration", 1440)
        thread["member"] = {"id": thread["id"], "user_id": self.app_id, "join_timestamp": _now(),
                            "flags": 0}  # fmt: skip
        await self._record(Recorded("thread", channel_id, body, message_id=thread["id"]))
        return _json(thread, 201)

    def archive_thread(self, thread: dict[str, Any]) -> None:
        """Archive a thread: posting into it fails with 50083 until it is unarchived."""
        thread["thread_metadata"]["archived"] = True

    def delete_thread(self, thread: dict[str, Any]) -> None:
        for guild in self.guilds.values():
            if thread in guild.threads:
                guild.threads.remove(thread)

    def _interaction_for_token(self, token: str) -> str | None:
        return self._tokens.get(token)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction_id = request.match_info["id"]
        if self.next_callback_error is not None:
            self.callback_errors[interaction_id] = self.next_callback_error
            self.next_callback_error = None
        failure = self._take_error(self.callback_errors, interaction_id)
        if failure is not None:
            await self._record(
                Recorded("refused_callback", None, {}, interaction_id=interaction_id)
            )
            return failure
        if any(r.kind == "callback" and r.interaction_id == interaction_id for r in self.recorded):
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = await request.json()
        if body.get("data") and (problem := _invalid_message(body["data"])):
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)
        message = None
        if body.get("type") in (4, 5, 7):  # a message or the deferred "thinking" placeholder
            message = self._message_payload("0", body.get("data") or {})
        await self._record(
            Recorded(
                "callback",
                None,
                body,
                message_id=message["id"] if message else None,
                interaction_id=interaction_id,
            )
        )
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": body.get("type") == 5,
                "response_message_ephemeral": bool(
                    ((body.get("data") or {}).get("flags") or 0) & 64
                ),
            },
            "resource": {"type": body.get("type")},
        }
        if message is not None:
            result["resource"]["message"] = message
        return _json(result)

    async def _followup(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.json()
        if problem := _invalid_message(body):
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)
        message = self._message_payload("0", body)
        await self._record(
            Recorded(
                "followup",
                None,
                body,
                message_id=message["id"],
                interaction_id=self._interaction_for_token(token),
            )
        )
        return _json(message)

    async def _edit_original(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.json()
        if problem := _invalid_message(body):
            return _json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)
        message = self._message_payload("0", body)
        await self._record(
            Recorded(
                "edit_original",
                None,
                body,
                message_id=message["id"],
                interaction_id=self._interaction_for_token(token),
            )
        )
        return _json(message)

    async def _delete_original(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        await self._record(
            Recorded("delete_original", None, {}, interaction_id=self._interaction_for_token(token))
        )
        return web.Response(status=204)

    async def _unknown(self, request: web.Request) -> web.Response:
        return _error(404, 0, f"404: Not Found ({request.method} {request.path})")


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def _invalid_message(body: dict[str, Any]) -> dict[str, Any] | None:
    """Discord's own message checks that matter here: content and embed size limits."""
    if len(body.get("content") or "") > 2000:
        return {"content": "Must be 2000 or fewer in length."}
    embeds = body.get("embeds") or []
    total = 0
    for embed in embeds:
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                return {f"embeds.{key}": f"Must be {limit} or fewer in length."}
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        if len(footer) > 2048 or len(author) > 256:
            return {"embeds.footer/author": "too long"}
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += len(footer) + len(author)
        for item in embed.get("fields") or []:
            total += len(item.get("name") or "") + len(item.get("value") or "")
    if total > 6000:
        return {"embeds": "Embed size exceeds maximum size of 6000"}
    for row in body.get("components") or []:
        for item in row.get("components") or []:
            if len(item.get("custom_id") or "") > 100 or len(item.get("label") or "") > 80:
                return {"components": "custom_id or label too long"}
    return None
