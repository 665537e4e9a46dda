"""Peak memory (VmHWM of the bot's own process) with 5,000 sources, 50,000 subscriptions and
100,000 pieces, while answering commands, fanning out and polling every feed.

The database comes from bench/dataset.py (generated once, cached under bench/results/). The
bot is measured in a child process started bare, so the generator's memory never counts: it
imports what a Telegram deployment imports, opens the Core on a copy of the database, starts the
real TelegramAdapter against the fake Bot API (which runs in this parent process, as the real
one is remote), answers /latest, /search, /sources and /authors, stores one new piece from the
most followed source and delivers it to every Telegram chat that follows it (thousands). Then it
polls: every source points at a local feed (20 entries, ~44 kB, served by this parent; all
entries already seen, as for a bot that has followed them for a while) and three rounds run
through ``SourceScheduler.poll_now``: every feed changed (no validators yet), then half 304 and
half rebuilt, then every feed with one new entry whose article page (an AEB or WCXB page) is
fetched, extracted and summarized: 5,000 articles (the corpus has about 800 pages, so most are
stored as near-duplicates of an earlier piece, not as new ones). The adapter is stopped before the
rounds, so their deliveries wait in the outbox (sending 50,000 posts is the fan-out bench's job).

Memory is ``VmHWM`` from ``/proc/self/status`` of the child (its own high-water mark; not
``ru_maxrss``, which an exec'd child inherits from its parent), and RSS after each phase. The
child opens the core as the service does (``service=True``), so articles are extracted in worker
processes as in production; their peaks are printed too (each worker's VmHWM after every page,
and every process below the bot sampled once a second: the fork server, the workers), so the
memory moved out of the bot is in the table, not hidden.
The baseline is the same run with 1,000 pieces. Target: peak ≤ 150 MB.

Run: ``python bench/bench_memory.py [--quick] [--size 100k] [--corpus ../shared/corpus]``
(``--size 100k`` skips the 1k baseline: about 25 minutes on a quiet 2-core machine, most of it
the round that extracts 5,000 articles; the databases are generated once and cached).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import bulk
import dataset
from common import ROOT, Target, console, header, mb, print_table, print_targets, save_result

from storage.db import open_database
from tests.fakes.telegram_api import ApiError, FakeChat, FakeLimits, FakeTelegramAPI

CHILD = Path(__file__).with_name("memory_child.py")
TOKEN = "777000:AAH-bench-memory-token"
TARGET_MB = 150.0
CHANNEL_BELOW = -1_000_400_000_000
T0 = datetime(2024, 5, 1, tzinfo=UTC)  # dataset.py: channel ids are below this, groups above


class AnyChatFake(FakeTelegramAPI):
    """The fake Bot API, knowing every chat the generated database has (made on first use)."""

    def _chat(self, chat_id):  # type: ignore[no-untyped-def]
        try:
            return super()._chat(chat_id)
        except ApiError:
            if not isinstance(chat_id, int):
                raise
        if chat_id > 0:
            return self.add_private(self.add_user(chat_id, f"U{chat_id}"))
        if chat_id < CHANNEL_BELOW:
            return self.add_channel(chat_id, f"C{chat_id}")
        chat: FakeChat = self.add_group(chat_id, f"G{chat_id}")
        return chat


# ----------------------------------------------------------------------------- the feeds

ENTRIES = 20  # per feed, ~44 kB


@functools.lru_cache(maxsize=64)
def _teaser(g: int) -> str:
    """About 1.4 kB in four paragraphs: a teaser (the article is fetched from its page)."""
    rng = random.Random(g)
    words = "council budget housing policy reform city minister court schools prices".split()
    return "".join(
        "<p>" + " ".join(rng.choice(words) for _ in range(48)).capitalize() + ".</p>"
        for _ in range(4)
    )


def _item(base: str, sid: int, g: int) -> tuple[str, str, str]:
    """(link, guid, title) of entry ``g`` of source ``sid``."""
    title = f"Source {sid} piece {g}: what the council owes the city"
    return f"{base}/articles/{sid}/{g}.html", f"src-{sid}-piece-{g}", title


def feed_body(base: str, sid: int, newest: int) -> bytes:
    items = []
    for g in range(newest, max(newest - ENTRIES, -1), -1):
        link, guid, title = _item(base, sid, g)
        items.append(
            f"<item><title>{title}</title><link>{link}</link>"
            f"<guid isPermaLink='false'>{guid}</guid>"
            f"<pubDate>{format_datetime(T0 + timedelta(hours=g))}</pubDate>"
            f"<dc:creator>Writer {sid % 97}</dc:creator>"
            f"<description><![CDATA[{_teaser(g)}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {sid}</title><link>{base}/site/{sid}</link>"
        f"<description>Opinion</description>{''.join(items)}</channel></rss>"
    ).encode()


class FeedServer:
    """Every source's feed and article pages on 127.0.0.1 (even ids answer 304 to a matching
    ETag; odd ids rebuild the feed with a timestamp on every request)."""

    def __init__(self, pages: list[bytes]) -> None:
        self.pages = pages or [b"<html><body><p>No corpus.</p></body></html>"]
        self.newest: dict[int, int] = {}
        self.base = ""
        self.requests = 0

    async def __aenter__(self) -> FeedServer:
        from aiohttp import web

        async def feed(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            sid = int(request.match_info["sid"])
            g = self.newest.get(sid, ENTRIES - 1)
            headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
            body = feed_body(self.base, sid, g)
            if sid % 2 == 0:
                headers["ETag"] = f'"{sid}-{g}"'
                if request.headers.get("If-None-Match") == headers["ETag"]:
                    return web.Response(status=304, headers=headers)
            else:
                body += f"<!-- built {time.time():.6f} -->".encode()
            return web.Response(body=body, headers=headers)

        async def article(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            sid, g = int(request.match_info["sid"]), int(request.match_info["g"])
            page = self.pages[(sid * 31 + g) % len(self.pages)]
            return web.Response(body=page, headers={"Content-Type": "text/html; charset=utf-8"})

        async def bump(request: web.Request) -> web.StreamResponse:
            for sid in range(int(request.query["sources"]) + 1):
                self.newest[sid] = self.newest.get(sid, ENTRIES - 1) + 1
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/feeds/{sid}.xml", feed)
        app.router.add_get("/articles/{sid}/{g}.html", article)
        app.router.add_post("/bump", bump)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # noqa: SLF001
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


def point_sources_at(path: Path, base: str) -> int:
    """Every source of the copy follows its local feed, all entries already seen."""
    from bot.ingest.poller import entry_key, revision_key
    from bot.sources.feeds import FeedEntry, parse_feed

    db = sqlite3.connect(path)
    ids = [row[0] for row in db.execute("SELECT id FROM sources ORDER BY id")]
    # The entries' summaries are the same text for every source (only titles and ids differ):
    # read once from a parsed feed, then each source's keys come without parsing 5,000 feeds.
    template = parse_feed(feed_body(base, ids[0], ENTRIES - 1), url=f"{base}/feeds/{ids[0]}.xml")
    summaries = {n: e.summary for n, e in enumerate(template.entries)}

    def keys(sid: int) -> list[str]:
        out = []
        for n, g in enumerate(range(ENTRIES - 1, -1, -1)):
            link, guid, title = _item(base, sid, g)
            entry = FeedEntry(url=link, guid=guid, title=title, summary=summaries[n])
            key = entry_key(entry)
            out += [key, revision_key(key, entry)]  # type: ignore[arg-type]
        return out

    for sid in ids[:3]:  # the shortcut gives exactly the keys the poller computes
        parsed = parse_feed(feed_body(base, sid, ENTRIES - 1), url=f"{base}/feeds/{sid}.xml")
        real = []
        for e in parsed.entries:
            key = entry_key(e)
            real += [key, revision_key(key, e)]  # type: ignore[arg-type]
        assert real == keys(sid), "seen keys differ from the poller's"
    now = "2024-06-01T00:00:00+00:00"
    with db:
        db.execute(
            "UPDATE sources SET url = ? || '/feeds/' || id || '.xml', kind = 'feed', etag = NULL,"
            " last_modified = NULL, first_poll_done = 1, paused = 0, consecutive_failures = 0",
            [base],
        )
        db.executemany(
            "INSERT OR IGNORE INTO seen_entries (source_id, entry_key, seen_at) VALUES (?, ?, ?)",
            ((sid, key, now) for sid in ids for key in keys(sid)),
        )
    db.close()
    return len(ids)


# ----------------------------------------------------------------------------- the parent


async def measure(
    spec: dataset.Spec,
    folder: Path,
    scale: float,
    rounds: int,
    pages: list[bytes],
    env: dict[str, str] | None = None,
) -> dict:
    path = dataset.working_copy(spec, folder)
    async with (
        AnyChatFake(TOKEN, limits=FakeLimits().scaled(scale)) as fake,
        FeedServer(pages) as feeds,
    ):
        sources = point_sources_at(path, feeds.base)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), str(path), fake.base_url, str(scale),
            spec.source_name(0), str(rounds), feeds.base, str(sources),
            *dataset.iter_queries(), stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        stdout, _ = await proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"the measuring process failed ({proc.returncode})")
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        per_chat = Counter(m.chat_id for m in fake.sent)
        result["fake_posts"] = len(fake.sent)
        result["doubles"] = sum(1 for n in per_chat.values() if n > 1)
        result["rejected"] = len(fake.rejected)
    db = open_database(path, migrate=False)
    bulk.checkpoint(db)
    result["rows"] = bulk.row_counts(db)
    result["space"] = bulk.space_by_table(db)
    db.conn.close()
    result["db_bytes"] = os.path.getsize(path)
    return result


def extraction_lines(result: dict) -> list[str]:
    """Where extraction ran and the extraction processes' own peaks (the memory moved there)."""
    n = result.get("extract_processes", 0)
    below = result.get("below", {})
    total = (
        f"the bot and every process below it together, peak of the summed PSS (shared pages"
        f" counted once): {mb(below.get('all processes, PSS', 0)):.0f} MB"
    )
    if not n:
        return ["extraction: in the bot's own process (threads)", total]
    return [
        f"extraction: {n} worker processes, each replaced after {result['worker_pages']} pages;"
        f" the bot process loaded trafilatura: {result['bot_loaded_trafilatura']}",
        f"worker peak (VmHWM each worker reported after its pages, highest):"
        f" {mb(result['worker_peak_reported']):.0f} MB; sampled each second: workers"
        f" {mb(below.get('workers', 0)):.0f} MB, fork server"
        f" {mb(below.get('fork server', 0)):.0f} MB,"
        f" other helpers {mb(below.get('other', 0)):.0f} MB",
        total,
    ]


