"""A first-come, first-served budget of units (bytes of pages being extracted, say)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Budget:
    """``async with budget.hold(n)``: waits until ``n`` units are free, in arrival order.

    A request above the whole budget waits for all of it and then runs alone; a small one
    never passes a large one waiting before it (no request starves).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a budget holds at least one unit")
        self.capacity = capacity
        self._free = capacity
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def free(self) -> int:
        return self._free

    @asynccontextmanager
    async def hold(self, units: int) -> AsyncIterator[None]:
        units = min(max(units, 1), self.capacity)
        await self._acquire(units)
        try:
            yield
        finally:
            self._release(units)

    async def _acquire(self, units: int) -> None:
        if not self._waiting and self._free >= units:
            self._free -= units
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (units, granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release(units)  # granted just as it was cancelled: give it back
            else:
                if entry in self._waiting:
                    self._waiting.remove(entry)
                self._wake()  # a large request leaving may let smaller ones behind it go
            raise

    def _release(self, units: int) -> None:
        self._free += units
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self._waiting[0][0] <= self._free:
            units, granted = self._waiting.popleft()
            if granted.done():  # cancelled while waiting
                continue
            self._free -= units
            granted.set_result(None)
