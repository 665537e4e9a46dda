"""What every benchmark shares: the machine it ran on, tables, percentiles and result files.

Benchmarks print rich tables of ratios against a baseline measured in the same run (the machine
is shared and noisy, so absolute numbers only travel with their ratio), and each writes a small
JSON summary to ``bench/results/`` that ``run_all.py`` turns into one table of targets.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

# Wide enough for the tables when stdout is a pipe (run_all, `| tee`), where rich assumes 80.
console = Console(width=max(110, Console().width), highlight=False)


def machine() -> dict[str, Any]:
    """Where the numbers come from: cores, CPU, memory, Python and SQLite versions."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["load_1m"] = round(os.getloadavg()[0], 2)
    except ImportError:  # psutil is in the [bench] extra; the rest still works without it
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine()
    parts = [
        f"{info['cores']} cores"
        + (f" ({info['physical_cores']} physical)" if info.get("physical_cores") else ""),
        info["cpu"],
        f"Python {info['python']}",
        f"SQLite {info['sqlite']}",
    ]
    if "memory_gb" in info:
        parts.append(f"{info['memory_gb']} GB RAM")
    if "load_1m" in info:
        parts.append(f"load {info['load_1m']}")
    return " · ".join(parts)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    left: int = 1,
) -> None:
    """One rich table; the first ``left`` columns left-aligned, the rest (numbers) right."""
    table = Table(title=title, caption=caption, caption_justify="left", title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right", overflow="fold")
    for row in rows:
        table.add_row(*[fmt(v) for v in row])
    console.print(table)


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(k), math.ceil(k)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def mb(n_bytes: float) -> float:
    return n_bytes / 2**20


@dataclass
class Target:
    """One target of issue 9 and how this run did against it."""

    benchmark: str
    what: str
    measured: float
    limit: float
    unit: str = "×"
    lower_is_better: bool = True

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured <= self.limit if self.lower_is_better else self.measured >= self.limit


def save_result(name: str, targets: list[Target], details: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (read by run_all.py for its summary)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "benchmark": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "targets": [asdict(t) | {"met": t.met} for t in targets],
        "details": details,
    }
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def fmt_measured(target: Target | dict[str, Any]) -> str:
    """A target's measured value; ratios with three decimals, so 1.051 never reads as 1.05."""
    t = target if isinstance(target, dict) else asdict(target)
    value = t["measured"]
    if t["unit"] == "×" and isinstance(value, float) and abs(value) < 10:
        return f"{value:.3f}×"
    return f"{fmt(value)}{t['unit']}"


def print_targets(targets: list[Target]) -> None:
    print_table(
        "Targets",
        ["target", "measured", "limit", "met"],
        [
            (
                t.what,
                fmt_measured(t),
                f"{'≤' if t.lower_is_better else '≥'} {fmt(t.limit)}{t.unit}",
                t.met,
            )
            for t in targets
        ],
    )


def header(title: str, quick: bool) -> None:
    console.rule(f"[bold]{title}[/bold]" + (" (quick)" if quick else ""))
    console.print(machine_line())


def corpus_or_exit(path: str | Path) -> Path:
    """The evaluation corpus (read in place, never copied), or a one-line hint and exit 2."""
    corpus = Path(path)
    if not (corpus / "aeb" / "ground-truth.json").is_file():
        print(f"corpus not found at {corpus} (expected aeb/ground-truth.json); pass --corpus PATH")
        raise SystemExit(2)
    return corpus
