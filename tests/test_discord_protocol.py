"""What the end-to-end tests cannot reach through the real core, with a stand-in core.

tests/test_discord_adapter.py runs the real core; these few pin Discord protocol details that
need a core answering on cue: a slow, long answer split across the deferred edit and
follow-ups (each part recorded), the Sender's error translation and one admin note per lost
channel, the token with no core installing log redaction, and a refused token at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.discord import DiscordAdapter
from bot.commands import CommandSpec, CommandTable, Option
from bot.config import Settings
from bot.delivery.errors import ChatGone
from bot.messages import Reply, Request, Response
from bot.types import Chat
from tests.fakes.discord_api import FakeDiscord, RestError

TOKEN = "OTk5.stub-core.discord-token-that-must-not-leak"


async def _unused_handler(request: Request, services: Any) -> Response:
    return Response.text("unused")


COMMANDS = CommandTable(
    {
        "help": CommandSpec("help", "/help [command]", "Help", _unused_handler),
        "latest": CommandSpec(
            "latest",
            "/latest [n]",
            "Newest",
            _unused_handler,
            options=(Option("count", "How many", kind="int", min_value=1, max_value=10),),
        ),
        "more": CommandSpec("more", "/more (reply)", "More", _unused_handler, reply_action=True),
    }
)


class StubCore:
    """Just the core contract the adapter uses, recording what it is asked."""

    receives_updates = True  # this process answers commands (run --role all or chat)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.requests: list[Request] = []
        self.events: list[tuple[str, str]] = []
        self.recorded: list[tuple[str, list[tuple[str, int | None]]]] = []
        self.delay = 0.0
        self.sender: Any = None

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        if request.command == "latest" and request.args == "5":
            return Response.error("Nothing new.")
        if request.command == "help":
            return Response.text("Help is here. " * 300, kind="long")
        return Response.text(f"ran {request.command}")

    async def record_messages(
        self, platform: str, chat_id: str, sent: list[tuple[str, int | None]]
    ) -> None:
        self.recorded.append((chat_id, sent))

    async def autocomplete(self, kind: str, prefix: str, limit: int = 25) -> list[str]:
        return []

    def start_delivery(self, sender: Any) -> None:
        self.sender = sender

    async def stop_delivery(self, platform: str) -> None:
        self.sender = None

    async def chat_seen(self, platform: str, chat_id: str, kind: str, **_: Any) -> None:
        self.events.append(("seen", chat_id))

    async def chat_gone(self, platform: str, chat_id: str, reason: str) -> None:
        self.events.append(("gone", chat_id))

    async def known_chat_ids(self, platform: str, ids: list[str]) -> set[str]:
        return set(ids)


@pytest.fixture
async def setup(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[FakeDiscord, StubCore, DiscordAdapter]]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with FakeDiscord(token=TOKEN) as fake:
        fake.add_guild(channels=2)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_bot_token=SecretStr(TOKEN),
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        core = StubCore(settings)
        adapter = DiscordAdapter(core, COMMANDS, guild_ready_timeout=0.05)  # type: ignore[arg-type]
        await adapter.start()
        try:
            await adapter.wait_ready(5)
            yield fake, core, adapter
        finally:
            await adapter.stop()
    assert (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY) == saved  # stop() restored them


def guild_of(fake: FakeDiscord) -> Any:
    return next(iter(fake.guilds.values()))


async def test_slow_answer_is_deferred_and_long_text_split(setup: Any) -> None:
    fake, core, adapter = setup
    adapter.defer_after = 0.05
    core.delay = 0.3
    channel = guild_of(fake).channels[0]
    iid = await fake.slash(channel, "help")
    replies = await fake.wait_answers(iid, 4)
    assert [r.kind for r in replies] == ["callback", "edit_original", "followup", "followup"]
    assert replies[0].callback_type == 5
    assert all(0 < len(r.content) <= 2000 for r in replies[1:])
    assert core.recorded and len(core.recorded[-1][1]) == 3  # every public part is recorded


async def test_missing_permissions_raise_chat_gone_note_admins_then_recover(setup: Any) -> None:
    fake, core, _adapter = setup
    guild = guild_of(fake)
    channel, system = guild.channels
    guild.system_channel_id = system["id"]
    await fake.join_guild(guild)  # refresh the cached guild with its system channel
    await asyncio.sleep(0.1)
    fake.channel_errors[channel["id"]] = RestError(403, 50013, "Missing Permissions", times=2)
    chat = Chat(id=1, platform="discord", platform_chat_id=channel["id"], kind="group")
    for _ in range(2):
        with pytest.raises(ChatGone):
            await core.sender.send_post(chat, Reply(text="hello"))
    await fake.wait_for(lambda: fake.messages(system["id"]))
    assert len(fake.messages(system["id"])) == 1  # one note, not one per failure
    assert "#general" in fake.messages(system["id"])[0].content
    # A command from that channel, with the bot's rights back, turns the chat on again.
    iid = await fake.slash(channel, "latest", {"count": 1})
    await fake.wait_answers(iid)
    assert ("seen", channel["id"]) in core.events


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [(404, 10003, "ChatGone"), (403, 50001, "ChatGone"), (400, 50035, "PermanentError")],
)
async def test_send_errors_are_translated(
    setup: Any, status: int, code: int, expected: str
) -> None:
    fake, core, _adapter = setup
    channel = guild_of(fake).channels[0]
    fake.channel_errors[channel["id"]] = RestError(status, code, "no")
    chat = Chat(id=1, platform="discord", platform_chat_id=channel["id"])
    with pytest.raises(Exception) as caught:
        await core.sender.send_post(chat, Reply(text="hello"))
    assert type(caught.value).__name__ == expected


async def test_token_never_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeDiscord(token=TOKEN) as fake:
        guild = fake.add_guild()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_bot_token=SecretStr(TOKEN),
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        core = StubCore(settings)
        adapter = DiscordAdapter(core, COMMANDS, guild_ready_timeout=0.05)  # type: ignore[arg-type]
        await adapter.start()
        try:
            await adapter.wait_ready(5)
            iid = await fake.slash(guild.channels[0], "help")
            await fake.wait_answers(iid)
            chat = Chat(id=1, platform="discord", platform_chat_id=guild.channels[0]["id"])
            await core.sender.send_post(chat, Reply(text="post"))
        finally:
            await adapter.stop()
    assert any(r.name.startswith("discord") for r in caplog.records)
    assert TOKEN not in caplog.text


async def test_wrong_token_fails_start_without_leaking_it(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(token="the-right-one") as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_bot_token=SecretStr(TOKEN),
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        adapter = DiscordAdapter(StubCore(settings), COMMANDS)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError) as caught:
            await adapter.start()
        assert TOKEN not in str(caught.value)
        assert Route.BASE == "https://discord.com/api/v10"
