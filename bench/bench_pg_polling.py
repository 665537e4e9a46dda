"""Several ingest processes on one PostgreSQL database: every feed polled once per interval.

A local HTTP server serves N feeds (one entry each, linking to an article page) and logs every
request. For 1 process and then for P processes (``run --role ingest``, real subprocesses) on a
fresh database holding the N sources:

- round 1: time until every feed was fetched and every piece stored (articles extracted);
- round 2: the sources come due again one interval later; time until every feed was fetched
  a second time (no new entries: the light, steady-state round).

Counted from the server's log: fetches per feed (must be exactly 2: once per interval, never
twice by two processes), pieces stored (must be N). Ratio = P processes / 1 process.

Run: ``python bench/bench_pg_polling.py [--quick] [--feeds 2000] [--processes 3]``.
Needs PostgreSQL (see bench_postgres.py, ``--server``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web
from bench_postgres import DEFAULT_SERVER, scratch_database
from common import ROOT, console, header, print_table, save_result

from storage.postgres import PostgresStore

SYLLABLES = "ba ko ri ten sul mar vo del pra ist un gel fo ran ti che lo mes du par".split()


def article(n: int) -> str:
    """A distinct article per n (near-duplicate detection must not fold them together)."""
    rng = random.Random(n)
    words = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(400)]
    paragraphs = [
        "<p>" + " ".join(words[i : i + 40]).capitalize() + ". The city should act now.</p>"
        for i in range(0, 400, 40)
    ]
    return (
        f"<html><head><title>Opinion {n}: the council must act</title></head><body><article>"
        f"<h1>Opinion {n}: the council must act</h1><p class='byline'>By Writer {n % 50}</p>"
        + "".join(paragraphs)
        + "</article></body></html>"
    )


def feed(base: str, n: int) -> str:
    when = format_datetime(datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=n))
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>{base}/</link><description>x</description>"
        f"<item><title>Opinion {n}: the council must act</title><link>{base}/a/{n}</link>"
        f"<guid>urn:bench:{n}</guid><pubDate>{when}</pubDate></item></channel></rss>"
    )


class Server:
    def __init__(self) -> None:
        self.hits: collections.Counter[str] = collections.Counter()
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            path = request.path
            self.hits[path] += 1
            if path.startswith("/feed-"):
                n = int(path.removeprefix("/feed-").removesuffix(".xml"))
                return web.Response(text=feed(self.base, n), content_type="application/rss+xml")
            if path.startswith("/a/"):
                return web.Response(text=article(int(path[3:])), content_type="text/html")
            return web.Response(status=404)

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def feed_fetches(self, feeds: int) -> list[int]:
        return [self.hits[f"/feed-{n}.xml"] for n in range(feeds)]


async def one_config(
    server_url: str, http: Server, feeds: int, processes: int, interval: int
) -> dict[str, float | int]:
    http.hits.clear()
    with scratch_database(server_url) as url:
        store = await PostgresStore.open(url, max_connections=2)
        try:
            for n in range(feeds):  # as `sources import` writes them: due at once
                await store.add_source(
                    f"feed-{n}", f"{http.base}/feed-{n}.xml", interval_seconds=interval
                )
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "DISCORD_", "COMMENTARY_", "LLM_"))
            }
            env.update(
                COMMENTARY_DATABASE=url.secret_conninfo(),
                COMMENTARY_ALLOW_PRIVATE_URLS="true",
                COMMENTARY_DEMO="false",
                COMMENTARY_LOG_LEVEL="WARNING",
                PYTHONPATH=str(ROOT),
            )
            started = time.perf_counter()
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    "--role",
                    "ingest",
                    cwd=ROOT,
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                for i in range(processes)
            ]
            try:
                while min(http.feed_fetches(feeds)) < 1 or await store.count_pieces() < feeds:
                    await asyncio.sleep(0.2)
                round1 = time.perf_counter() - started
                first_done = time.perf_counter()
                while min(http.feed_fetches(feeds)) < 2:
                    await asyncio.sleep(0.2)
                # Round 2 starts an interval after each source's first poll; its length is
                # measured from the first second fetch to the last one.
                round2_end = time.perf_counter()
                await asyncio.sleep(2)  # a late duplicate would show up here
            finally:
                for proc in procs:
                    proc.send_signal(signal.SIGTERM)
                for proc in procs:
                    await proc.wait()
            fetches = http.feed_fetches(feeds)
            return {
                "round1_s": round1,
                "round2_wait_s": round2_end - first_done,
                "max_fetches": max(fetches),
                "min_fetches": min(fetches),
                "pieces": await store.count_pieces(),
                "article_fetches": sum(v for k, v in http.hits.items() if k.startswith("/a/")),
            }
        finally:
            await store.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 feeds")
    parser.add_argument("--feeds", type=int, default=None)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--interval", type=int, default=None, help="seconds (default: 2x round)")
    parser.add_argument(
        "--server", default=os.environ.get("COMMENTARY_TEST_POSTGRES", DEFAULT_SERVER)
    )
    args = parser.parse_args()
    feeds = args.feeds or (300 if args.quick else 2000)
    header(f"{args.processes} ingest processes vs 1 on PostgreSQL, {feeds} feeds", args.quick)

    async def run() -> dict[int, dict[str, float | int]]:
        http = Server()
        await http.start()
        try:
            results = {}
            for processes in (1, args.processes):
                interval = args.interval or max(60, feeds // 10)
                results[processes] = await one_config(args.server, http, feeds, processes, interval)
                console.print(f"{processes} process(es): {results[processes]}")
            return results
        finally:
            await http.stop()

    results = asyncio.run(run())
    one, many = results[1], results[args.processes]
    rows = [
        (
            f"{n} process{'es' if n > 1 else ''}",
            f"{r['round1_s']:.1f}",
            f"{r['min_fetches']}–{r['max_fetches']}",
            r["pieces"],
            r["article_fetches"],
        )
        for n, r in results.items()
    ]
    print_table(
        f"Polling {feeds} local feeds from one PostgreSQL database",
        ["processes", "round 1 (s)", "fetches per feed (2 rounds)", "pieces", "article fetches"],
        rows,
        caption=f"Round-1 time ratio {args.processes} / 1 = "
        f"{float(many['round1_s']) / float(one['round1_s']):.2f}. Every feed must be fetched "
        "exactly twice (once per interval) and every piece stored once.",
    )
    save_result("pg_polling", [], {str(k): v for k, v in results.items()})


if __name__ == "__main__":
    main()
