"""Polling rounds over many feeds served on 127.0.0.1, against a bare httpx + feedparser loop.

A child process serves N feeds of E entries each (20 by default, ~2 kB teasers: about 44 kB a
feed, as real opinion feeds are). Even-numbered feeds answer conditional requests with 304;
odd-numbered ones ignore validators and rebuild the feed on every request (a build timestamp
in a comment), so they are downloaded and parsed every round though their entries are old.
Before measuring, every entry is marked as seen, as a bot that has followed these feeds for a
while has them; one unmeasured round primes the ETags.

Measured, interleaved round by round (``--repeat``, median and spread):

- *nothing new*: the poller's round (``SourceScheduler.poll_now``: fetch, parse, find nothing
  new, record the fetch) against a bare loop that fetches the same URLs with the same
  validators and concurrency with httpx and parses every 200 body with ``feedparser.parse``.
  Target: ≤ 1.3×. The same with 1-entry feeds is reported too (``--entries``).
- *new pieces*: a tenth of the feeds get one new entry whose article page is an AEB or WCXB
  page (``--corpus``); the poller fetches, extracts, summarizes and stores it; the baseline does the
  feed loop plus fetching that page and ``trafilatura.extract``. One round (it changes state).

Run: ``python bench/bench_polling.py [--feeds 2000] [--entries 20] [--repeat 5] [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from common import ROOT, Target, console, header, print_table, print_targets, save_result

_WORDS = (
    "council budget housing policy reform city minister court schools teachers nurses farmers "
    "markets prices wages taxes rents climate energy transport railway bridge library museum "
    "argument evidence history promise failure decade election party coalition parliament"
).split()


NEW_EVERY = 10  # every tenth feed gets a new entry in the new-pieces round


# --- the feed server (child process) ------------------------------------------------------------
def _teaser(seed: int) -> str:
    """About 1.4 kB of text in four paragraphs: a teaser, not the whole article."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(4):
        words = [rng.choice(_WORDS) for _ in range(48)]
        out.append("<p>" + " ".join(words).capitalize() + ".</p>")
    return "".join(out)


def _feed(base: str, i: int, newest: int, entries: int) -> str:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    items = []
    for g in range(newest, max(newest - entries, -1), -1):
        link = f"{base}/articles/{i}/{g}.html"
        items.append(
            f"<item><title>Feed {i} piece {g}: what the council owes the city</title>"
            f"<link>{link}</link><guid isPermaLink='false'>feed-{i}-piece-{g}</guid>"
            f"<pubDate>{format_datetime(t0 + timedelta(hours=g))}</pubDate>"
            f"<dc:creator>Writer {i % 97}</dc:creator>"
            f"<description><![CDATA[{_teaser(i * 1000 + g)}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {i}</title><link>{base}/feeds/{i}</link>"
        f"<description>Opinion</description>{''.join(items)}</channel></rss>"
    )


def serve(port_queue: mp.Queue, stop: mp.Event, entries: int, pages: list[bytes]) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    newest: dict[int, int] = {}
    bodies: dict[tuple[int, int], bytes] = {}
    counter = iter(range(1 << 62))
    base = ""

    async def feed(request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["i"])
        g = newest.get(i, entries - 1)
        body = bodies.get((i, g))
        if body is None:
            body = bodies[(i, g)] = _feed(base, i, g, entries).encode()
        headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if i % 2 == 0:
            etag = f'"{i}-{g}"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        else:
            body += f"<!-- built {time.time():.6f} #{next(counter)} -->".encode()
        return web.Response(body=body, headers=headers)

    async def article(request: web.Request) -> web.StreamResponse:
        i, g = int(request.match_info["i"]), int(request.match_info["g"])
        # Each new piece its own page (one page served twice would be stored once, as the
        # near-duplicate it is).
        page = pages[(i + g * 7919) % len(pages)] if pages else b"<html><body></body></html>"
        return web.Response(body=page, headers={"Content-Type": "text/html; charset=utf-8"})

    async def bump(request: web.Request) -> web.StreamResponse:
        step = int(request.query.get("every", "1"))
        for i in range(0, int(request.query["feeds"]), step):
            newest[i] = newest.get(i, entries - 1) + 1
        return web.Response(text="ok")

    async def main() -> None:
        nonlocal base
        app = web.Application()
        app.router.add_get("/feeds/{i}.xml", feed)
        app.router.add_get("/articles/{i}/{g}.html", article)
        app.router.add_post("/bump", bump)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        base = f"http://127.0.0.1:{port}"
        port_queue.put(port)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await runner.cleanup()

    asyncio.run(main())


