"""/latest and /search latency at 1,000 vs 100,000 stored pieces (ratio 100k / 1k; target ≤ 2×).

Each command goes through ``handlers.router.dispatch`` with the real ``Services`` of a
``Core`` opened on a copy of a generated database (bench/dataset.py: 5,000 sources, 10,000
chats, 50,000 subscriptions; only the number of pieces differs), so the time includes the
handler, the storage thread hop, the queries and hydrating the pieces. p50 and p99 come from
calls after a warm-up (the page cache is warm, as it is in a running bot): both databases
are open at once and every sample runs on both sizes, the order flipped each time, 300 samples
per command and size (60 with ``--quick``). Nothing caches answers: every call runs its
queries. Beside the wall-clock ratios, the same ratios in the process's CPU time show the work
itself, which the waits of a busy machine blur in p99.

For every command that misses the target, the SQL it ran is captured (sqlite3's trace
callback), each statement is timed alone, and the slowest one is shown with its
EXPLAIN QUERY PLAN, which is where a fix starts.

Run: ``python bench/bench_latency.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bulk
import dataset
from common import Target, console, header, percentile, print_table, print_targets, save_result

from bot.app import open_core as open_app_core
from bot.config import Settings
from bot.core import Core
from bot.messages import Request
from handlers.router import dispatch


@dataclass
class Case:
    label: str
    command: str
    args: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)  # process CPU time per call
    answers: dict[str, str] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    diagnosis: tuple[float, str, list[str]] | None = None

    def p(self, size: str, q: float) -> float:
        return percentile(self.samples.get(size, []), q) * 1000

    def ratio(self, q: float) -> float:
        return self.p("100k", q) / self.p("1k", q)

    def cpu_ratio(self, q: float) -> float:
        """The same ratio in CPU time: the work itself, without the waits a busy machine adds."""
        small, large = self.cpu.get("1k", []), self.cpu.get("100k", [])
        return percentile(large, q) / percentile(small, q) if small and large else float("nan")


def cases(source: str, author: str) -> list[Case]:
    common, medium, rare = dataset.COMMON_QUERY, dataset.MEDIUM_QUERY, dataset.RARE_QUERY
    return [
        Case("/latest", "latest", ""),
        Case("/latest 10", "latest", "10"),
        Case("/latest <source>", "latest", source),
        Case("/latest <author>", "latest", author),
        Case(f"/latest {common}", "latest", common),
        Case(f"/search {common}", "search", common),
        Case(f"/search {medium}", "search", medium),
        Case(f"/search {rare}", "search", rare),
        Case(f"/search {medium[:5]}*", "search", medium[:5] + "*"),
        Case(f"/search {common} {medium}", "search", f"{common} {medium}"),
    ]


_readers = itertools.count()


def request(case: Case) -> Request:
    # A new reader per call: /search is rate-limited per person, and this measures latency.
    return Request(
        platform="console", chat_id="bench", user_id=f"reader-{next(_readers)}",
        command=case.command, args=case.args, chat_kind="private", chat_title="bench",
        is_chat_admin=True,
    )  # fmt: skip


async def measure(
    folder: Path, samples: int
) -> tuple[list[Case], dict[str, dict[str, int]]]:  # fmt: skip
    """Both databases open at once; each sample of a command runs on 1k then 100k (the order
    flipped every sample), so the machine's load hits both sizes alike."""
    sizes = {"1k": dataset.SMALL, "100k": dataset.FULL}
    matches: dict[str, dict[str, int]] = {}
    async with contextlib.AsyncExitStack() as stack:
        cores: dict[str, Core] = {}
        per_size: dict[str, list[Case]] = {}
        for size, spec in sizes.items():
            path = dataset.working_copy(spec, folder)
            settings = Settings(_env_file=None, commentary_database=path, commentary_demo=False)  # type: ignore[call-arg]
            core = cores[size] = await stack.enter_async_context(open_app_core(settings))
            store = core.services.store
            newest = (await store.latest_pieces(1))[0]
            # The newest piece's source and author: both have pieces at every size.
            source = await store.get_source_by_id(newest.source_id)
            per_size[size] = cases(source.name, newest.authors[0])
            matches[size] = {
                q: await store.run(bulk.count_matches, store.sync.db, q)
                for q in dataset.iter_queries()
            }
        case_list = per_size["100k"]
        for i, case in enumerate(case_list):
            twins = {size: per_size[size][i] for size in sizes}
            for size, twin in twins.items():
                # Warm the page cache and the statement cache.
                for _ in range(3):
                    response = await dispatch(request(twin), cores[size].services)
                case.answers[size] = _describe(response)
                case.samples[size] = []
                case.cpu[size] = []
            for n in range(samples):
                order = ("1k", "100k") if n % 2 == 0 else ("100k", "1k")
                for size in order:
                    req = request(twins[size])
                    t0, c0 = time.perf_counter(), time.process_time()
                    await dispatch(req, cores[size].services)
                    case.samples[size].append(time.perf_counter() - t0)
                    case.cpu[size].append(time.process_time() - c0)
        core = cores["100k"]
        for case in case_list:
            if case.ratio(50) > 2 or case.ratio(99) > 2:
                case.statements = await _capture(core, request(case))
                store = core.services.store
                case.diagnosis = await store.run(diagnose, case, store.sync.db)
    return case_list, matches


