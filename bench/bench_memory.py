"""Peak memory and database size with 5,000 sources, 50,000 subscriptions and 100,000 pieces.

The database comes from bench/dataset.py (generated once, cached under bench/results/). The
bot is measured in a child process, so the generator's memory never counts: it imports what a
Telegram deployment imports, opens the Core on a copy of the database, starts the real
TelegramAdapter against the fake Bot API (which runs in this parent process, as the real
one is remote), answers /latest, /search, /sources and /authors, then stores one new piece
from the most followed source and delivers it to every Telegram chat that follows it
(thousands). No polling: this is the steady state between polls. RSS is read after each
phase; the peak is ``ru_maxrss``.

The baseline is the same run on the same chats and subscriptions with 1,000 pieces; the
ratio shows what 100x the pieces cost. Target: peak RSS ≤ 150 MB.

Run: ``python bench/bench_memory.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import dataset
from common import Target, header, mb, print_table, print_targets, save_result

from storage import bulk
from storage.db import open_database
from tests.fakes.telegram_api import ApiError, FakeChat, FakeLimits, FakeTelegramAPI

TOKEN = "777000:AAH-bench-memory-token"
TARGET_MB = 150.0
CHANNEL_BELOW = -1_000_400_000_000  # dataset.py: channel ids are below this, groups above


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


# ----------------------------------------------------------------------------- the child


def child(db_path: str, base_url: str, scale: float) -> None:
    """Runs in a fresh interpreter; prints one JSON line of measurements."""
    import resource

    import psutil

    proc = psutil.Process()
    phases: list[tuple[str, float]] = [("interpreter", proc.memory_info().rss)]

    import bot.app  # noqa: F401 - what `commentary-bot` imports
    from bot.adapters.telegram import TelegramAdapter
    from bot.config import Settings
    from bot.core import Core
    from bot.delivery.sender import PlatformLimits
    from bot.types import ExtractedPiece, PieceDraft, Summary
    from handlers.types import Request

    phases.append(("imports (bot, PTB, trafilatura, ...)", proc.memory_info().rss))
    logging.basicConfig(level=logging.WARNING)

    async def run() -> dict:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, commentary_database=db_path, commentary_demo=False,
            telegram_bot_token=TOKEN, telegram_api_base_url=base_url,
        )  # fmt: skip
        out: dict = {}
        async with Core.open(settings) as core:
            phases.append(("Core open", proc.memory_info().rss))
            limits = PlatformLimits(30.0 * scale, 1.0 * scale, 20.0 * scale)
            adapter = TelegramAdapter(core, poll_timeout=30.0, limits=limits)
            await adapter.start()
            phases.append(("Telegram adapter started", proc.memory_info().rss))
            commands = [
                ("latest", ""), ("latest", "10"), ("search", dataset.COMMON_QUERY),
                ("search", dataset.MEDIUM_QUERY), ("latest", dataset.COMMON_QUERY),
                ("authors", ""), ("sources", ""),
            ]  # fmt: skip
            t0 = time.perf_counter()
            for _ in range(10):
                for name, args in commands:
                    request = Request(platform="telegram", chat_id="100000", user_id="100000",
                                      command=name, args=args, chat_kind="private")  # fmt: skip
                    response = await core.handle(request)
                    assert not any(m.kind == "error" for m in response.messages), name
            out["commands_seconds"] = time.perf_counter() - t0
            phases.append(("70 commands answered", proc.memory_info().rss))

            source = await core.store.get_source(dataset.FULL.source_name(0))
            words = dataset.Words(__import__("random").Random(1), pool=200)
            text = "\n\n".join(" ".join(p) for p in words.paragraphs(50))
            piece = ExtractedPiece(
                title="A new column everyone follows", text=text,
                url="https://outlet1.example/opinion/bench-new-piece", authors=["Ada Stone"],
                outlet="Outlet 1", language="en", standfirst=words.sentence(),
            )  # fmt: skip
            made = Summary(text=" ".join(text.split(". ")[:3]), method="extractive")
            draft = PieceDraft(url=piece.url, piece=piece, source_id=source.id, summary=made,
                               summary_short=made.text[:120], summary_long=text[:1200])  # fmt: skip
            t0 = time.perf_counter()
            result = await core.store.save_piece(draft)
            out["save_seconds"] = time.perf_counter() - t0
            out["deliveries"] = result.deliveries
            phases.append(("piece saved, outbox written", proc.memory_info().rss))
            worker = core.workers["telegram"]
            t0 = time.perf_counter()
            core.wake_delivery()
            while await core.store.count_due("telegram") > 0:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            out["telegram_sent"] = worker.sent
            out["deliver_seconds"] = time.perf_counter() - t0
            phases.append((f"delivered to {worker.sent:,} Telegram chats",
                           proc.memory_info().rss))  # fmt: skip
            await adapter.stop()
        out["phases"] = phases
        out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return out

    print(json.dumps(asyncio.run(run())))


# ----------------------------------------------------------------------------- the parent


async def measure(spec: dataset.Spec, folder: Path, scale: float) -> dict:
    path = dataset.working_copy(spec, folder)
    async with AnyChatFake(TOKEN, limits=FakeLimits().scaled(scale)) as fake:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", str(path), fake.base_url, str(scale),
            stdout=asyncio.subprocess.PIPE, cwd=str(Path(__file__).parent),
        )  # fmt: skip
        stdout, _ = await proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"the measuring process failed ({proc.returncode})")
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        sends = fake.sent
        per_chat: dict[int, int] = {}
        for message in sends:
            per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
        result["fake_posts"] = len(per_chat)
        result["doubles"] = sum(1 for n in per_chat.values() if n > 1)
        result["rejected"] = len(fake.rejected)
    db = open_database(path, migrate=False)
    bulk.checkpoint(db)
    result["rows"] = bulk.row_counts(db)
    result["space"] = bulk.space_by_table(db)
    db.conn.close()
    result["db_bytes"] = os.path.getsize(path)
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="(same run; the data is cached)")
    parser.add_argument("--scale", type=float, default=20.0, help="Telegram limits multiplier")
    args = parser.parse_args()
    header("Memory and database size: 5,000 sources, 50,000 subscriptions, 100k pieces",
           args.quick)  # fmt: skip
    dataset.ensure(dataset.SMALL)
    dataset.ensure(dataset.FULL)

    async def run() -> tuple[dict, dict]:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            small = await measure(dataset.SMALL, Path(tmp), args.scale)
            full = await measure(dataset.FULL, Path(tmp), args.scale)
        return small, full

    small, full = asyncio.run(run())
    rows = []
    for (label, rss_small), (_, rss_full) in zip(small["phases"], full["phases"], strict=True):
        rows.append((label, mb(rss_small), mb(rss_full), f"{rss_full / rss_small:.2f}"))
    rows.append(("peak (ru_maxrss)", mb(small["peak_rss"]), mb(full["peak_rss"]),
                 f"{full['peak_rss'] / small['peak_rss']:.2f}"))  # fmt: skip
    rows.append(("database file", mb(small["db_bytes"]), mb(full["db_bytes"]),
                 f"{full['db_bytes'] / small['db_bytes']:.1f}"))  # fmt: skip
    print_table(
        "RSS in MB after each phase, 1k pieces (baseline) vs 100k pieces; ratio = 100k / 1k",
        ["phase", "1k pieces", "100k pieces", "ratio"],
        rows,
        caption=(
            f"Fan-out: one new piece of the most followed source -> {full['deliveries']:,} outbox "
            f"rows (save {full['save_seconds']:.2f}s), {full['telegram_sent']:,} Telegram posts "
            f"in {full['deliver_seconds']:.1f}s at x{args.scale:g} limits; fake saw "
            f"{full['fake_posts']:,} chats posted, {full['doubles']} doubles, "
            f"{full['rejected']} rejected. 70 commands took {full['commands_seconds']:.1f}s "
            f"(1k: {small['commands_seconds']:.1f}s)."
        ),
    )  # fmt: skip
    counts = full["rows"]
    print_table(
        "Database at 100k pieces: space per table (indexes included)",
        ["table", "MB", "rows"],
        [(name, mb(size), counts.get(name.split(" ")[0].removesuffix("_fts")))
         for name, size in full["space"].items() if size > 100_000]
        + [("total file", mb(full["db_bytes"]), None)],
    )  # fmt: skip
    targets = [
        Target("memory", "peak RSS at 100k pieces (MB)", mb(full["peak_rss"]), TARGET_MB, ""),
        Target("memory", "chats posted twice in the fan-out", full["doubles"], 0, ""),
    ]
    print_targets(targets)
    save_result("memory", targets, {"1k": small, "100k": full})


if __name__ == "__main__":
    main()