# --- the baseline --------------------------------------------------------------------------------
async def bare_loop(
    urls: list[tuple[str, str | None]], concurrency: int, *, articles: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds: httpx GET (same validators), feedparser on every 200 body; with
    ``articles``, also GET the newest entry's page and ``trafilatura.extract`` it."""
    import feedparser
    import httpx

    if articles:
        import trafilatura

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one(url: str, etag: str | None, new: bool) -> None:
            headers = {"If-None-Match": etag} if etag else {}
            async with sem:
                response = await client.get(url, headers=headers)
            assert response.status_code in (200, 304), response.status_code
            if response.status_code == 200:
                parsed = feedparser.parse(response.content)
                if articles and new:
                    async with sem:
                        page = await client.get(parsed.entries[0].link)
                    trafilatura.extract(page.content, include_comments=False)

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(u, e, n) for u, e, n in _with_new(urls, articles)))
        return time.perf_counter() - started, time.process_time() - cpu


def _with_new(urls: list[tuple[str, str | None]], articles: bool) -> list:  # type: ignore[type-arg]
    every = NEW_EVERY if articles else 0
    return [(u, e, bool(every) and int(u.rsplit("/", 1)[1].split(".")[0]) % every == 0)
            for u, e in urls]  # fmt: skip


# --- the poller ----------------------------------------------------------------------------------
async def mark_all_seen(core, base: str, feeds: int) -> None:  # type: ignore[no-untyped-def]
    """What a bot that has followed these feeds for a while knows: every entry seen."""
    import httpx

    from bot.ingest.poller import entry_key, revision_key
    from bot.sources.feeds import parse_feed

    sources = {s.url: s for s in await core.services.store.list_sources()}
    async with httpx.AsyncClient(trust_env=False) as client:
        for i in range(feeds):
            url = f"{base}/feeds/{i}.xml"
            body = (await client.get(url)).content
            parsed = parse_feed(body, url=url)
            keys: list[str] = []
            for entry in parsed.entries:
                key = entry_key(entry)
                if key:
                    keys += [key, revision_key(key, entry)]
            source = sources[url]
            await core.services.store.mark_seen_many(source.id, keys)
            await core.services.store.update_source(source.id, first_poll_done=True)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


