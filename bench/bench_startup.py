"""Cold start: ``commentary-bot --help`` and the terminal chat's first answer, against the start
of a bare interpreter (``python -c pass``) measured in the same run, interleaved.

- ``--help``: the installed console script, to its exit (target ≤ 8×).
- the terminal chat: ``commentary-bot run`` with no platform token (the terminal chat) on an
  empty database, ``/help`` written to its stdin; timed from the start of the process to the
  first line of the answer (target ≤ 22×).

Each is the median of ``--repeat`` rounds (spread printed); the baseline runs in every round.
Beside the wall-clock ratios (the goals), the same ratios in CPU time (user + system of the child:
from its rusage, and for the terminal chat from /proc at the moment its first answer is read):
the work itself, which a busy machine's waits do not blur.

Run: ``python bench/bench_startup.py [--repeat 7] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Target, header, print_table, print_targets, save_result

SCRIPT = Path(sys.executable).with_name("commentary-bot")


def _env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_API_KEY"))}
    env.update(
        COMMENTARY_DATABASE=str(Path(tmp) / "startup.db"),
        COMMENTARY_DEMO="false",
        COMMENTARY_LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="",
    )
    return env


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _cpu_so_far(pid: int) -> float:
    """User + system seconds of a running process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare(env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds)"""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - t0, _children_cpu() - c0


def help_(env: dict[str, str]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([str(SCRIPT), "--help"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - c0


def first_answer(env: dict[str, str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(SCRIPT), "run"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("/help\n")
    proc.stdin.flush()
    elapsed = cpu = float("nan")
    for line in proc.stdout:
        if "/latest" in line:  # a line of /help's answer
            elapsed = time.perf_counter() - t0
            cpu = _cpu_so_far(proc.pid)
            break
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args()
    repeat = min(args.repeat, 3) if args.quick else args.repeat
    header("Cold start: --help and the terminal chat's first answer", args.quick)
    if not SCRIPT.exists():
        raise SystemExit(f"{SCRIPT} not found: pip install -e . in this environment")
    runs: dict[str, list[float]] = {"bare": [], "help": [], "console": []}
    cpu: dict[str, list[float]] = {"bare": [], "help": [], "console": []}
    ratios: dict[str, list[float]] = {"help": [], "console": []}
    cpu_ratios: dict[str, list[float]] = {"help": [], "console": []}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = _env(tmp)
        first_answer(env)  # creates the database: every measured run opens an existing one
        for _ in range(repeat):
            base, base_cpu = bare(env)
            runs["bare"].append(base)
            cpu["bare"].append(base_cpu)
            for name, fn in (("help", help_), ("console", first_answer)):
                value, used = fn(env)
                runs[name].append(value)
                cpu[name].append(used)
                ratios[name].append(value / base)
                cpu_ratios[name].append(used / base_cpu if base_cpu else float("nan"))
    rows = [
        ("python -c pass (baseline)", statistics.median(runs["bare"]), 1.0, "",
         statistics.median(cpu["bare"]), 1.0, ""),
    ]  # fmt: skip
    labels = {"help": "commentary-bot --help", "console": "terminal chat: first answer"}
    for name in ("help", "console"):
        r, c = ratios[name], cpu_ratios[name]
        rows.append((
            labels[name], statistics.median(runs[name]), statistics.median(r),
            f"{min(r):.1f}–{max(r):.1f}", statistics.median(cpu[name]), statistics.median(c),
            f"{min(c):.1f}–{max(c):.1f}",
        ))  # fmt: skip
    print_table(
        f"Cold start, median of {repeat} interleaved rounds",
        ["", "seconds", "× python -c pass", "spread", "CPU s", "CPU ×", "CPU spread"],
        rows,
    )
    targets = [
        Target("startup", "commentary-bot --help / python -c pass",
               statistics.median(ratios["help"]), 8.0),
        Target("startup", "terminal chat first answer / python -c pass",
               statistics.median(ratios["console"]), 22.0),
    ]  # fmt: skip
    print_targets(targets)
    save_result(
        "startup", targets, {"runs": runs, "ratios": ratios, "cpu": cpu, "cpu_ratios": cpu_ratios}
    )


if __name__ == "__main__":
    main()
