"""/latest and /search latency at 1,000 vs 100,000 stored pieces (ratio 100k / 1k; target ≤ 2×).

Each command goes through ``handlers.router.dispatch`` with the real ``Services`` of a
``Core`` opened on a copy of a generated database (bench/dataset.py: 5,000 sources, 10,000
chats, 50,000 subscriptions; only the number of pieces differs), so the time includes the
handler, the storage thread hop, the queries and hydrating the pieces. p50 and p99 come from
repeated calls after a warm-up (the page cache is warm, as it is in a running bot).

For every command that misses the target, the SQL it ran is captured (sqlite3's trace
callback), each statement is timed alone, and the slowest one is shown with its
EXPLAIN QUERY PLAN, which is where a fix starts.

Run: ``python bench/bench_latency.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
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
    answers: dict[str, str] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    diagnosis: tuple[float, str, list[str]] | None = None

    def p(self, size: str, q: float) -> float:
        return percentile(self.samples.get(size, []), q) * 1000

    def ratio(self, q: float) -> float:
        return self.p("100k", q) / self.p("1k", q)


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


def request(case: Case) -> Request:
    return Request(
        platform="console", chat_id="bench", user_id="reader", command=case.command,
        args=case.args, chat_kind="private", chat_title="bench", is_chat_admin=True,
    )  # fmt: skip


async def measure(
    spec: dataset.Spec, size: str, folder: Path, samples: int, budget: float,
    case_list: list[Case] | None,
) -> tuple[list[Case], dict[str, int]]:  # fmt: skip
    path = dataset.working_copy(spec, folder)
    settings = Settings(_env_file=None, commentary_database=path, commentary_demo=False)  # type: ignore[call-arg]
    async with open_app_core(settings) as core:
        store = core.services.store
        newest = (await store.latest_pieces(1))[0]
        if case_list is None:
            source = await store.get_source_by_id(newest.source_id)
            # The newest piece's source and author: both have pieces at every size.
            case_list = cases(source.name, newest.authors[0])
        else:
            # Same commands; the source and author are the newest piece's in this database too.
            source = await store.get_source_by_id(newest.source_id)
            case_list[2].args, case_list[3].args = source.name, newest.authors[0]
        matches = {
            q: await store.run(bulk.count_matches, store.sync.db, q) for q in dataset.iter_queries()
        }
        for case in case_list:
            req = request(case)
            # Warm the page cache and the statement cache (once only for multi-second calls).
            t0 = time.perf_counter()
            response = await dispatch(req, core.services)
            if time.perf_counter() - t0 < 0.2:
                for _ in range(2):
                    response = await dispatch(req, core.services)
            case.answers[size] = _describe(response)
            times: list[float] = []
            deadline = time.perf_counter() + budget
            while len(times) < samples and (len(times) < 5 or time.perf_counter() < deadline):
                t0 = time.perf_counter()
                await dispatch(req, core.services)
                times.append(time.perf_counter() - t0)
            case.samples[size] = times
        if size == "100k":
            for case in case_list:
                if case.ratio(50) > 2 or case.ratio(99) > 2:
                    case.statements = await _capture(core, request(case))
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
    ms, sql = max(timed)
    return ms, sql, bulk.explain(db, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples per command")
    parser.add_argument("--samples", type=int, default=None)
    args = parser.parse_args()
    samples = args.samples or (60 if args.quick else 300)
    budget = 2.0 if args.quick else 6.0
    logging.basicConfig(level=logging.WARNING)
    header("Handler latency: /latest and /search at 1k vs 100k pieces", args.quick)
    dataset.ensure(dataset.SMALL)
    dataset.ensure(dataset.FULL)

    async def run() -> tuple[list[Case], dict[str, dict[str, int]]]:
        matches = {}
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
            found, matches["1k"] = await measure(
                dataset.SMALL, "1k", Path(tmp), samples, budget, None
            )
            found, matches["100k"] = await measure(
                dataset.FULL, "100k", Path(tmp), samples, budget, found
            )
        return found, matches

    found, matches = asyncio.run(run())
    rows = []
    for case in found:
        rows.append((
            case.label, case.p("1k", 50), case.p("1k", 99), case.p("100k", 50),
            case.p("100k", 99), f"{case.ratio(50):.2f}", f"{case.ratio(99):.2f}",
            f"{len(case.samples['1k'])}/{len(case.samples['100k'])}",
            f"{case.answers['1k']} / {case.answers['100k']}",
        ))  # fmt: skip
    print_table(
        "Handler latency in ms through dispatch (1k vs 100k pieces); ratio = 100k / 1k",
        ["command", "1k p50", "1k p99", "100k p50", "100k p99", "ratio p50", "ratio p99",
         "samples", "results 1k / 100k"],
        rows,
        caption="Pieces matching each word (1k / 100k): "
        + ", ".join(f"{q} {matches['1k'][q]:,} / {matches['100k'][q]:,}"
                    for q in dataset.iter_queries())
        + f". p99 from the samples shown (≤ {samples} per command, {budget:g} s budget); "
        "the machine's other work shows up there first.",
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
                   "p99_ms": {k: c.p(k, 99) for k in c.samples}} for c in found],
        "matches": matches,
    })  # fmt: skip


if __name__ == "__main__":
    main()
