"""Fan-out of one piece to 1,000 chats, against the rate bound the platform allows.

Telegram: the real TelegramAdapter (python-telegram-bot over HTTP) and the core's delivery
worker post to the fake Bot API of the tests (tests/fakes/telegram_api.py), whose flood limits
are scaled by ``--scale`` (×10: 300 messages/s overall) together with the worker's
PlatformLimits, so the run takes seconds instead of half a minute. The baseline is the rate
bound itself, ``chats / global_per_second``: a perfect pacer needs exactly that long. Also
checked: no 429 from the fake, every chat got exactly one message, every outbox row is 'sent'.

Console: the same fan-out through the terminal sender (no network) against its own bound.

"capacity" rows lift every limit to show what this machine could do: how much room the
paced runs leave (the fake runs in the same process, so it shares the CPU with the bot).

Run: ``python bench/bench_fanout.py [--quick] [--chats 1000] [--scale 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from common import Target, header, print_table, print_targets, save_result

from bot.adapters.console import ConsoleAdapter
from bot.adapters.telegram import TelegramAdapter
from bot.core import Core
from bot.delivery.sender import PlatformLimits
from handlers.registry import command_table
from tests.factories import add_piece, open_core
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI

TOKEN = "555000:AAH-bench-fanout-token"
GROUP_SHARE = 0.1  # a tenth of the chats are supergroups (their own, stricter limits)
UNLIMITED = PlatformLimits(global_per_second=1e9, per_chat_per_second=1e9,
                           per_group_per_minute=1e9)  # fmt: skip


@dataclass
class Run:
    platform: str
    label: str
    chats: int
    seconds: float
    bound: float | None
    rejected_429: int
    other_errors: int
    exactly_once: bool
    rows_sent: int
    cpu_seconds: float

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.bound if self.bound else None

    @property
    def per_second(self) -> float:
        return self.chats / self.seconds


def _chat_ids(chats: int) -> list[tuple[int, str]]:
    groups = int(chats * GROUP_SHARE)
    ids = [(-1_000_000_000_000 - i, "group") for i in range(groups)]
    ids += [(10_000 + i, "private") for i in range(chats - groups)]
    return ids


async def _subscribe_all(core: Core, platform: str, ids: list[tuple[int, str]]) -> None:
    source = await core.services.store.add_source("bench", "https://bench.example/feed.xml")
    for chat_id, kind in ids:
        chat = await core.services.store.ensure_chat(platform, str(chat_id), kind=kind)
        await core.services.store.add_subscription(chat.id, "source", "bench", source_id=source.id)


async def telegram_run(chats: int, scale: float | None, tmp: Path) -> Run:
    """One piece to ``chats`` chats through the real adapter; ``scale`` None lifts all limits."""
    fake_limits = FakeLimits().scaled(scale) if scale else FakeLimits(enabled=False)
    limits = (
        PlatformLimits(
            global_per_second=30.0 * scale,
            per_chat_per_second=1.0 * scale,
            per_group_per_minute=20.0 * scale,
        )
        if scale
        else UNLIMITED
    )
    ids = _chat_ids(chats)
    async with FakeTelegramAPI(TOKEN, limits=fake_limits) as fake:
        for chat_id, kind in ids:
            if kind == "private":
                fake.add_private(fake.add_user(chat_id, f"U{chat_id}"))
            else:
                fake.add_group(chat_id, f"G{chat_id}")
        async with open_core(
            tmp, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url
        ) as core:
            await _subscribe_all(core, "telegram", ids)
            adapter = TelegramAdapter(core, command_table(), poll_timeout=30.0, limits=limits)
            await adapter.start()
            try:
                cpu0, t0 = time.process_time(), time.perf_counter()
                piece_id = await add_piece(core, source="bench")
                await fake.wait_until(lambda: len(fake.sent) >= chats, timeout=600)
                seconds = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                # Let the last marks land, and give any double send a chance to show up.
                await asyncio.sleep(0.5)
                rows_sent = await core.services.store.count_deliveries(piece_id, "sent")
            finally:
                await adapter.stop()
        per_chat = Counter(m.chat_id for m in fake.sent)
        exactly_once = set(per_chat) == {i for i, _ in ids} and set(per_chat.values()) == {1}
        rejected = [status for method, status, _ in fake.rejected if method == "sendMessage"]
    return Run(
        "telegram", f"×{scale:g} limits" if scale else "no limits", chats, seconds,
        chats / limits.global_per_second if scale else None, rejected.count(429),
        len(rejected) - rejected.count(429), exactly_once, rows_sent, cpu,
    )  # fmt: skip


async def console_run(chats: int, unlimited: bool, tmp: Path) -> Run:
    """The same fan-out through the terminal sender (output to /dev/null)."""
    ids = [(i, "private") for i in range(chats)]
    async with open_core(tmp) as core, _devnull() as sink:
        console = ConsoleAdapter(core, stdout=sink)
        sender = console.sender
        if unlimited:
            sender.limits = UNLIMITED  # an instance attribute: the class default stays
        await _subscribe_all(core, "console", ids)
        shown: Counter[str] = Counter()
        send_post = sender.send_post

        async def counting_send(chat, post):  # type: ignore[no-untyped-def]
            message_id = await send_post(chat, post)
            shown[chat.platform_chat_id] += 1
            return message_id

        sender.send_post = counting_send  # type: ignore[method-assign]
        worker = core.start_delivery(sender)
        cpu0, t0 = time.process_time(), time.perf_counter()
        piece_id = await add_piece(core, source="bench")
        while worker.sent < chats:
            await asyncio.sleep(0.002)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        await core.stop_delivery("console")
        rows_sent = await core.services.store.count_deliveries(piece_id, "sent")
    exactly_once = len(shown) == chats and set(shown.values()) == {1}
    return Run(
        "console", "no limits" if unlimited else "1,000/s", chats, seconds,
        None if unlimited else chats / sender.limits.global_per_second, 0, 0, exactly_once,
        rows_sent, cpu,
    )  # fmt: skip


class _devnull:
    async def __aenter__(self):  # type: ignore[no-untyped-def]
        self.file = open(os.devnull, "w")  # noqa: SIM115 - closed in __aexit__
        return self.file

    async def __aexit__(self, *exc: object) -> None:
        self.file.close()


async def run_all(chats: int, scale: float, repeat: int) -> list[Run]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        n = 0

        def fresh() -> Path:
            nonlocal n
            n += 1
            path = Path(tmp) / f"run{n}"
            path.mkdir()
            return path

        for _ in range(repeat):
            runs.append(await telegram_run(chats, scale, fresh()))
            runs.append(await console_run(chats, False, fresh()))
        runs.append(await telegram_run(chats, None, fresh()))
        runs.append(await console_run(chats, True, fresh()))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one paced run per sender")
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=10.0, help="limits multiplier")
    parser.add_argument("--repeat", type=int, default=None, help="paced runs (default 3; 1 quick)")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    logging.basicConfig(level=logging.WARNING)
    header(f"Fan-out: one piece to {args.chats:,} chats", args.quick)

    runs = asyncio.run(run_all(args.chats, args.scale, repeat))

    rows = []
    for r in runs:
        rows.append((
            f"{r.platform} {r.label}", r.seconds, r.bound,
            f"{r.ratio:.3f}" if r.ratio else None, r.per_second,
            r.cpu_seconds / r.chats * 1000, r.rejected_429, r.other_errors, r.exactly_once,
            f"{r.rows_sent}/{r.chats}",
        ))  # fmt: skip
    print_table(
        f"Fan-out of one piece to {args.chats:,} chats ({int(args.chats * GROUP_SHARE)} of them "
        "groups on Telegram); ratio = seconds / rate bound",
        ["run", "seconds", "bound s", "ratio", "msg/s", "CPU ms/msg", "429s", "other errors",
         "exactly once", "rows sent"],
        rows,
        caption=(
            f"Telegram bound = chats / {30 * args.scale:g} msg/s (30/s ×{args.scale:g}); console "
            "bound = chats / 1000 msg/s (its PlatformLimits). The fake Bot API shares the "
            "process, so CPU ms/msg counts the bot and the fake together."
        ),
    )  # fmt: skip

    targets: list[Target] = []
    for platform in ("telegram", "console"):
        paced = [r for r in runs if r.platform == platform and r.bound]
        worst = max(r.ratio for r in paced)  # type: ignore[type-var]
        median = statistics.median(r.ratio for r in paced)  # type: ignore[misc]
        targets.append(
            Target("fanout", f"{platform}: time / rate bound (worst of {len(paced)})", worst, 1.05)
        )
        if platform == "telegram":
            targets.append(
                Target(
                    "fanout",
                    "telegram: 429 answers",
                    sum(r.rejected_429 for r in paced),
                    0,
                    unit="",
                )
            )
            targets.append(Target("fanout", "telegram: chats without exactly one message", sum(
                0 if r.exactly_once else 1 for r in paced), 0, unit=""))  # fmt: skip
        print(f"{platform}: median ratio {median:.3f} over {len(paced)} run(s)")
    print_targets(targets)
    save_result("fanout", targets, {"runs": [r.__dict__ for r in runs]})


if __name__ == "__main__":
    main()
