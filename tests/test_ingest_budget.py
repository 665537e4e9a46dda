"""The extraction budget: bytes of pages being extracted at once, first come first served."""

from __future__ import annotations

import asyncio

import pytest

from bot.ingest.budget import Budget

pytestmark = pytest.mark.asyncio


async def run_all(budget: Budget, requests: list[tuple[str, int]]) -> tuple[list[str], int]:
    """Start ``requests`` in order; each holds its units until every request has started or
    waits. Returns the order they got their units in and the most units held at once."""
    order: list[str] = []
    held = {"now": 0, "most": 0}
    release = asyncio.Event()

    async def one(name: str, units: int) -> None:
        async with budget.hold(units):
            order.append(name)
            held["now"] += min(units, budget.capacity)
            held["most"] = max(held["most"], held["now"])
            await release.wait()
            held["now"] -= min(units, budget.capacity)
            release.clear()  # the next holder waits for its own turn to be let go

    tasks = [asyncio.create_task(one(name, units)) for name, units in requests]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        release.set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order, held["most"]


async def test_small_requests_share_the_budget_and_a_large_one_runs_alone() -> None:
    budget = Budget(100)
    order, most = await run_all(budget, [("a", 40), ("b", 40), ("huge", 500), ("c", 10)])
    assert order == ["a", "b", "huge", "c"]  # c waits behind huge, though it would fit
    assert most <= 100
    assert budget.free == 100


async def test_a_large_request_waits_for_the_holders_then_goes_first() -> None:
    budget = Budget(100)
    got: list[str] = []
    async with budget.hold(60):
        big = asyncio.create_task(budget_hold(budget, 100, "big", got))
        small = asyncio.create_task(budget_hold(budget, 10, "small", got))
        await asyncio.sleep(0.01)
        assert got == []  # small would fit beside the holder, but big came first
    await asyncio.gather(big, small)
    assert got == ["big", "small"]
    assert budget.free == 100


async def budget_hold(budget: Budget, units: int, name: str, got: list[str]) -> None:
    async with budget.hold(units):
        got.append(name)


async def test_a_cancelled_waiter_gives_its_place_to_the_next() -> None:
    budget = Budget(100)
    async with budget.hold(60):
        got: list[str] = []
        big = asyncio.create_task(budget_hold(budget, 100, "big", got))
        small = asyncio.create_task(budget_hold(budget, 10, "small", got))
        await asyncio.sleep(0.01)
        big.cancel()
        await asyncio.wait_for(small, 5.0)  # no longer behind the cancelled one
        assert got == ["small"]
    with pytest.raises(asyncio.CancelledError):
        await big
    assert budget.free == 100
