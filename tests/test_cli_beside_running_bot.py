"""The command line beside a running bot: what `sources add/remove` does, the bot follows.

A real `commentary-bot run --console` process and real `commentary-bot sources ...` commands
share one database; the feed is served on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tests.cli_helpers import cli_env
from tests.httpserver import LocalHTTPServer

RSS_TYPE = {"Content-Type": "application/rss+xml"}
PICKUP_SECONDS = 10.0  # the bound: one scheduler tick of the running bot


def feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Column {n}</title><link>{base}/column-{n}</link><guid>col-{n}</guid>"
        f"<description><![CDATA[<p>{'The council must act on the housing plan now. ' * 30}"
        f"</p>]]></description></item>"
        for n in (1, 2)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Live Columns</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


async def cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=cli_env(tmp_path, COMMENTARY_DEMO="false"),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    return proc.returncode or 0, out.decode(), err.decode()


async def read_until(stream: asyncio.StreamReader, needle: str, timeout: float) -> str:
    """Lines from the bot's terminal chat until one contains ``needle``."""
    seen: list[str] = []

    async def scan() -> str:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("the bot exited; it said:\n" + "".join(seen))
            seen.append(line)
            if needle in line:
                return line

    try:
        return await asyncio.wait_for(scan(), timeout)
    except TimeoutError:
        said = "".join(seen)
        raise AssertionError(f"no {needle!r} within {timeout}s; the bot said:\n{said}") from None


async def test_cli_add_is_polled_and_cli_remove_tells_the_chats(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/feed.xml", feed(http_server.base), headers=RSS_TYPE)
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=cli_env(tmp_path, COMMENTARY_DEMO="false"),
    )
    assert bot.stdin is not None and bot.stdout is not None
    try:
        # The terminal chat answers: the bot (and its scheduler) is running.
        bot.stdin.write(b"/sources\n")
        await read_until(bot.stdout, "no sources", 60)

        code, out, err = await cli(
            tmp_path, "sources", "add", http_server.url("/feed.xml"), "--name", "live"
        )
        assert code == 0, err
        assert "Added live" in out
        # The command fetched the feed once; the running bot's own poll is the second request
        # (it may come before the command has even exited).
        added_at = time.monotonic()
        while http_server.hits["/feed.xml"] < 2:
            assert time.monotonic() - added_at < PICKUP_SECONDS, "the running bot never polled it"
            await asyncio.sleep(0.1)

        bot.stdin.write(b"/subscribe live\n")
        await read_until(bot.stdout, "live", 30)
        code, out, err = await cli(tmp_path, "sources", "remove", "live")
        assert code == 0, err
        assert "Removed live. 1 chat(s) will be told." in out
        notice = await read_until(bot.stdout, "no longer followed", PICKUP_SECONDS)
        assert "The source live is no longer followed" in notice

        bot.stdin.close()  # end of input: the terminal chat drains and exits
        assert await asyncio.wait_for(bot.wait(), 60) == 0
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
