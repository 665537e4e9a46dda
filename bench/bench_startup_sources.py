"""Start-up with sources that hang: how soon the terminal chat answers its first command.

Two cases on a warm machine (database migrated, sources added, interpreter files cached), each
run several times, interleaved:

* baseline — no sources at all;
* hanging — one source whose server never answers (held 60 s) and one that answers 404.

Two clocks per case: from launching ``commentary-bot run --console`` to its first answer (the
operator's view, imports included), and from calling ``run_bot`` in this process to the first
answer (the bot's own start-up, imports excluded). The ratio hanging / baseline shows what the
sources cost: about 1.0× means start-up never waits on them. The target is a first answer within
1 s of ``run_bot`` with a hanging source.

    .venv/bin/python bench/bench_startup_sources.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web
from common import ROOT, Target, header, percentile, print_table, print_targets, save_result

from tests.httpserver import LocalHTTPServer

HOLD_SECONDS = 60.0


async def _hang(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(HOLD_SECONDS)
    return web.Response(text="late")


def _prepare(db: Path, server: LocalHTTPServer | None) -> None:
    from storage import Store

    store = Store.open(db)  # migrations run here, not in the measured start
    if server is not None:
        for name, path in (("hanging", "/hang"), ("missing", "/missing")):
            source = store.get_source(name) or store.add_source(name, server.url(path))
            # Each run's 404 counts a failure; keep the source active across runs.
            store.update_source(source.id, consecutive_failures=0, paused=False)
    store.close()


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_"))}
    env.update(
        COMMENTARY_DATABASE=str(db),
        COMMENTARY_DEMO="false",
        COMMENTARY_ALLOW_PRIVATE_URLS="true",
        PYTHONPATH=str(ROOT),
    )
    return env


async def _process_run(db: Path) -> tuple[float, float]:
    """(seconds to the first answer, seconds to exit after end of input) of the real program."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_env(db),
        cwd=db.parent,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"/sources\n")
    await proc.stdin.drain()
    line = await asyncio.wait_for(proc.stdout.readline(), HOLD_SECONDS)
    answered = time.monotonic() - started
    if not line.strip():
        raise RuntimeError("no answer from the terminal chat")
    proc.stdin.close()
    eof_at = time.monotonic()
    await asyncio.wait_for(proc.wait(), HOLD_SECONDS)
    return answered, time.monotonic() - eof_at


class _FirstWrite(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def write(self, text: str) -> int:
        if self.at is None and text.strip():
            self.at = time.monotonic()
        return super().write(text)


async def _in_process_run(db: Path) -> float:
    """Seconds from calling run_bot to the first answer (imports already done)."""
    from bot.app import run_bot
    from bot.config import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        commentary_database=db,
        commentary_demo=False,
        commentary_allow_private_urls=True,
    )
    out = _FirstWrite()
    started = time.monotonic()
    await run_bot(settings, console=True, stdin=io.StringIO("/sources\n"), stdout=out)
    if out.at is None:
        raise RuntimeError("no answer from the terminal chat")
    return out.at - started


def _summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), percentile(values, 10), percentile(values, 90)


async def main(runs: int) -> None:
    import logging

    logging.disable(logging.WARNING)  # the hanging source's warnings are expected
    times: dict[str, dict[str, list[float]]] = {
        case: {"process": [], "exit": [], "run_bot": []} for case in ("baseline", "hanging")
    }
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        async with LocalHTTPServer() as server:
            server.add("/hang", handler=_hang)
            dbs = {"baseline": Path(tmp) / "baseline.db", "hanging": Path(tmp) / "hanging.db"}
            _prepare(dbs["baseline"], None)
            _prepare(dbs["hanging"], server)
            await _process_run(dbs["baseline"])  # warm the interpreter's file cache
            for _ in range(runs):
                for case, db in dbs.items():
                    _prepare(db, server if case == "hanging" else None)
                    answered, exited = await _process_run(db)
                    times[case]["process"].append(answered)
                    times[case]["exit"].append(exited)
                    _prepare(db, server if case == "hanging" else None)
                    times[case]["run_bot"].append(await _in_process_run(db))
    rows = []
    for clock, label in (
        ("process", "launch → first answer"),
        ("run_bot", "run_bot → first answer"),
        ("exit", "end of input → exit"),
    ):
        base = _summary(times["baseline"][clock])
        hang = _summary(times["hanging"][clock])
        rows.append((label, *base, *hang, hang[0] / base[0] if base[0] else float("nan")))
    print_table(
        f"Terminal chat start-up, {runs} runs per case (median, p10, p90 in seconds)",
        ["clock", "none", "p10", "p90", "hanging", "p10", "p90", "ratio"],
        rows,
        caption="hanging: one source held 60 s and one answering 404, both never polled "
        "before; ratio = hanging median / no-sources median",
    )
    first = statistics.median(times["hanging"]["run_bot"])
    targets = [
        Target("startup_sources", "first answer after run_bot, hanging source", first, 1.0, "s"),
        Target(
            "startup_sources",
            "launch → first answer, hanging / none",
            rows[0][-1],
            1.25,
        ),
    ]
    print_targets(targets)
    save_result("startup_sources", targets, {"runs": runs, "seconds": times})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per case instead of 7")
    parser.add_argument("--runs", type=int, default=None, help="runs per case")
    args = parser.parse_args()
    header("Start-up with hanging sources", args.quick)
    asyncio.run(main(args.runs or (3 if args.quick else 7)))
