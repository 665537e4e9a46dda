"""Several processes on one PostgreSQL database: each due source and each delivery goes to one.

Every "process" here is a store (or a whole Core) of its own, with its own connection pool and
worker id, exactly what separate processes have; the multi-process benchmarks run real ones.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.database_url import PostgresURL
from bot.delivery.routing import route
from storage.postgres import PostgresStore
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer
from tests.test_ingest_support import HTML_TYPE, RSS_TYPE, article_page, item, prose, rss
from tests.test_storage_backends import draft


async def test_due_sources_are_leased_to_one_process_each(pg_url: PostgresURL) -> None:
    a = await PostgresStore.open(pg_url, max_connections=2)
    b = await PostgresStore.open(pg_url, max_connections=2)
    try:
        ids = [(await a.add_source(f"s{n}", f"https://s{n}.example/feed")).id for n in range(5)]
        paused = await a.add_source("paused", "https://paused.example/feed")
        await a.update_source(paused.id, paused=True)
        first = await a.claim_due_sources(a.worker_id, limit=3)
        second = await b.claim_due_sources(b.worker_id, limit=10)
        assert len(first) == 3 and len(second) == 2
        assert sorted(s.id for s in first + second) == ids  # each once, none paused
        assert await a.claim_due_sources(a.worker_id) == []  # all leased
        # Finishing sets the next run and frees the source; only the holder may finish.
        later = datetime.now(UTC) + timedelta(hours=1)
        assert not await b.finish_source_poll(first[0].id, b.worker_id, later)
        assert await a.finish_source_poll(first[0].id, a.worker_id, later)
        assert (await a.get_source_by_id(first[0].id)).next_run_at == later
        assert await b.claim_due_sources(b.worker_id) == []  # not due until then
        # A process that dies leaves leases that run out; another takes those sources.
        await b.renew_source_leases(b.worker_id, [s.id for s in second], 0)
        taken = await a.claim_due_sources(a.worker_id)
        assert sorted(s.id for s in taken) == sorted(s.id for s in second)
        # Adding a source polls it at once, under a lease nobody else holds.
        assert not await b.lease_source(taken[0].id, b.worker_id, 60)
        assert await a.lease_source(taken[0].id, a.worker_id, 60)
    finally:
        await a.aclose()
        await b.aclose()


async def test_deliveries_claimed_by_one_process_and_recovered_after_a_crash(
    pg_url: PostgresURL,
) -> None:
    a = await PostgresStore.open(pg_url, max_connections=2)
    b = await PostgresStore.open(pg_url, max_connections=2)
    try:
        source = await a.add_source("s", "https://s.example/feed")
        for n in range(6):
            chat = await a.ensure_chat("telegram", str(n))
            await a.add_subscription(chat.id, "source", "s", source_id=source.id)
        await a.save_piece(draft(source_id=source.id), route=route)
        mine, theirs = await asyncio.gather(
            a.claim_due("telegram", limit=4), b.claim_due("telegram", limit=4)
        )
        claimed = [d.id for d, _ in mine] + [d.id for d, _ in theirs]
        assert len(claimed) == 6 and len(set(claimed)) == 6  # every row once
        # b starts again (a new process): it resets nobody's live rows, not even its own.
        c = await PostgresStore.open(pg_url, max_connections=1)
        try:
            assert await c.reset_in_flight("telegram") == 0
            assert await c.claim_due("telegram") == []
            # a dies with its rows in flight: once its lease runs out they are due again.
            a.lease_seconds = 0
            a_ids = {d.id for d, _ in mine}
            for delivery, _ in mine:
                await a.retarget_delivery(delivery.id)  # back to pending ...
            await a.claim_due("telegram")  # ... and claimed again with a lease of 0 s
            recovered = await c.claim_due("telegram")
            assert {d.id for d, _ in recovered} == a_ids
            assert {d.attempts for d, _ in recovered} == {0}
        finally:
            await c.aclose()
    finally:
        await a.aclose()
        await b.aclose()


async def test_three_processes_poll_every_feed_once(
    pg_url: PostgresURL, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    feeds = 12
    for n in range(feeds):
        it = item(http_server.base, n)
        http_server.add(f"/feed-{n}.xml", rss([it], title=f"Feed {n}"), headers=RSS_TYPE)
        page = article_page(it.title or "", prose(n))
        http_server.add(it.link.removeprefix(http_server.base), page, headers=HTML_TYPE)
    async with (
        open_core(tmp_path, commentary_database=pg_url) as one,
        open_core(tmp_path, commentary_database=pg_url) as two,
        open_core(tmp_path, commentary_database=pg_url) as three,
    ):
        for n in range(feeds):  # as `sources import` writes them: due at once
            await one.services.store.add_source(f"feed-{n}", http_server.url(f"/feed-{n}.xml"))
        cores = [one, two, three]
        for core in cores:
            await core.start_polling()

        async def all_polled() -> bool:
            # Polled, stored, and the next run written (the lease given back).
            sources = await one.services.store.list_sources()
            now = datetime.now(UTC)
            return await one.services.store.count_pieces() == feeds and all(
                s.next_run_at and s.next_run_at > now for s in sources
            )

        deadline = asyncio.get_running_loop().time() + 60
        while not await all_polled():
            assert asyncio.get_running_loop().time() < deadline, "feeds not polled in 60 s"
            await asyncio.sleep(0.1)
        for core in cores:  # one more round of every loop: nothing is due any more
            await core._scheduler.leased.run_once()
        hits = [len(http_server.requests_for(f"/feed-{n}.xml")) for n in range(feeds)]
        assert hits == [1] * feeds
        assert await one.services.store.count_pieces() == feeds
        assert sum(core._scheduler.leased.polled for core in cores) == feeds
        assert not await one.health()


async def test_one_sender_per_token_and_a_standby_takes_over(
    pg_url: PostgresURL, monkeypatch
) -> None:
    from bot.delivery import worker as worker_module
    from bot.delivery.worker import DeliveryWorker
    from tests.test_delivery_worker import RecordingSender

    monkeypatch.setattr(worker_module, "STANDBY_SECONDS", 0.1)
    a = await PostgresStore.open(pg_url, max_connections=3)
    b = await PostgresStore.open(pg_url, max_connections=3)
    senders = {"a": RecordingSender(), "b": RecordingSender()}
    workers = {
        "a": DeliveryWorker(a, senders["a"], idle_seconds=0.05, election=a.session_lock("t")),
        "b": DeliveryWorker(b, senders["b"], idle_seconds=0.05, election=b.session_lock("t")),
    }
    try:
        source = await a.add_source("s", "https://s.example/feed")
        for n in range(20):
            chat = await a.ensure_chat("fake", f"chat-{n}")
            await a.add_subscription(chat.id, "source", "s", source_id=source.id)
        workers["a"].start()
        while workers["a"].standby:
            await asyncio.sleep(0.01)
        workers["b"].start()
        await a.save_piece(draft(source_id=source.id), route=route)
        await wait_until(lambda: len(senders["a"].posts) == 20)
        assert workers["b"].standby and senders["b"].posts == []
        # The sender stops (or dies: its connection, and so its lock, goes): b takes over.
        await workers["a"].stop()
        await a.save_piece(draft(source_id=source.id), route=route)
        await wait_until(lambda: len(senders["b"].posts) == 20)
        assert not workers["b"].standby and len(senders["a"].posts) == 20
        chats = [chat for chat, _ in senders["a"].posts + senders["b"].posts]
        assert sorted(chats) == sorted([f"chat-{n}" for n in range(20)] * 2)
    finally:
        for worker in workers.values():
            await worker.stop()
        await a.aclose()
        await b.aclose()


async def wait_until(predicate, seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
