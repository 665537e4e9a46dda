"""Discord gateway shards shared by several processes: each shard id held by exactly one.

With ``DISCORD_SHARD_COUNT`` set, the gateway is split into that many shards (Discord sends a
server's events on shard ``(guild_id >> 22) % count``, direct messages on shard 0). On a shared
database each shard id is a lease, a session lock named after the bot token and the shard: a
process runs the gateway of a shard only while it holds that lock. A process that stops frees
its shards at once; one that dies frees them when the database notices its connection is gone,
and a standby takes them over. A shard taken over from another process is connected only after
a grace period longer than the holders' check interval, so a holder that lost its lock without
dying (a network cut to the database) has closed that shard first: two processes never run
the same shard.

Without a shared database (SQLite: one process) every shard runs here, with no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0  # how often free shards are tried and held ones checked


class ShardLock(Protocol):
    """A lock one process at a time holds (storage's ``session_lock``)."""

    async def acquire(self) -> bool: ...
    async def held(self) -> bool: ...
    async def release(self) -> None: ...


class ShardKeeper:
    """Takes free shards (up to ``limit``), runs them, and gives up any whose lock is lost."""

    def __init__(
        self,
        count: int,
        *,
        limit: int | None,
        lock: Callable[[int], ShardLock] | None,
        start_shard: Callable[[int], Awaitable[None]],
        stop_shard: Callable[[int], Awaitable[None]],
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.count = count
        self.limit = count if limit is None else max(0, min(limit, count))
        self._make_lock = lock
        self._start = start_shard
        self._stop = stop_shard
        self.tick_seconds = tick_seconds
        self.owned: dict[int, ShardLock | None] = {}
        self._seen_held: set[int] = set()  # shards found held by another process
        self._locks: dict[int, ShardLock] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def grace_seconds(self) -> float:
        """How long a taken-over shard waits: the old holder checks its lock within a tick."""
        return self.tick_seconds * 2.5

    async def start(self) -> None:
        """Take what is free now (shard 0 first: it carries the direct messages), then watch."""
        await self.tick()
        self._task = asyncio.create_task(self._run(), name="discord-shards")

    async def stop(self) -> None:
        """Close every shard run here, then free their locks (a standby takes them at once)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for shard in sorted(self.owned):
            await self._give_up(shard)

    async def tick(self) -> None:
        """One round: check held shards' locks, then try free ones while under the limit."""
        for shard, lock in list(self.owned.items()):
            if lock is not None and not await lock.held():
                log.warning("Discord shard %d: lost its lease; closing it here", shard)
                await self._give_up(shard)
        for shard in range(self.count):
            if self._stopping or len(self.owned) >= self.limit:
                return
            if shard in self.owned:
                continue
            lock = self._lock(shard)
            if lock is not None and not await lock.acquire():
                self._seen_held.add(shard)
                continue
            if shard in self._seen_held:
                # Taken over: let a holder that lost its lock notice and close the shard first.
                log.info("Discord shard %d: taking over in %.1f s", shard, self.grace_seconds)
                await asyncio.sleep(self.grace_seconds)
                if lock is not None and not await lock.held():
                    continue
                self._seen_held.discard(shard)
            self.owned[shard] = lock
            log.info("Discord shard %d of %d runs in this process", shard, self.count)
            try:
                await self._start(shard)
            except Exception:
                log.exception("Discord shard %d did not start; freeing it", shard)
                await self._give_up(shard)

    def _lock(self, shard: int) -> ShardLock | None:
        if self._make_lock is None:
            return None
        if shard not in self._locks:
            self._locks[shard] = self._make_lock(shard)
        return self._locks[shard]

    async def _give_up(self, shard: int) -> None:
        lock = self.owned.pop(shard, None)
        try:
            await self._stop(shard)
        except Exception:
            log.exception("closing Discord shard %d failed", shard)
        if lock is not None:
            await lock.release()

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.tick()
            except Exception:  # the database away for a moment must not end the watch
                log.exception("checking Discord shard leases failed; trying again shortly")
