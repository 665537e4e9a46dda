"""One polling round over many feeds served on 127.0.0.1, against a bare httpx loop.

A child process serves N small full-content feeds with aiohttp. Even-numbered feeds answer
conditional requests with 304; odd-numbered ones ignore validators and regenerate the feed on
every request (a build timestamp in a comment), so they are downloaded and parsed each round.
Round 1 primes the ETags and stores each feed's first entry (not measured). The measured
rounds then find nothing new: that is polling cost, not extraction. The baseline fetches the
same URLs with the same validators and the same concurrency using httpx alone. A last,
separately labelled round gives every feed one new entry, so it includes extraction and
summarizing of N pieces.

All feeds share one host, so the fetcher's per-host limit is raised to its global limit (the
baseline gets the same concurrency); the point is the poller's overhead per source.

Run: ``python bench/bench_polling.py [--feeds 2000] [--repeat 3] [--concurrency 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import html
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_WORDS = (
    "council budget housing policy reform city minister court schools teachers nurses farmers "
    "markets prices wages taxes rents climate energy transport railway bridge library museum "
    "argument evidence history promise failure decade election party coalition parliament"
).split()


# --- the feed server (child process) ------------------------------------------------------------
def _paragraphs(seed: int) -> str:
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(5):
        words = [rng.choice(_WORDS) for _ in range(24)]
        out.append("<p>" + " ".join(words).capitalize() + ".</p>")
    return "".join(out)


def _feed(i: int, generation: int) -> str:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    items = []
    for g in range(generation, -1, -1):
        n = i * 1000 + g
        link = f"http://127.0.0.1/feeds/{i}/opinion/piece-{g}-about-the-city-council"
        items.append(
            f"<item><title>Feed {i} piece {g}</title><link>{link}</link>"
            f"<guid isPermaLink='false'>feed-{i}-piece-{g}</guid>"
            f"<pubDate>{format_datetime(t0 + timedelta(hours=g))}</pubDate>"
            f"<dc:creator>Writer {i}</dc:creator>"
            f"<content:encoded><![CDATA[{_paragraphs(n)}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {i}</title><link>http://127.0.0.1/feeds/{i}</link>"
        f"<description>{html.escape('Opinion')}</description>{''.join(items)}</channel></rss>"
    )


def serve(port_queue: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    generation: dict[int, int] = {}
    bodies: dict[tuple[int, int], bytes] = {}
    counter = iter(range(1 << 62))

    async def feed(request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["i"])
        g = generation.get(i, 0)
        body = bodies.get((i, g))
        if body is None:
            body = bodies[(i, g)] = _feed(i, g).encode()
        headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if i % 2 == 0:
            etag = f'"{i}-{g}"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        else:
            body += f"<!-- built {time.time():.6f} #{next(counter)} -->".encode()
        return web.Response(body=body, headers=headers)

    async def bump(request: web.Request) -> web.StreamResponse:
        for i in range(int(request.query["feeds"])):
            generation[i] = generation.get(i, 0) + 1
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feeds/{i}.xml", feed)
        app.router.add_post("/bump", bump)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # noqa: SLF001
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await runner.cleanup()

    asyncio.run(main())


def _median(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


# --- the client side -----------------------------------------------------------------------------
def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return max(peak, rss_mb())


def rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1_048_576
    except ImportError:
        return float("nan")


async def bare_httpx(urls: list[tuple[str, str | None]], concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds of fetching ``urls`` with httpx alone."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=20)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one(url: str, etag: str | None) -> None:
            headers = {"If-None-Match": etag} if etag else {}
            async with sem:
                response = await client.get(url, headers=headers)
                response.read()
                assert response.status_code in (200, 304), response.status_code

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(u, e) for u, e in urls))
        return time.perf_counter() - started, time.process_time() - cpu


async def run(args: argparse.Namespace) -> None:
    import httpx
    from rich.console import Console
    from rich.table import Table

    from bot.config import Settings
    from bot.core import Core
    from bot.sources.http import Fetcher

    port_queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    stop = mp.Event()
    server = mp.Process(target=serve, args=(port_queue, stop), daemon=True)
    server.start()
    port = port_queue.get(timeout=30)
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, str, str, str, str]] = []
    console = Console()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                commentary_database=Path(tmp) / "bench.db",
                commentary_allow_private_urls=True,
                commentary_demo=False,
            )
            fetcher = Fetcher(
                user_agent="commentary-bot-bench",
                global_limit=args.concurrency,
                per_host_limit=args.concurrency,
                allow_private=True,
            )
            async with Core.open(settings, fetcher=fetcher) as core:
                for i in range(args.feeds):
                    await core.store.add_source(f"feed-{i:05d}", f"{base}/feeds/{i}.xml")

                async def round_() -> tuple[float, float, list]:  # type: ignore[type-arg]
                    started, cpu = time.perf_counter(), time.process_time()
                    reports = await core.scheduler.poll_now()
                    return time.perf_counter() - started, time.process_time() - cpu, reports

                console.print(f"priming: first round over {args.feeds} feeds ...")
                prime, _, reports = await round_()
                bad = [r for r in reports if r.status != "ok"]
                assert not bad, bad[:3]
                pieces = await core.store.count_pieces()
                console.print(f"  {prime:.1f}s, {pieces} pieces stored")

                sources = await core.store.list_sources()
                urls = [(s.url, s.etag) for s in sources]
                assert sum(1 for _, e in urls if e) == (args.feeds + 1) // 2

                poll_times, base_times = [], []
                statuses: dict[str, int] = {}
                for _ in range(args.repeat):
                    base_times.append(await bare_httpx(urls, args.concurrency))
                    elapsed, cpu, reports = await round_()
                    poll_times.append((elapsed, cpu))
                    statuses = {}
                    for r in reports:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                    assert all(r.new == 0 for r in reports)
                assert await core.store.count_pieces() == pieces
                bare, bare_cpu = _median(base_times)
                poll, poll_cpu = _median(poll_times)
                rows.append(
                    ("bare httpx loop (baseline)", f"{bare:.2f}", "1.00", f"{bare_cpu:.2f}", "-")
                )
                what = ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
                rows.append(
                    (
                        f"poller, nothing new ({what})",
                        f"{poll:.2f}",
                        f"{poll / bare:.2f}",
                        f"{poll_cpu:.2f}",
                        f"{rss_mb():.0f} / {peak_rss_mb():.0f}",
                    )
                )

                async with httpx.AsyncClient(trust_env=False) as client:
                    await client.post(f"{base}/bump", params={"feeds": args.feeds})
                bare_new, bare_new_cpu = await bare_httpx(
                    [(u, None) for u, _ in urls], args.concurrency
                )
                elapsed, cpu, reports = await round_()
                new = sum(r.new for r in reports)
                assert new == args.feeds, new
                rows.append(
                    (
                        "bare httpx loop, all 200 (baseline)",
                        f"{bare_new:.2f}",
                        "1.00",
                        f"{bare_new_cpu:.2f}",
                        "-",
                    )
                )
                rows.append(
                    (
                        f"poller, 1 new entry per feed = extraction ({new} pieces)",
                        f"{elapsed:.2f}",
                        f"{elapsed / bare_new:.2f}",
                        f"{cpu:.2f}",
                        f"{rss_mb():.0f} / {peak_rss_mb():.0f}",
                    )
                )
    finally:
        stop.set()
        server.join(timeout=5)

    table = Table(
        title=f"Polling round over {args.feeds} local feeds, concurrency {args.concurrency}, "
        f"{os.cpu_count()} cores, median of {args.repeat}; CPU s = this process, server excluded"
    )
    for name in ("round", "wall s", "ratio", "CPU s", "RSS / peak MiB"):
        table.add_column(name, justify="left" if name == "round" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
