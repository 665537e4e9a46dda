"""The measured process of bench_memory.py: a bare interpreter that becomes a steady-state bot.

Only the standard library and psutil are imported before the first reading, so "interpreter"
is the real starting point and every later phase shows what the bot itself adds. Prints one
JSON line. Usage: ``memory_child.py DB BASE_URL SCALE SOURCE ROUNDS FEEDS_BASE SOURCES QUERY...``.
The peak is VmHWM, this process's own high-water mark.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import tracemalloc

import psutil

TOKEN = "777000:AAH-bench-memory-token"
# A new piece's text: plain English sentences (no generator here, it would add its own memory).
SENTENCES = (
    "The government has promised a great deal and delivered rather less.",
    "Inflation is not a force of nature but the sum of decisions made by people.",
    "Schools, hospitals and courts all feel the same squeeze on their budgets.",
    "Critics say the plan arrives too late, and they may well be right.",
    "Yet the alternative on offer from the opposition is hardly more convincing.",
    "What voters want is a clear account of who pays, and when.",
)


def vm_hwm(pid: int | str = "self") -> int:
    """A process's peak resident set (VmHWM), bytes; exec'd processes start it afresh."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    db_path, base_url, scale, source_name, rounds, feeds_base, sources, *queries = sys.argv[1:]
    proc = psutil.Process()
    # (label, RSS now, VmHWM so far, threads) after each phase: the high-water mark tells in
    # which phase the peak was reached, which RSS at the end of the phase may not show.
    phases: list[tuple[str, int, int, int]] = []

    # BENCH_TRACEMALLOC=1: also the peak of Python's own allocations per phase and the lines
    # that hold most at the end of each polling round (slows the run; for finding a cause).
    tracing = bool(os.environ.get("BENCH_TRACEMALLOC"))
    traced: list[dict] = []
    if tracing:
        tracemalloc.start(8)

    def mark(label: str) -> None:
        phases.append((label, proc.memory_info().rss, vm_hwm(), proc.num_threads()))
        # Progress on stderr (the parent reads stdout): a long run shows where it is.
        print(f"{time.strftime('%H:%M:%S')} {label}: peak {phases[-1][2] / 2**20:.0f} MB",
              file=sys.stderr, flush=True)  # fmt: skip
        if tracing:
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            top = tracemalloc.take_snapshot().statistics("lineno")[:12]
            lines = [f"{t.size / 1e6:.1f} MB {t.traceback}" for t in top]
            traced.append({"phase": label, "current": current, "peak": peak, "top": lines})

    # The extraction workers' peaks, so the memory cannot just have moved unseen: each worker
    # reports its VmHWM after every page (ExtractWorkers.peak_bytes), and a sampler reads every
    # process below this one (the fork server and the workers it forks) once a second.
    below: dict[str, int] = {}

    def pss(pid: int | str) -> int:
        """Proportional set size: shared pages (the fork server's imports) counted once."""
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        return 0

    def sample_children() -> None:
        total = pss("self")
        for child in proc.children(recursive=True):
            try:
                total += pss(child.pid)
            except OSError:
                pass
        below["all processes, PSS"] = max(below.get("all processes, PSS", 0), total)
        for child in proc.children(recursive=True):
            try:
                direct = child.ppid() == proc.pid
                name = " ".join(child.cmdline())
                peak = vm_hwm(child.pid)
            except (psutil.Error, OSError):
                continue  # exited meanwhile
            kind = "workers" if not direct else "fork server" if "forkserver" in name else "other"
            below[kind] = max(below.get(kind, 0), peak)

    async def sample_forever() -> None:
        while True:
            sample_children()
            await asyncio.sleep(1.0)

    async def watch(label: str) -> None:
        """While a round runs: Python's top lines each time the peak grows by 16 MB."""
        last = vm_hwm()
        while True:
            await asyncio.sleep(2.0)
            if vm_hwm() > last + 16 * 2**20:
                last = vm_hwm()
                top = tracemalloc.take_snapshot().statistics("lineno")[:12]
                current, _ = tracemalloc.get_traced_memory()
                print(f"{time.strftime('%H:%M:%S')} {label}: VmHWM {last / 2**20:.0f} MB, Python"
                      f" {current / 2**20:.0f} MB", file=sys.stderr)  # fmt: skip
                for t in top:
                    print(f"  {t.size / 2**20:.1f} MB {t.traceback}", file=sys.stderr, flush=True)

    mark("interpreter")

    import bot.app  # noqa: F401 - what `commentary-bot` imports
    from bot.adapters.telegram import TelegramAdapter
    from bot.app import open_core as open_app_core
    from bot.config import Settings
    from bot.delivery.routing import route
    from bot.delivery.sender import PlatformLimits
    from bot.messages import Request
    from bot.types import ExtractedPiece, PieceDraft, Summary
    from handlers.registry import command_table

    mark("imports (what `commentary-bot run` imports, PTB)")
    k = float(scale)

    async def run() -> dict:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, commentary_database=db_path, commentary_demo=False,
            telegram_bot_token=TOKEN, telegram_api_base_url=base_url,
        )  # fmt: skip
        out: dict = {}
        # As `commentary-bot run` opens it on a platform: the long-running service's defaults.
        async with open_app_core(settings, service=True) as core:
            mark("Core open")
            adapter = TelegramAdapter(
                core,
                command_table(),
                poll_timeout=30.0,
                limits=PlatformLimits(30.0 * k, 1.0 * k, 20.0 * k),
            )
            await adapter.start()
            mark("Telegram adapter started")
            commands = [("latest", ""), ("latest", "10"), ("authors", ""), ("sources", "")]
            commands += [("search", q) for q in queries] + [("latest", queries[0])]
            t0 = time.perf_counter()
            for n in range(int(rounds)):
                for name, args in commands:
                    # A different reader each round: searches are rate-limited per person.
                    user = str(100000 + n)
                    request = Request(platform="telegram", chat_id=user, user_id=user,
                                      command=name, args=args, chat_kind="private")  # fmt: skip
                    response = await core.handle(request)
                    if any(m.kind == "error" for m in response.messages):
                        raise SystemExit(f"/{name} {args} failed: {response.messages[0].text}")
            out["commands"] = len(commands) * int(rounds)
            out["commands_seconds"] = time.perf_counter() - t0
            mark(f"{out['commands']} commands answered")

            source = await core.services.store.get_source(source_name)
            paragraphs = [" ".join(SENTENCES[(i + j) % 6] for j in range(5)) for i in range(30)]
            text = "\n\n".join(paragraphs)
            piece = ExtractedPiece(
                title="A new column everyone follows", text=text,
                url="https://outlet1.example/opinion/bench-new-piece", authors=["Ada Stone"],
                outlet="Outlet 1", language="en", standfirst=SENTENCES[0],
            )  # fmt: skip
            made = Summary(text=" ".join(SENTENCES[:3]), method="extractive")
            draft = PieceDraft(url=piece.url, piece=piece, source_id=source.id, summary=made,
                               summary_short=SENTENCES[0], summary_long=text[:1200])  # fmt: skip
            t0 = time.perf_counter()
            result = await core.services.store.save_piece(draft, route=route)
            out["save_seconds"] = time.perf_counter() - t0
            out["deliveries"] = result.deliveries
            mark("piece saved, outbox written")

            worker = core.workers["telegram"]
            t0 = time.perf_counter()
            core.wake_delivery()
            last, still = -1, 0.0
            # Done when nothing is due and the count of sent posts has not moved for a second.
            while still < 1.0:
                await asyncio.sleep(0.1)
                if worker.sent != last or await core.services.store.count_due("telegram") > 0:
                    last, still = worker.sent, 0.0
                else:
                    still += 0.1
            out["telegram_sent"] = worker.sent
            out["deliver_seconds"] = time.perf_counter() - t0 - still
            mark(f"delivered to {worker.sent:,} Telegram chats")
            await adapter.stop()

            # Polling every source; deliveries stay in the outbox (the adapter is stopped).
            import httpx

            out["polls"] = []
            rounds_spec = [
                ("poll: every feed changed", False),
                ("poll: half 304, half rebuilt", False),
                (f"poll: {sources} new entries", True),
            ]
            for label, bump in rounds_spec:
                if bump:
                    async with httpx.AsyncClient(trust_env=False) as client:
                        await client.post(f"{feeds_base}/bump", params={"sources": sources})
                t0 = time.perf_counter()
                watcher = asyncio.create_task(watch(label)) if tracing else None
                sampler = asyncio.create_task(sample_forever())
                reports = await core.poll_now()
                sampler.cancel()
                sample_children()
                if watcher is not None:
                    watcher.cancel()
                statuses: dict[str, int] = {}
                for r in reports:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                out["polls"].append({
                    "label": label, "seconds": time.perf_counter() - t0, "statuses": statuses,
                    "new": sum(r.new for r in reports),
                    "errors": sorted({r.error for r in reports if r.error})[:3],
                })  # fmt: skip
                mark(label)
            extract = core._ingest().builder.extract  # noqa: SLF001 - the bench looks inside
            out["extract_processes"] = extract.processes if extract else 0
            out["worker_peak_reported"] = extract.peak_bytes if extract else 0
            out["worker_pages"] = extract.pages_per_worker if extract else 0
            out["below"] = below
            # Whether the bot's own process ever loaded the extractor (it should not, with workers).
            out["bot_loaded_trafilatura"] = "trafilatura" in sys.modules
        out["phases"] = phases
        out["traced"] = traced
        out["peak_rss"] = vm_hwm()
        return out

    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
