"""Building blocks for the reliability tests: feeds, article pages, the bot as a subprocess.

The bot runs exactly as an operator runs it (``python -m bot run``) with a clean environment;
its stdout and stderr go to files so a chatty process can never block on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ARTICLE_SENTENCES = (
    "The council should publish every contract for the tunnel before the next budget vote.",
    "Critics argue that secrecy has already cost the city more than any open process would.",
    "Residents deserve to see the figures, because they will pay for every overrun in the end.",
    "A city that hides its numbers invites suspicion, and suspicion corrodes public trust.",
    "Openness is not a luxury; it is the condition on which big projects keep their consent.",
)


def article_html(n: int, *, title: str | None = None, author: str = "Jane Roe") -> str:
    """A plain opinion article page that the extractor turns into a clean piece."""
    title = title or f"Column number {n} on open contracts"
    paragraphs = "".join(
        f"<p>{escape(s)} Point {n}.{i} makes the case again in other words.</p>"
        for i, s in enumerate(ARTICLE_SENTENCES * 2)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><article><h1>{escape(title)}</h1>"
        f"<p class='byline'>By {escape(author)}</p>{paragraphs}</article></body></html>"
    )


@dataclass
class Item:
    guid: str
    title: str
    link: str | None
    published: datetime | None = None
    description: str | None = None


def rss(items: Iterable[Item], title: str = "Test Opinion") -> bytes:
    parts = [
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>",
        f"<title>{escape(title)}</title><link>https://opinion.test/</link>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<guid isPermaLink='false'>{escape(item.guid)}</guid>")
        if item.title:
            parts.append(f"<title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        if item.description:
            parts.append(f"<description>{escape(item.description)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def dated(n: int) -> datetime:
    """Distinct, past publication times: entry ``n`` is ``n`` hours old."""
    return datetime(2024, 5, 1, 12, tzinfo=UTC) - timedelta(hours=n)


def bot_env(tmp_path: Path, db: Path, **extra: str) -> dict[str, str]:
    """The environment of a real run: nothing inherited from the developer's bot config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_", "COMMENTARY_", "LLM_"))
    }
    env.update(
        COMMENTARY_DATABASE=str(db),
        COMMENTARY_DEMO="false",
        COMMENTARY_ALLOW_PRIVATE_URLS="true",
        COMMENTARY_LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


class BotProcess:
    """``python -m bot <args>`` started with asyncio (the fakes share the test's event loop)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str, name: str = "bot") -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.args = args or ("run",)
        self.stdout_path = tmp_path / f"{name}.out"
        self.stderr_path = tmp_path / f"{name}.err"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *, stdin_pipe: bool = False) -> BotProcess:
        out = open(self.stdout_path, "ab")  # noqa: SIM115 - closed in wait()
        err = open(self.stderr_path, "ab")  # noqa: SIM115
        self._files = (out, err)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *self.args,
            stdin=asyncio.subprocess.PIPE if stdin_pipe else asyncio.subprocess.DEVNULL,
            stdout=out, stderr=err, cwd=self.tmp_path, env=self.env,
        )  # fmt: skip
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the bot."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.proc.wait()
            raise AssertionError(f"the bot did not exit in {timeout}s:\n{self.stderr()}") from None
        finally:
            for f in getattr(self, "_files", ()):
                f.close()
        return code

    async def write(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        await self.proc.stdin.drain()

    def close_stdin(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def ensure_stopped(self) -> None:
        """For finally blocks: never leave a bot running after a failed test."""
        if self.proc is not None and self.proc.returncode is None:
            self.kill()
            with contextlib.suppress(Exception):
                await self.wait(10)


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
                   interval: float = 0.05) -> None:  # fmt: skip
    """Poll ``predicate`` (cheap checks: files, a read-only SQLite query) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def query(db: Path, sql: str, params: Iterable = ()) -> list[tuple]:
    """A short read on its own connection (the bot may be writing: WAL lets us read)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()


def scalar(db: Path, sql: str, params: Iterable = ()) -> object:
    rows = query(db, sql, params)
    return rows[0][0] if rows else None
