"""Discord shards shared by two bot processes on one PostgreSQL database.

Each "process" is a Core of its own (its own pool, worker id and lock connections) with its
own Discord adapter, both against the local fake of Discord, which routes each server's events
to the connection identified as that server's shard (direct messages to shard 0) and records
any IDENTIFY of a shard another open connection already runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord import DiscordAdapter
from bot.core import Core
from bot.database_url import PostgresURL
from handlers.registry import command_table
from tests.factories import open_core
from tests.fakes.discord_api import FakeDiscord

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gshard.discord-shard-test-token"
TICK = 0.1


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with FakeDiscord(token=TOKEN) as server:
        yield server
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@asynccontextmanager
async def process(
    tmp_path: Path, pg_url: PostgresURL, fake: FakeDiscord, **settings: Any
) -> AsyncIterator[tuple[Core, DiscordAdapter]]:
    """One bot process: a Core on the shared database and its Discord adapter, running."""
    async with open_core(
        tmp_path,
        commentary_database=pg_url,
        discord_bot_token=TOKEN,
        discord_api_base_url=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        discord_shard_count=2,
        **settings,
    ) as core:
        adapter = DiscordAdapter(
            core, command_table(), guild_ready_timeout=0.05, shard_tick_seconds=TICK
        )
        await adapter.start()
        try:
            yield core, adapter
        finally:
            await adapter.stop()


async def wait_until(predicate: Any, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def terminate(pg_url: PostgresURL, pids: list[int | None]) -> None:
    """End these database sessions, as the server does when their process is gone."""
    assert pids and all(pids)
    with psycopg.connect(pg_url.secret_conninfo(), autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])


async def answered(fake: FakeDiscord, interaction_id: str) -> str:
    [reply] = await fake.wait_answers(interaction_id, 1, timeout=10)
    return reply.content


async def test_two_processes_split_the_shards_and_one_takes_over_when_the_other_dies(
    tmp_path: Path, pg_url: PostgresURL, fake: FakeDiscord
) -> None:
    first = fake.add_guild("First", shard=(0, 2))
    second = fake.add_guild("Second", shard=(1, 2))
    dm = fake.dm_channel(fake.owner_user)
    async with process(tmp_path, pg_url, fake, discord_shards_per_process=1) as (_, a):
        await wait_until(lambda: fake.running_shards() == [(0, 2)])
        async with process(tmp_path, pg_url, fake) as (_, b):
            await wait_until(lambda: fake.running_shards() == [(0, 2), (1, 2)])
            assert set(a.shard_ids) == {0} and set(b.shard_ids) == {1}
            await asyncio.sleep(TICK * 5)  # b keeps asking for shard 0: a still holds it
            assert set(b.shard_ids) == {1} and fake.identified == [(0, 2), (1, 2)]
            # Each server's commands reach the process running its shard; DMs come on shard 0.
            for channel in (first.channels[0], second.channels[0], dm):
                iid = await fake.slash(channel, "help")
                assert "/latest" in await answered(fake, iid)
            # Process a dies (kill -9): its loops stop, its sockets close, and PostgreSQL ends
            # its sessions, so its lease on shard 0 is gone; b takes the shard over.
            assert a.shards is not None and a.shards._task is not None
            a.shards._task.cancel()
            pids = [lock.backend_pid for lock in a.shards.owned.values()]  # type: ignore[union-attr]
            for client in list(a._shard_clients.values()):
                await client.close()
            terminate(pg_url, pids)
            await wait_until(lambda: set(b.shard_ids) == {0, 1})
            await wait_until(lambda: fake.running_shards() == [(0, 2), (1, 2)])
            iid = await fake.slash(dm, "help")
            assert "/latest" in await answered(fake, iid)
            assert b.health() is None
    assert fake.shard_conflicts == []
    assert fake.identified.count((1, 2)) == 1  # shard 1 never moved


async def test_a_lease_lost_while_alive_never_runs_a_shard_twice(
    tmp_path: Path, pg_url: PostgresURL, fake: FakeDiscord
) -> None:
    fake.add_guild("First", shard=(0, 2))
    async with process(tmp_path, pg_url, fake, discord_shards_per_process=1) as (_, a):
        await wait_until(lambda: fake.running_shards() == [(0, 2)])
        async with process(tmp_path, pg_url, fake) as (_, b):
            await wait_until(lambda: fake.running_shards() == [(0, 2), (1, 2)])
            # a's connection to the database is cut, a itself runs on: it must close shard 0
            # before anyone (b, or a again) connects it anew.
            assert a.shards is not None
            terminate(pg_url, [lock.backend_pid for lock in a.shards.owned.values()])  # type: ignore[union-attr]
            await wait_until(lambda: fake.identified.count((0, 2)) == 2)
            await wait_until(lambda: fake.running_shards() == [(0, 2), (1, 2)])
            assert sorted(a.shard_ids + b.shard_ids) == [0, 1]
    assert fake.shard_conflicts == []


async def test_a_stopped_process_hands_its_shards_over_at_once(
    tmp_path: Path, pg_url: PostgresURL, fake: FakeDiscord
) -> None:
    guild = fake.add_guild("Only", shard=(1, 2))
    async with process(tmp_path, pg_url, fake) as (_, b):
        await wait_until(lambda: set(b.shard_ids) == {0, 1})
        async with process(tmp_path, pg_url, fake) as (_, c):
            await asyncio.sleep(TICK * 5)
            assert not c.shard_ids  # a standby: every shard is held
            assert c.health() is None
            await b.stop()
            await wait_until(lambda: set(c.shard_ids) == {0, 1})
            await wait_until(lambda: fake.running_shards() == [(0, 2), (1, 2)])
            iid = await fake.slash(guild.channels[0], "help")
            assert "/latest" in await answered(fake, iid)
    assert fake.shard_conflicts == []


async def test_without_a_shared_database_every_shard_runs_in_the_one_process(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild = fake.add_guild("Solo", shard=(1, 3))
    async with open_core(
        tmp_path,
        discord_bot_token=TOKEN,
        discord_api_base_url=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        discord_shard_count=3,
    ) as core:
        adapter = DiscordAdapter(core, command_table(), guild_ready_timeout=0.05)
        await adapter.start()
        try:
            await wait_until(lambda: fake.running_shards() == [(0, 3), (1, 3), (2, 3)])
            iid = await fake.slash(guild.channels[0], "help")
            assert "/latest" in await answered(fake, iid)
        finally:
            await adapter.stop()
    assert fake.running_shards() == []