def _describe(response) -> str:  # type: ignore[no-untyped-def]
    kinds = {m.kind for m in response.messages}
    if "error" in kinds:
        return "error"
    return str(len(response.messages))


async def _capture(core: Core, req: Request) -> list[str]:
    """The SQL statements one dispatch of ``req`` runs (as executed, values inlined)."""
    seen: list[str] = []
    conn = core.services.store.sync.db.conn
    await core.services.store.run(conn.set_trace_callback, seen.append)
    try:
        await dispatch(req, core.services)
    finally:
        await core.services.store.run(conn.set_trace_callback, None)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


def diagnose(case: Case, db) -> tuple[float, str, list[str]]:  # type: ignore[no-untyped-def]
    """Time each captured SELECT alone (page cache warm); the slowest one, its ms and plan."""
    timed = []
    for sql in case.statements:
        t0 = time.perf_counter()
        db.execute(sql).fetchall()
        timed.append(((time.perf_counter() - t0) * 1000, sql))
    if not timed:  # searches run on their own connection, which the trace does not see
        return 0.0, "(no statement on the main connection: a search)", []
    ms, sql = max(timed)
    return ms, sql, bulk.explain(db, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples per command")
    parser.add_argument("--samples", type=int, default=None)
    args = parser.parse_args()
    samples = args.samples or (60 if args.quick else 300)
    logging.basicConfig(level=logging.WARNING)
    header("Handler latency: /latest and /search at 1k vs 100k pieces", args.quick)
    dataset.ensure(dataset.SMALL)
    dataset.ensure(dataset.FULL)

    async def run() -> tuple[list[Case], dict[str, dict[str, int]]]:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
            return await measure(Path(tmp), samples)

    found, matches = asyncio.run(run())
    rows = []
    for case in found:
        rows.append((
            case.label, case.p("1k", 50), case.p("1k", 99), case.p("100k", 50),
            case.p("100k", 99), f"{case.ratio(50):.2f}", f"{case.ratio(99):.2f}",
            f"{case.cpu_ratio(50):.2f}", f"{case.cpu_ratio(99):.2f}",
            f"{len(case.samples['1k'])}/{len(case.samples['100k'])}",
            f"{case.answers['1k']} / {case.answers['100k']}",
        ))  # fmt: skip
    print_table(
        "Handler latency in ms through dispatch (1k vs 100k pieces); ratio = 100k / 1k",
        ["command", "1k p50", "1k p99", "100k p50", "100k p99", "ratio p50", "ratio p99",
         "CPU p50", "CPU p99", "samples", "results 1k / 100k"],
        rows,
        caption="Pieces matching each word (1k / 100k): "
        + ", ".join(f"{q} {matches['1k'][q]:,} / {matches['100k'][q]:,}"
                    for q in dataset.iter_queries())
        + f". p99 from {samples} samples per command and size, both sizes interleaved; "
        "the machine's other work shows up there first. CPU: the same ratio in this process's "
        "CPU time (the work itself). No answer is cached: every sample runs its queries "
        "(SQLite's page cache is warm, as in a running bot).",
    )  # fmt: skip

    for case in found:
        if case.diagnosis is None:
            continue
        ms, sql, plan = case.diagnosis
        console.print(f"\n[bold]{case.label}[/bold]: slowest statement {ms:.1f} ms alone")
        console.print("  " + " ".join(sql.split())[:400])
        for step in plan:
            console.print(f"    plan: {step}")

    targets = [
        Target("latency", f"{case.label} p{q} 100k/1k", case.ratio(q), 2.0)
        for case in found
        for q in (50, 99)
    ]
    print_targets(targets)
    save_result("latency", targets, {
        "cases": [{"label": c.label, "samples": {k: len(v) for k, v in c.samples.items()},
                   "p50_ms": {k: c.p(k, 50) for k in c.samples},
                   "p99_ms": {k: c.p(k, 99) for k in c.samples},
                   "cpu_ratio": {"p50": c.cpu_ratio(50), "p99": c.cpu_ratio(99)}} for c in found],
        "matches": matches,
    })  # fmt: skip


if __name__ == "__main__":
    main()
