"""Run every benchmark, one after another, and finish with one table of every goal (met or not).

Each benchmark runs in its own interpreter (no warm caches or leftover threads carried from
one to the next) and prints its own tables, each a ratio against a baseline measured in the
same run. Benchmarks other than this suite's (extraction, summaries, polling) run when their
file is present; ``--quick`` is passed to those that accept it.

Run: ``python bench/run_all.py [--quick] [--only fanout latency ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, console, fmt, fmt_measured, machine, machine_line, print_table

BENCH = ROOT / "bench"
# (name, file, what it measures); files that are not there are reported as missing.
BENCHMARKS = [
    ("fanout", "bench_fanout.py", "one piece to 1,000 chats vs the rate bound"),
    ("memory", "bench_memory.py", "peak RSS and DB size at 100k pieces"),
    ("latency", "bench_latency.py", "/latest and /search at 1k vs 100k pieces"),
    ("polling", "bench_polling.py", "polling 2,000 feeds"),
    ("extraction", "bench_extraction.py", "extraction quality and speed"),
    (
        "real_sites",
        "bench_real_sites.py",
        "WCXB titles/authors/dates/bodies, AEB bodies vs trafilatura",
    ),
    ("pipeline", "bench_pipeline.py", "ingestion path (bytes to draft) vs trafilatura"),
    ("startup", "bench_startup.py", "--help and the terminal chat's first answer"),
    ("summaries", "bench_summaries.py", "summary quality"),
    ("sentences", "bench_sentences.py", "sentence splitters: accuracy and ms/page"),
]


def accepts_quick(path: Path) -> bool:
    return '"--quick"' in path.read_text(encoding="utf-8", errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs where supported")
    parser.add_argument("--only", nargs="*", metavar="NAME",
                        help=f"some of: {', '.join(n for n, _, _ in BENCHMARKS)}")  # fmt: skip
    args = parser.parse_args()
    info = machine()
    console.rule("[bold]commentary-bot benchmarks[/bold]" + (" (quick)" if args.quick else ""))
    console.print(machine_line(info))
    console.print(
        f"Every ratio below is against a baseline measured in the same run on these "
        f"{info['cores']} cores; absolute times on another machine will differ.\n"
    )

    started = time.time()
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS=str(console.width))
    summary = []
    for name, filename, what in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        path = BENCH / filename
        if not path.exists():
            summary.append((name, what, None, "not present"))
            continue
        command = [sys.executable, str(path)]
        if args.quick and accepts_quick(path):
            command.append("--quick")
        shown = " ".join([str(path.relative_to(ROOT)), *command[2:]])
        console.print(f"\n[dim]$ python {shown}[/dim]")
        sys.stdout.flush()
        t0 = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
        seconds = time.perf_counter() - t0
        summary.append((name, what, seconds, "ok" if code == 0 else f"FAILED (exit {code})"))

    console.print()
    console.rule("[bold]summary[/bold]")
    print_table(
        "Benchmarks run",
        ["benchmark", "measures", "seconds", "status"],
        summary,
        caption=machine_line(info),
        left=2,
    )
    targets = []
    for name, *_ in summary:
        result = RESULTS / f"{name}.json"
        if result.exists() and result.stat().st_mtime >= started:
            targets.extend(json.loads(result.read_text())["targets"])
    if targets:
        print_table(
            "Goals (issues 9 and 19), this run",
            ["benchmark", "target", "measured", "limit", "met"],
            [
                (
                    t["benchmark"],
                    t["what"],
                    fmt_measured(t),
                    f"{'≤' if t['lower_is_better'] else '≥'} {fmt(t['limit'])}{t['unit']}",
                    t["met"],
                )
                for t in targets
            ],  # fmt: skip
            left=2,
        )
        missed = [t for t in targets if not t["met"]]
        console.print(f"{len(targets) - len(missed)} of {len(targets)} targets met.")
    failed = [row for row in summary if row[3].startswith("FAILED")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