async def measure(args: argparse.Namespace, entries: int, pages: list[bytes]) -> dict:  # type: ignore[type-arg]
    from bot.app import open_core as open_app_core
    from bot.config import Settings
    from bot.sources.http import Fetcher

    port_queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    stop = mp.Event()
    server = mp.Process(target=serve, args=(port_queue, stop, entries, pages), daemon=True)
    server.start()
    port = port_queue.get(timeout=60)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"entries": entries}  # type: ignore[type-arg]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                commentary_database=Path(tmp) / "bench.db",
                commentary_allow_private_urls=True,
                commentary_demo=False,
            )
            # All feeds share one host: the per-host limit is raised to the global one (the
            # baseline gets the same concurrency); the point is the poller's cost per source.
            fetcher = Fetcher(
                user_agent="commentary-bot-bench",
                global_limit=args.concurrency,
                per_host_limit=args.concurrency,
                allow_private=True,
            )
            async with fetcher, open_app_core(settings, fetcher=fetcher) as core:
                for i in range(args.feeds):
                    await core.services.store.add_source(f"feed-{i:05d}", f"{base}/feeds/{i}.xml")
                await mark_all_seen(core, base, args.feeds)

                async def poll_round() -> tuple[float, float, list]:  # type: ignore[type-arg]
                    started, cpu = time.perf_counter(), time.process_time()
                    reports = await core.poll_now()
                    return time.perf_counter() - started, time.process_time() - cpu, reports

                _, _, reports = await poll_round()  # primes the ETags
                bad = [r for r in reports if r.status not in ("ok", "not_modified")]
                assert not bad, bad[:3]
                assert sum(r.new for r in reports) == 0
                urls = [(s.url, s.etag) for s in await core.services.store.list_sources()]
                ratios, polls, bares, cpu_ratios = [], [], [], []
                statuses: dict[str, int] = {}
                for n in range(args.repeat):
                    order = ("bare", "poll") if n % 2 == 0 else ("poll", "bare")
                    for which in order:
                        if which == "bare":
                            bare = await bare_loop(urls, args.concurrency)
                        else:
                            elapsed, cpu, reports = await poll_round()
                            assert all(r.new == 0 for r in reports)
                            statuses = {}
                            for r in reports:
                                statuses[r.status] = statuses.get(r.status, 0) + 1
                    ratios.append(elapsed / bare[0])
                    cpu_ratios.append(cpu / bare[1])
                    polls.append(elapsed)
                    bares.append(bare[0])
                out["idle"] = {
                    "ratio": statistics.median(ratios), "ratios": ratios,
                    "cpu_ratio": statistics.median(cpu_ratios), "poll_s": statistics.median(polls),
                    "bare_s": statistics.median(bares), "statuses": statuses,
                }  # fmt: skip

                if entries > 1 and not args.no_new:
                    import httpx

                    async with httpx.AsyncClient(trust_env=False) as client:
                        await client.post(f"{base}/bump", params={"feeds": args.feeds, "every": 10})
                    urls = [(s.url, s.etag) for s in await core.services.store.list_sources()]
                    bare = await bare_loop(urls, args.concurrency, articles=True)
                    elapsed, cpu, reports = await poll_round()
                    new = sum(r.new for r in reports)
                    failed = [r for r in reports if r.error]
                    out["new"] = {
                        "pieces": new, "poll_s": elapsed, "bare_s": bare[0],
                        "ratio": elapsed / bare[0], "cpu_ratio": cpu / bare[1],
                        "failed": len(failed),
                    }  # fmt: skip
    finally:
        stop.set()
        server.join(timeout=5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--entries", type=int, nargs="*", default=[20, 1])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--no-new", action="store_true", help="skip the round with new pieces")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 3)
    header(f"Polling {args.feeds} local feeds, concurrency {args.concurrency}", args.quick)
    corpus = Path(args.corpus)
    files = sorted((corpus / "aeb" / "html").glob("*.html.gz"))
    files += sorted((corpus / "wcxb" / "html").glob("*.html.gz"))
    pages = [gzip.decompress(p.read_bytes()) for p in files]
    if not pages:
        console.print(f"no pages under {corpus}: the new-pieces round extracts empty pages")
    results = [asyncio.run(measure(args, e, pages)) for e in args.entries]
    rows = []
    targets = []
    for r in results:
        idle = r["idle"]
        what = ", ".join(f"{v} {k}" for k, v in sorted(idle["statuses"].items()))
        rows.append((
            f"{r['entries']} entries/feed, nothing new ({what})", idle["bare_s"], idle["poll_s"],
            idle["ratio"], spread(idle["ratios"]), idle["cpu_ratio"],
        ))  # fmt: skip
        targets.append(
            Target("polling", f"round, {r['entries']}-entry feeds, nothing new", idle["ratio"], 1.3)
        )
        if "new" in r:
            new = r["new"]
            failed = f", {new['failed']} sources with a failed article" if new["failed"] else ""
            rows.append((
                f"{r['entries']} entries/feed, {new['pieces']} new pieces (article fetched and "
                f"extracted; baseline + trafilatura.extract){failed}",
                new["bare_s"], new["poll_s"], new["ratio"], "1 round", new["cpu_ratio"],
            ))  # fmt: skip
    print_table(
        f"Polling round over {args.feeds} feeds vs bare httpx + feedparser, median of "
        f"{args.repeat} interleaved rounds",
        ["round", "bare s", "poller s", "ratio (wall)", "spread", "ratio (CPU)"],
        rows,
    )
    print_targets(targets)
    save_result("polling", targets, {"results": results, "feeds": args.feeds})


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
