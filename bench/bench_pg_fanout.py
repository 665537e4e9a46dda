"""One piece to 1,000 Telegram chats with 2 sender processes, and ``kill -9`` of the active one.

Two real processes (``run --role deliver``) share one PostgreSQL database and one bot token
against the local fake Bot API (tests/fakes/telegram_api.py, which answers 429 above Telegram's
limits). One holds the token's sender lock; the other stands by. A piece is fanned out to
1,000 private chats; when a third of them got it, the active sender is killed with SIGKILL.
Counted from the fake's log: chats that got the piece (must be all), chats that got it twice
(at most the sends in flight at the kill), 429 answers (must be 0), the highest number of
messages in any one-second window (the bound is 30), and how long the takeover took.

Run: ``python bench/bench_pg_fanout.py [--chats 1000]``. Needs PostgreSQL (``--server``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import sys
import time

from bench_postgres import DEFAULT_SERVER, scratch_database
from common import ROOT, console, header, print_table, save_result

from bot.types import ExtractedPiece, PieceDraft, Summary
from storage.postgres import PostgresStore
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser

TOKEN = "123456:BENCH-token-for-the-fake-api"


async def wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run(server: str, chats: int, kill_at: float) -> dict[str, float | int]:
    async with FakeTelegramAPI(TOKEN) as fake:
        with scratch_database(server) as url:
            store = await PostgresStore.open(url, max_connections=2)
            try:
                source = await store.add_source("bench", "https://bench.example/feed")
                for n in range(chats):
                    user = FakeUser(10_000 + n, f"Reader {n}")
                    fake.add_private(user)
                    chat = await store.ensure_chat("telegram", str(user.id))
                    await store.add_subscription(chat.id, "source", "bench", source_id=source.id)
                env = {
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("TELEGRAM_", "DISCORD_", "COMMENTARY_", "LLM_"))
                }
                env.update(
                    COMMENTARY_DATABASE=url.secret_conninfo(),
                    TELEGRAM_BOT_TOKEN=TOKEN,
                    TELEGRAM_API_BASE_URL=fake.base_url,
                    COMMENTARY_DEMO="false",
                    COMMENTARY_LOG_LEVEL="WARNING",
                    PYTHONPATH=str(ROOT),
                )
                procs = [
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        "--role",
                        "deliver",
                        cwd=ROOT,
                        env=env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )  # fmt: skip
                    for _ in range(2)
                ]
                try:
                    await asyncio.sleep(8)  # both started; one holds the lock
                    piece = ExtractedPiece(
                        title="The harbour needs a plan", text="The council should act. " * 20,
                        url="https://bench.example/a/1", authors=["Writer"], language="en",
                    )  # fmt: skip
                    draft = PieceDraft(
                        url=piece.url or "", piece=piece, source_id=source.id,
                        summary=Summary("The council should act.", "extractive"),
                    )  # fmt: skip
                    await store.save_piece(draft)
                    started = time.monotonic()

                    async def a_third_sent() -> bool:
                        return len(fake.sent) >= chats * kill_at

                    await wait_for(a_third_sent, 300, "the first third")
                    workers = await store.sending_workers("telegram")
                    pid = int(workers[0].split(":")[1]) if workers else 0
                    victim = next((p for p in procs if p.pid == pid), None)
                    assert victim is not None, f"no live sender found ({workers})"
                    sent_before = len(fake.sent)
                    victim.send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
                    await victim.wait()

                    async def resumed() -> bool:
                        return len(fake.sent) > sent_before + 20

                    await wait_for(resumed, 300, "the standby to take over")
                    takeover = time.monotonic() - killed_at

                    async def everyone() -> bool:
                        return len({m.chat_id for m in fake.sent}) >= chats

                    await wait_for(everyone, 600, "every chat")
                    total = time.monotonic() - started
                    await asyncio.sleep(3)  # a late duplicate would show up here
                finally:
                    for proc in procs:
                        if proc.returncode is None:
                            proc.send_signal(signal.SIGTERM)
                    for proc in procs:
                        await proc.wait()
                per_chat = collections.Counter(m.chat_id for m in fake.sent)
                seconds = collections.Counter(int(m.payload.get("date", 0)) for m in fake.sent)
                return {
                    "chats": chats,
                    "got_it": len(per_chat),
                    "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
                    "rejected_429": sum(1 for r in fake.rejected if r[1] == 429),
                    "max_per_second": max(seconds.values()),
                    "sent_before_kill": sent_before,
                    "takeover_s": round(takeover, 1),
                    "total_s": round(total, 1),
                }
            finally:
                await store.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--kill-at", type=float, default=1 / 3)
    parser.add_argument(
        "--server", default=os.environ.get("COMMENTARY_TEST_POSTGRES", DEFAULT_SERVER)
    )
    args = parser.parse_args()
    header(f"Fan-out to {args.chats} Telegram chats, 2 senders, kill -9 of the active one", False)
    result = asyncio.run(run(args.server, args.chats, args.kill_at))
    console.print(result)
    print_table(
        "Fan-out with a sender killed mid-way (fake Bot API, one PostgreSQL database)",
        ["chats", "got it", "duplicates", "429s", "max msgs in 1 s", "sent before kill",
         "takeover (s)", "total (s)"],
        [tuple(result.values())],
        caption="Bound: 30 messages/s (Telegram's). Duplicates are at most the sends in flight "
        "at the kill; takeover includes the delivery lease (2 min) on the rows it held.",
    )  # fmt: skip
    save_result("pg_fanout", [], result)


if __name__ == "__main__":
    main()