def diagnose(scale: float, rounds: int, pages: list[bytes], *, traced: bool) -> None:
    """Where the memory goes: VmHWM per phase (and Python's traced peak, the top lines)."""

    async def run() -> dict:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            env = {"PYTHONFAULTHANDLER": "1"}  # a native crash shows every thread's stack
            if traced:
                env["BENCH_TRACEMALLOC"] = "1"
            return await measure(dataset.SMALL, Path(tmp), scale, rounds, pages, env)

    result = asyncio.run(run())
    rows = []
    for n, (label, rss, hwm, threads) in enumerate(result["phases"]):
        t = result["traced"][n] if traced else {"peak": None, "current": None}
        rows.append((label, mb(rss), mb(hwm), threads, t["peak"] and mb(t["peak"]),
                     t["current"] and mb(t["current"])))  # fmt: skip
    print_table(
        "1k pieces: MB per phase (tracemalloc's bookkeeping adds to RSS when it is on)",
        ["phase", "RSS", "VmHWM so far", "threads", "Python peak", "Python now"],
        rows,
    )
    for poll in result["polls"]:
        console.print(f"{poll['label']}: {poll['seconds']:.0f}s, {poll['statuses']},"
                      f" {poll['new']} new, errors {poll['errors']}")  # fmt: skip
    for line in extraction_lines(result):
        console.print(line)
    console.print(f"bot process peak (VmHWM): {mb(result['peak_rss']):.0f} MB")
    for t in result["traced"]:
        if t["phase"].startswith("poll"):
            console.print(f"[bold]{t['phase']}[/bold]: Python allocations held, top lines")
            for line in t["top"]:
                console.print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of commands, not 10")
    parser.add_argument("--scale", type=float, default=20.0, help="Telegram limits multiplier")
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument(
        "--size",
        choices=("both", "100k"),
        default="both",
        help="100k: the goal's database alone, without the 1k baseline run (half the time)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="the 1k-piece run only, its peak per phase (no target)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="with --diagnose: also Python's own peak per phase and the lines holding most"
        " memory (several times slower)",
    )
    args = parser.parse_args()
    corpus = Path(args.corpus)
    files = sorted((corpus / "aeb" / "html").glob("*.html.gz"))
    files += sorted((corpus / "wcxb" / "html").glob("*.html.gz"))
    pages = [gzip.decompress(p.read_bytes()) for p in files]
    if not pages:
        print(f"no pages under {corpus}: new pieces have no article (pass --corpus PATH)")
    header("Memory and database size: 5,000 sources, 50,000 subscriptions, 100k pieces",
           args.quick)  # fmt: skip
    dataset.ensure(dataset.SMALL)
    rounds = 3 if args.quick else 10
    if args.diagnose:
        diagnose(args.scale, rounds, pages, traced=args.tracemalloc)
        return
    dataset.ensure(dataset.FULL)

    async def run() -> tuple[dict | None, dict]:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            small = None
            if args.size == "both":
                small = await measure(dataset.SMALL, Path(tmp), args.scale, rounds, pages)
            full = await measure(dataset.FULL, Path(tmp), args.scale, rounds, pages)
        return small, full

    small, full = asyncio.run(run())
    baseline_commands = (
        f" (1k pieces: {small['commands_seconds']:.1f}s)" if small is not None else ""
    )
    if small is None:  # --size 100k: no baseline, the same table without its columns
        small = {**full, "phases": [(p[0], None, None, None) for p in full["phases"]],
                 "db_bytes": None}  # fmt: skip
    rows = []
    for (label, rss_s, hwm_s, _, *_), (_, rss_f, hwm_f, threads, *_) in zip(
        small["phases"], full["phases"], strict=True
    ):
        rows.append((label, rss_s and mb(rss_s), hwm_s and mb(hwm_s), mb(rss_f), mb(hwm_f),
                     threads, hwm_s and f"{hwm_f / hwm_s:.2f}"))  # fmt: skip
    small_db = small["db_bytes"]
    rows.append(("database file", small_db and mb(small_db), None, mb(full["db_bytes"]), None,
                 None, small_db and f"{full['db_bytes'] / small_db:.1f}"))  # fmt: skip
    print_table(
        "MB after each phase: RSS then, and the peak so far (VmHWM); 1k pieces (baseline) vs"
        " 100k pieces; ratio = peak at 100k / peak at 1k",
        ["phase", "1k RSS", "1k peak", "100k RSS", "100k peak", "threads", "ratio"],
        rows,
        caption=(
            f"Fan-out: one new piece of the most followed source -> {full['deliveries']:,} "
            f"pending outbox rows (saved in {full['save_seconds']:.2f}s); "
            f"{full['telegram_sent']:,} Telegram posts in {full['deliver_seconds']:.1f}s at "
            f"x{args.scale:g} limits; the fake Bot API got {full['fake_posts']:,} posts "
            f"({full['fake_posts'] - full['telegram_sent']:,} of them digests, for chats in "
            f"digest mode), {full['doubles']} chats twice, {full['rejected']} rejected. "
            f"{full['commands']} commands took {full['commands_seconds']:.1f}s"
            f"{baseline_commands}. Polling rounds at 100k: "
            + "; ".join(
                f"{r['label']}: {r['seconds']:.0f}s, {r['statuses']}, {r['new']} new"
                for r in full["polls"]
            )  # fmt: skip
            + "."
        ),
    )
    for line in extraction_lines(full):
        console.print(line)
    counts = full["rows"]
    print_table(
        "Database at 100k pieces: space per table (indexes included)",
        ["table", "MB", "rows"],
        [(name, mb(size), counts.get(name.split(" ")[0].removesuffix("_fts")))
         for name, size in full["space"].items() if size > 100_000]
        + [("total file", mb(full["db_bytes"]), None)],
    )  # fmt: skip
    targets = [
        Target(
            "memory",
            "peak RSS (VmHWM) at 100k pieces, polling 5,000 feeds (MB)",
            mb(full["peak_rss"]),
            TARGET_MB,
            "",
        ),  # fmt: skip
        Target("memory", "chats posted twice in the fan-out", full["doubles"], 0, ""),
    ]
    if full.get("extract_processes"):
        # Not the goal (that is the bot's own process), but the memory did not vanish:
        # each extraction worker's peak, bounded by replacing it every few pages.
        targets.append(Target("memory", "peak of each extraction worker (VmHWM, MB)",
                              mb(full["worker_peak_reported"]), TARGET_MB, ""))  # fmt: skip
    print_targets(targets)
    save_result("memory", targets, {"1k": small, "100k": full})


if __name__ == "__main__":
    main()
