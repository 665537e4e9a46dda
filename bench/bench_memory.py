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
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import bulk
import dataset
from common import ROOT, Target, header, mb, print_table, print_targets, save_result

from storage.db import open_database
from tests.fakes.telegram_api import ApiError, FakeChat, FakeLimits, FakeTelegramAPI

CHILD = Path(__file__).with_name("memory_child.py")
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


# ----------------------------------------------------------------------------- the parent


async def measure(spec: dataset.Spec, folder: Path, scale: float, rounds: int) -> dict:
    path = dataset.working_copy(spec, folder)
    async with AnyChatFake(TOKEN, limits=FakeLimits().scaled(scale)) as fake:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), str(path), fake.base_url, str(scale),
            spec.source_name(0), str(rounds), *dataset.iter_queries(),
            stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of commands, not 10")
    parser.add_argument("--scale", type=float, default=20.0, help="Telegram limits multiplier")
    args = parser.parse_args()
    header("Memory and database size: 5,000 sources, 50,000 subscriptions, 100k pieces",
           args.quick)  # fmt: skip
    dataset.ensure(dataset.SMALL)
    dataset.ensure(dataset.FULL)
    rounds = 3 if args.quick else 10

    async def run() -> tuple[dict, dict]:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            small = await measure(dataset.SMALL, Path(tmp), args.scale, rounds)
            full = await measure(dataset.FULL, Path(tmp), args.scale, rounds)
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
            f"Fan-out: one new piece of the most followed source -> {full['deliveries']:,} "
            f"pending outbox rows (saved in {full['save_seconds']:.2f}s); "
            f"{full['telegram_sent']:,} Telegram posts in {full['deliver_seconds']:.1f}s at "
            f"x{args.scale:g} limits; the fake Bot API got {full['fake_posts']:,} posts "
            f"({full['fake_posts'] - full['telegram_sent']:,} of them digests, for chats in "
            f"digest mode), {full['doubles']} chats twice, {full['rejected']} rejected. "
            f"{full['commands']} commands took {full['commands_seconds']:.1f}s "
            f"(1k pieces: {small['commands_seconds']:.1f}s)."
        ),
    )
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
