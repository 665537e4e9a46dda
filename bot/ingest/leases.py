"""Polling shared by several processes: due sources are leased from the database, not scheduled
in memory.

With one process, APScheduler keeps one job per source (``scheduler.py``). With several
processes on one PostgreSQL database, each would run every job. Here the table is the
schedule: a source is due when its ``next_run_at`` has passed; a process claims due sources
with a lease (``FOR UPDATE SKIP LOCKED``, so each goes to exactly one process), polls them,
writes the next run time (interval with jitter, backoff after errors, the server's
Retry-After) and drops the lease. Leases of polls still running are renewed; a process that
dies leaves leases that expire, and another process takes those sources over.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeGuard

from bot.durations import MAX_SOURCE_INTERVAL
from bot.ingest.poller import Outcome, Poller
from bot.types import Source

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.sources.http import FetchResult

log = logging.getLogger(__name__)

MAX_BACKOFF = 24 * 3600
MIN_INTERVAL = 10


class SourceLeases(Protocol):
    """What the leased loop needs from storage (PostgreSQL implements it)."""

    worker_id: str

    async def claim_due_sources(
        self, worker: str, *, limit: int = 20, lease_seconds: float = 300.0
    ) -> list[Source]: ...

    async def renew_source_leases(
        self, worker: str, source_ids: list[int], lease_seconds: float
    ) -> int: ...

    async def lease_source(self, source_id: int, worker: str, lease_seconds: float) -> bool: ...

    async def finish_source_poll(
        self, source_id: int, worker: str, next_run_at: datetime
    ) -> bool: ...

    async def get_source_by_id(self, source_id: int) -> Source | None: ...


def supports_leases(store: object) -> TypeGuard[SourceLeases]:
    return all(
        hasattr(store, name)
        for name in (
            "claim_due_sources",
            "renew_source_leases",
            "lease_source",
            "finish_source_poll",
        )
    )


def next_run_after(
    source: Source, outcome: Outcome | None, *, now: datetime, jitter: bool = True
) -> datetime:
    """When to poll again: the interval (with up to 10 % jitter), backoff, or Retry-After."""
    # A huge stored interval (older versions let one in) is polled at the bound, not never.
    interval = min(max(source.interval_seconds, MIN_INTERVAL), MAX_SOURCE_INTERVAL)
    delay = float(interval)
    if jitter:
        delay += random.uniform(0, min(interval * 0.1, 60))
    if outcome is not None and outcome.report.status == "error":
        failures = max(source.consecutive_failures, 1)
        delay = float(min(interval * (2 ** (failures - 1)), MAX_BACKOFF))
    if outcome is not None and outcome.retry_after:
        delay = max(delay, min(outcome.retry_after, MAX_BACKOFF))
    return now + timedelta(seconds=delay)


class LeasedPolling:
    """The polling loop of one process among several (see the module docstring)."""

    def __init__(
        self,
        store: SourceLeases,
        poller: Poller,
        *,
        concurrency: int = 8,
        lease_seconds: float = 120.0,
        tick_seconds: float = 2.0,
        jitter: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.poller = poller
        self.worker = store.worker_id
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self.jitter = jitter
        self.clock = clock or (lambda: datetime.now(UTC))
        self.polled = 0
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leased-polling")

    def wake(self) -> None:
        """Look for due sources now (a source was added or resumed)."""
        self._wake.set()

    def cancel(self) -> None:
        """Stop at once (shutdown): polls in flight end; their leases expire."""
        self._stopping = True
        for task in [*self._in_flight.values(), *([self._task] if self._task else [])]:
            task.cancel()

    async def poll_now(
        self, source: Source, *, prefetched: FetchResult | None = None
    ) -> Outcome | None:
        """Poll ``source`` now under this process's lease (a source just added); None when
        another process holds it (that one is polling it)."""
        if not await self.store.lease_source(source.id, self.worker, self.lease_seconds):
            return None
        outcome: Outcome | None = None
        try:
            outcome = await self.poller.poll(source, prefetched=prefetched)
        finally:
            fresh = await self.store.get_source_by_id(source.id) or source
            when = next_run_after(fresh, outcome, now=self.clock(), jitter=self.jitter)
            await self.store.finish_source_poll(source.id, self.worker, when)
        return outcome

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def run_once(self) -> int:
        """Claim what is due (up to the free slots) and start polling it; return how many."""
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        claimed = await self.store.claim_due_sources(
            self.worker, limit=free, lease_seconds=self.lease_seconds
        )
        for source in claimed:
            task = asyncio.create_task(self._poll(source), name=f"poll-{source.id}")
            self._in_flight[source.id] = task
        return len(claimed)

    async def _run(self) -> None:
        renew_every = self.lease_seconds / 3
        last_renew = asyncio.get_running_loop().time()
        while not self._stopping:
            try:
                claimed = await self.run_once()
                now = asyncio.get_running_loop().time()
                if self._in_flight and now - last_renew >= renew_every:
                    await self.store.renew_source_leases(
                        self.worker, list(self._in_flight), self.lease_seconds
                    )
                    last_renew = now
            except Exception:  # the database away for a moment must not end polling
                log.exception("claiming due sources failed; trying again shortly")
                claimed = 0
            if claimed and len(self._in_flight) < self.concurrency:
                continue  # more may be due right now
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.tick_seconds)
            except TimeoutError:
                pass

    async def _poll(self, source: Source) -> None:
        outcome: Outcome | None = None
        try:
            outcome = await self.poller.poll(source)
        except Exception:  # a bug in one source's round must not stop the others
            log.exception("polling %s failed unexpectedly", source.name)
        finally:
            self._in_flight.pop(source.id, None)
        self.polled += 1
        try:
            fresh = await self.store.get_source_by_id(source.id) or source
            when = next_run_after(fresh, outcome, now=self.clock(), jitter=self.jitter)
            await self.store.finish_source_poll(source.id, self.worker, when)
        except Exception:  # the lease expires and another round retries it
            log.exception("recording the next run of %s failed", source.name)
        self._wake.set()  # a slot is free
