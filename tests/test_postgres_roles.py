"""``run --role``: processes that only poll, send or answer, on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.database_url import PostgresURL
from storage.postgres import PostgresStore
from tests.cli_helpers import ROOT, cli_env, run_cli
from tests.httpserver import LocalHTTPServer
from tests.test_ingest_support import HTML_TYPE, RSS_TYPE, article_page, item, prose, rss


def test_send_and_chat_roles_need_a_platform(tmp_path: Path) -> None:
    for role in ("deliver", "chat"):
        done = run_cli(tmp_path, "run", "--role", role)
        assert done.returncode == 2
        assert f"--role {role} needs TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN" in done.stderr
    wrong = run_cli(tmp_path, "run", "--role", "everything")
    assert wrong.returncode == 2 and "everything" in wrong.stderr


async def test_two_ingest_processes_share_the_polling(
    pg_url: PostgresURL, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    feeds = 6
    for n in range(feeds):
        it = item(http_server.base, n)
        http_server.add(f"/f{n}.xml", rss([it], title=f"Feed {n}"), headers=RSS_TYPE)
        page = article_page(it.title or "", prose(n))
        http_server.add(it.link.removeprefix(http_server.base), page, headers=HTML_TYPE)
    store = await PostgresStore.open(pg_url, max_connections=2)
    try:
        for n in range(feeds):
            await store.add_source(f"f{n}", http_server.url(f"/f{n}.xml"))
        env = cli_env(
            tmp_path,
            COMMENTARY_DATABASE=pg_url.secret_conninfo(),
            COMMENTARY_ALLOW_PRIVATE_URLS="true",
            COMMENTARY_DEMO="false",
        )
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--role",
                "ingest",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            for _ in range(2)
        ]
        try:
            deadline = asyncio.get_running_loop().time() + 90
            while await store.count_pieces() < feeds:
                assert asyncio.get_running_loop().time() < deadline, "feeds not polled"
                await asyncio.sleep(0.2)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            outputs = [await proc.communicate() for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outputs
        assert [len(http_server.requests_for(f"/f{n}.xml")) for n in range(feeds)] == [1] * feeds
        assert await store.count_deliveries() == 0  # nobody subscribed; nothing to send
        assert await store.count_chats(active_only=False) == 0  # no terminal chat either
    finally:
        await store.aclose()
