"""Start-up never waits on sources, and stopping with a poll in flight is quiet.

The bot runs in-process (``run_bot``, the real console adapter, scheduler and poller) and as a
subprocess, against sources on 127.0.0.1 that hang or answer 404.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import run_bot
from bot.ingest.poller import PAUSE_AFTER_FAILURES
from storage import Store
from tests.cli_helpers import cli_env
from tests.factories import make_settings
from tests.httpserver import LocalHTTPServer

pytestmark = pytest.mark.asyncio

HANG_SECONDS = 30.0  # far longer than any answer may take


async def hang(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(HANG_SECONDS)
    return web.Response(text="too late")


def add_sources(db: Path, server: LocalHTTPServer, *, overdue: bool = False) -> None:
    store = Store.open(db)
    store.add_source("hanging", server.url("/hang"))
    store.add_source("missing", server.url("/missing"))
    if overdue:
        # An already-polled source whose next round is due now: the scheduler runs it at once.
        old = store.add_source("overdue", server.url("/hang-too"))
        store.update_source(
            old.id,
            first_poll_done=True,
            next_run_at=datetime.now(UTC) - timedelta(minutes=5),
        )
    store.close()


class Output(io.StringIO):
    """Console stdout that notes when the first answer arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at: float | None = None

    def write(self, text: str) -> int:
        if self.first_at is None and text.strip():
            self.first_at = time.monotonic()
        return super().write(text)


async def run_console(tmp_path: Path, stdin: str, **settings: object) -> tuple[float, Output]:
    out = Output()
    started = time.monotonic()
    code = await run_bot(
        make_settings(tmp_path, **settings),
        console=True,
        stdin=io.StringIO(stdin),
        stdout=out,
    )
    assert code == 0
    return started, out


async def test_first_command_is_answered_before_a_hanging_source_times_out(
    tmp_path: Path, http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.add("/hang", handler=hang)
    http_server.add("/hang-too", handler=hang)
    add_sources(tmp_path / "test.db", http_server, overdue=True)
    caplog.set_level(logging.INFO)
    started, out = await run_console(tmp_path, "/sources\n")
    finished = time.monotonic()
    assert out.first_at is not None and "hanging" in out.getvalue()
    # Answered without waiting for the hanging sources, and stopped without waiting either.
    assert out.first_at - started < HANG_SECONDS / 3
    assert finished - started < HANG_SECONDS / 3
    # Each source was asked once: by the scheduler, not also by a start-up pass.
    assert http_server.hits["/missing"] == 1
    assert http_server.hits["/hang"] == 1 and http_server.hits["/hang-too"] == 1


async def test_end_of_input_with_polls_in_flight_leaves_no_traceback(
    tmp_path: Path, http_server: LocalHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.add("/hang", handler=hang)
    http_server.add("/hang-too", handler=hang)
    add_sources(tmp_path / "test.db", http_server, overdue=True)
    caplog.set_level(logging.INFO)
    # The race was 2 runs in 5; every run here has both kinds of poll in flight at the end.
    for _ in range(5):
        await run_console(tmp_path, "/help\n")
        await asyncio.sleep(0.05)
    problems = [
        r
        for r in caplog.records
        if r.exc_info or "CancelledError" in r.getMessage() or r.levelno >= logging.ERROR
    ]
    assert problems == [], [r.getMessage() for r in problems]


async def run_until_failures(tmp_path: Path, name: str, failures: int) -> None:
    """Run the terminal chat (input held open) until ``name`` has failed ``failures`` times."""
    read_fd, write_fd = os.pipe()
    stop = asyncio.Event()

    async def watch() -> None:
        store = Store.open(tmp_path / "test.db")
        try:
            while store.get_source(name).consecutive_failures < failures:
                await asyncio.sleep(0.05)
        finally:
            store.close()
        stop.set()

    watcher = asyncio.create_task(watch())
    with open(read_fd, encoding="utf-8") as stdin:
        try:
            code = await asyncio.wait_for(
                run_bot(
                    make_settings(tmp_path),
                    console=True,
                    stdin=stdin,
                    stdout=io.StringIO(),
                    stop=stop,
                ),
                60,
            )
        finally:
            os.close(write_fd)  # end of input: the reader thread finishes
            watcher.cancel()
    assert code == 0


async def test_a_missing_source_pauses_after_its_failure_count_not_after_restarts(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    add_sources(tmp_path / "test.db", http_server)
    for run in range(1, 4):
        await run_until_failures(tmp_path, "missing", run)
        # One GET per start: the first round is the scheduler's, with no start-up pass before.
        assert http_server.hits["/missing"] == run
    store = Store.open(tmp_path / "test.db")
    store.update_source(
        store.get_source("missing").id, consecutive_failures=PAUSE_AFTER_FAILURES - 1
    )
    store.close()
    await run_until_failures(tmp_path, "missing", PAUSE_AFTER_FAILURES)
    store = Store.open(tmp_path / "test.db")
    missing = store.get_source("missing")
    store.close()
    assert missing.paused and http_server.hits["/missing"] == 4


async def test_ctrl_c_with_polls_in_flight_exits_quietly(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    """The real program: Ctrl-C while the scheduler's rounds of two sources hang."""
    http_server.add("/hang", handler=hang)
    http_server.add("/hang-too", handler=hang)
    db = tmp_path / "cli.db"
    add_sources(db, http_server, overdue=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--console",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=cli_env(tmp_path, COMMENTARY_DEMO="false", COMMENTARY_ALLOW_PRIVATE_URLS="true"),
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"/sources\n")
        await proc.stdin.drain()
        first = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert b"hanging" in first or first.strip(), first
        # Both hanging rounds are in flight (the stdin stays open: the chat keeps running).
        deadline = time.monotonic() + 20
        while not (http_server.hits["/hang"] and http_server.hits["/hang-too"]):
            assert time.monotonic() < deadline, dict(http_server.hits)
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode() and "CancelledError" not in err.decode()
