"""What operators watch: `status`, /status, /healthz and /metrics, JSON logs, CLI progress.

The endpoint tests start the real bot: the terminal chat in a subprocess, and the Telegram
adapter (python-telegram-bot against the fake Bot API) through ``run_bot``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import sys
from pathlib import Path

import aiohttp

from bot.app import open_core as open_app_core
from bot.app import run_bot
from bot.core import Core
from bot.delivery.errors import DeliveryError, PermanentError
from bot.delivery.worker import DeliveryWorker
from bot.endpoint import OpsEndpoint
from tests.cli_helpers import cli_env, run_cli
from tests.factories import add_piece, make_settings, open_core
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.handler_support import OWNERS, owner_says
from tests.httpserver import LocalHTTPServer
from tests.test_delivery_worker import RecordingSender, run_until_idle, subscribe_chats

TOKEN = "777000:AAH-ops-SECRET-token-never-logged_42"

ARGUMENT = (
    "The ferry across the estuary carries four hundred people a day. The council wants to "
    "stop it next spring and wait for a bridge that has not been designed yet. That would cut "
    "the north shore off from its schools and its clinic for years. The ferry should keep "
    "running until the bridge opens, and the council should say so before the budget vote."
)


def feed(article_url: str) -> str:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Harbour "
        "Views</title><link>https://example.org/</link><item><title>Keep the ferry</title>"
        f"<link>{article_url}</link><guid>ferry-1</guid></item></channel></rss>"
    )


def article() -> str:
    body = "".join(f"<p>{ARGUMENT}</p>" for _ in range(3))
    return (
        "<html><head><title>Keep the ferry</title></head><body><article><h1>Keep the ferry"
        f"</h1>{body}</article></body></html>"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format (labels in any order)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        found_name, _, rest = head.partition("{")
        if found_name != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


async def seed(core: Core) -> None:
    """Three sources in three states, and one message each sent, retried and failed."""
    broken = await core.services.store.add_source("broken", "https://broken.example/feed.xml")
    await core.services.store.record_fetch_error(broken.id, "HTTP 500 from broken.example")
    # An entry of a working source given up after its last try (the poller's path does this).
    fine = await core.services.store.add_source("fine", "https://fine.example/feed.xml")
    link = "https://fine.example/opinion/never-loads"
    for _ in range(3):
        await core.services.store.record_entry_failure(
            fine.id, link, label=link, error="HTTP 500 from fine.example"
        )
    await core.services.store.give_up_entry(fine.id, link)
    held = await core.services.store.add_source("held", "https://held.example/feed.xml")
    await core.services.store.update_source(
        held.id, paused=True, paused_reason="paused by an owner"
    )
    await subscribe_chats(core, 3, source="fine")
    await add_piece(core, source="fine", title="Three chats follow this")
    sender = RecordingSender()
    sender.failures = [DeliveryError("timed out"), PermanentError("message too long")]
    worker = DeliveryWorker(core.services.store, sender, metrics=core.metrics)
    await run_until_idle(worker)
    await core.record_start()


# --- status: one core method, two renderings ----------------------------------------------------
async def test_status_counts_sent_failed_and_retried_messages(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        await seed(core)
        report = await core.status()
        metrics = core.metrics.render().decode()
    assert (report.last_hour.sent, report.last_hour.failed, report.last_hour.retried) == (1, 1, 1)
    assert (report.last_day.sent, report.last_day.failed, report.last_day.retried) == (1, 1, 1)
    [fake] = report.outbox
    assert (fake.platform, fake.pending, fake.failed) == ("fake", 1, 1)  # the retry waits
    assert fake.oldest_pending_at is not None and report.oldest_pending_at == fake.oldest_pending_at
    assert report.by_state == {"failing": 1, "paused": 1, "new": 1}
    assert report.database_bytes > 0 and report.database_path.endswith("test.db")
    assert report.running
    for outcome in ("sent", "retry", "failed"):
        assert metric(metrics, "commentary_deliveries_total", platform="fake", outcome=outcome) == 1
    assert metric(metrics, "commentary_send_seconds_count", platform="fake") == 3


def _without_times(text: str) -> str:
    """Relative times differ by the seconds between two readings, and the file's size by the
    write-ahead log checkpointed at close; the facts must not differ."""
    text = re.sub(r"\(\d+(\.\d)? [KMG]?B\)", "(SIZE)", text)
    return re.sub(r"\b(\d+[dhms])+\b", "T", text)


async def test_cli_status_and_chat_status_agree(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, commentary_owners=OWNERS)
    async with open_app_core(settings) as core:
        await seed(core)
        chat_text = (await owner_says(core, "status")).plain_text()
        core_json = (await core.status()).to_json()
    db = str(settings.commentary_database)
    as_json = run_cli(tmp_path, "status", "--format", "json", COMMENTARY_DATABASE=db)
    as_text = run_cli(tmp_path, "status", COMMENTARY_DATABASE=db)
    assert as_json.returncode == 0 and as_text.returncode == 0, as_json.stderr + as_text.stderr
    cli_json = json.loads(as_json.stdout)
    for volatile in ("generated_at", "stopped_at", "database"):
        cli_json.pop(volatile), core_json.pop(volatile)
    assert cli_json == core_json
    assert _without_times(as_text.stdout.strip()) == _without_times(chat_text.strip())
    assert "Failing:\n• broken" in chat_text and "HTTP 500 from broken.example" in chat_text
    assert "Paused:\n• held: every 30m (paused by an owner)" in chat_text
    assert "Outbox: fake: 1 pending, 1 failed, oldest waiting" in chat_text
    assert "Messages in the last hour: 1 sent, 1 failed, 1 retried" in chat_text
    assert f"Database: {db} (" in chat_text
    assert "Entries skipped in the last 7 days" in chat_text
    assert "• fine: https://fine.example/opinion/never-loads, after 3 tries" in chat_text
    [skipped] = cli_json["skipped_entries"]
    assert (skipped["source"], skipped["tries"]) == ("fine", 3)
    assert skipped["last_error"] == "HTTP 500 from fine.example" and skipped["gave_up_at"]


def test_status_on_a_fresh_database_says_so(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The bot has not been started on this database yet.")
    assert "0 sources, 0 pieces" in result.stdout and "Outbox: empty." in result.stdout


# --- /healthz and /metrics on the running bot ---------------------------------------------------
async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with session.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def test_terminal_bot_serves_healthz_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    async with LocalHTTPServer() as server:
        server.add(
            "/feed.xml",
            body=feed(server.url("/opinion/ferry")).encode(),
            headers={"Content-Type": "application/rss+xml"},
        )
        server.add("/opinion/ferry", body=article().encode(), headers={"Content-Type": "text/html"})
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "harbour"\nurl = "{server.url("/feed.xml")}"\ninterval = "30m"\n'
        )
        env = cli_env(
            tmp_path,
            COMMENTARY_HTTP_PORT=str(port),
            COMMENTARY_SOURCES=str(sources),
            COMMENTARY_DEMO="false",
            COMMENTARY_ALLOW_PRIVATE_URLS="true",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--console",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=tmp_path, env=env,
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as session:
                base = f"http://127.0.0.1:{port}"
                health = None
                for _ in range(300):  # the bot starts in a few seconds; allow a loaded machine
                    try:
                        health = await _get(session, base + "/healthz")
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
                        continue
                    if server.hits["/feed.xml"]:
                        break
                    await asyncio.sleep(0.1)
                assert health is not None and health[:2] == (200, "ok\n")
                for _ in range(100):  # the first poll is counted when it completes
                    status, text, ctype = await _get(session, base + "/metrics")
                    if metric(text, "commentary_polls_total", status="ok"):
                        break
                    await asyncio.sleep(0.1)
        finally:
            out, err = await asyncio.wait_for(proc.communicate(b"/sources\n"), 60)
    assert status == 200 and ctype.startswith("text/plain")
    assert metric(text, "commentary_polls_total", status="ok") == 1
    assert metric(text, "commentary_pieces_total") == 1
    assert metric(text, "commentary_poll_seconds_count") == 1
    assert "commentary_poll_seconds_bucket" in text and "commentary_send_seconds" in text
    assert proc.returncode == 0, err.decode()
    assert "harbour" in out.decode()


async def test_telegram_bot_health_turns_503_with_the_reason(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, telegram_bot_token=TOKEN, commentary_http_port=0, commentary_owners=OWNERS
    )
    ready: asyncio.Future[tuple[Core, OpsEndpoint]] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    async with FakeTelegramAPI(TOKEN, bot_username="OpsBot") as fake:
        settings.telegram_api_base_url = fake.base_url
        ann = fake.add_user(10, "Ann")
        fake.add_private(ann)
        bot = asyncio.create_task(
            run_bot(settings, stop=stop, on_ready=lambda c, e: ready.set_result((c, e)))
        )
        try:
            core, endpoint = await asyncio.wait_for(ready, 30)
            base = f"http://127.0.0.1:{endpoint.port}"
            async with aiohttp.ClientSession() as session:
                assert await _get(session, base + "/healthz") == (200, "ok\n", _TEXT)
                chat = await core.services.store.ensure_chat("telegram", "10")
                source = await core.services.store.add_source("ops", "https://ops.example/feed.xml")
                await core.services.store.add_subscription(
                    chat.id, "source", "ops", source_id=source.id
                )
                fake.fail_next(
                    "sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1}
                )
                await add_piece(core, source="ops", title="Counted once")
                await fake.wait_sent(1, chat_id=10, timeout=30)
                for _ in range(100):
                    _, text, _ = await _get(session, base + "/metrics")
                    if metric(text, "commentary_deliveries_total", outcome="sent"):
                        break
                    await asyncio.sleep(0.05)
                adapter = core.started_platforms["telegram"].adapter  # type: ignore[attr-defined]
                await adapter.application.updater.stop()
                status, body, _ = await _get(session, base + "/healthz")
        finally:
            stop.set()
            await asyncio.wait_for(bot, 30)
    assert metric(text, "commentary_rate_limited_total", platform="telegram") == 1
    assert metric(text, "commentary_deliveries_total", platform="telegram", outcome="sent") == 1
    assert metric(text, "commentary_send_seconds_count", platform="telegram") == 2
    assert metric(text, "commentary_outbox_depth", platform="telegram", state="pending") is None
    assert (status, body) == (503, "unhealthy: telegram: not receiving updates\n")
    assert TOKEN not in text and TOKEN not in body


_TEXT = "text/plain; charset=utf-8"


async def test_healthz_names_a_database_that_does_not_answer(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        assert await core.health() == []
        core.services.store.sync.db.conn.close()  # what a vanished or broken database looks like
        problems = await core.health()
        # A fresh connection, so closing the core at the end of the test works.
        core.services.store.sync.db.conn = sqlite3.connect(":memory:", check_same_thread=False)
    assert len(problems) == 1 and problems[0].startswith("database: ")


async def test_outbox_depth_gauge_reads_the_database(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        await subscribe_chats(core, 2)
        await add_piece(core)
        await core.refresh_queue_metrics()
        text = core.metrics.render().decode()
    assert metric(text, "commentary_outbox_depth", platform="fake", state="pending") == 2


# --- JSON logs -----------------------------------------------------------------------------------
async def test_json_logs_are_one_object_a_line_and_never_carry_the_token(tmp_path: Path) -> None:
    async with FakeTelegramAPI(TOKEN, bot_username="OpsBot") as fake:
        env = cli_env(
            tmp_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.base_url,
            COMMENTARY_LOG_FORMAT="json",
            COMMENTARY_LOG_LEVEL="DEBUG",  # PTB logs its API URLs, token included, at DEBUG
            COMMENTARY_DEMO="false",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert proc.stderr is not None
        lines: list[bytes] = []
        try:
            while True:
                line = await asyncio.wait_for(proc.stderr.readline(), 60)
                assert line, b"".join(lines).decode()
                lines.append(line)
                if b"running on telegram" in line:
                    break
        finally:
            proc.terminate()
            rest, _ = await asyncio.wait_for(proc.communicate(), 60)
    stderr = (b"".join(lines) + rest).decode()
    assert proc.returncode == 0, stderr
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert len(records) >= 3
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["message"].startswith("running on telegram") for r in records)


async def test_json_logs_redact_a_secret_met_in_a_url(tmp_path: Path) -> None:
    secret = "sk-ops-4f9a8b7c6d5e4f3a2b1c"
    async with LocalHTTPServer() as server:
        # The article link carries the secret (as some feeds' tracking links carry keys) and
        # fails, so the poller logs it.
        server.add(
            "/feed.xml",
            body=feed(server.url(f"/gone?key={secret}")).encode(),
            headers={"Content-Type": "application/rss+xml"},
        )
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[[source]]\nname = "harbour"\nurl = "{server.url("/feed.xml")}"\n')
        result = await asyncio.to_thread(
            run_cli,
            tmp_path,
            "fetch",
            COMMENTARY_SOURCES=str(sources),
            COMMENTARY_LOG_FORMAT="json",
            LLM_API_KEY=secret,
            COMMENTARY_ALLOW_PRIVATE_URLS="true",
        )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stderr and secret not in result.stdout
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert any("gone?key=[redacted]" in r["message"] for r in records), result.stderr


def test_json_formatter_redacts_messages_and_tracebacks() -> None:
    import logging

    from bot.logs import JsonFormatter, install_redaction

    secret = "sk-live-ops-0123456789abcdef"
    install_redaction([secret])
    logger = logging.getLogger("tests.ops")
    try:
        raise RuntimeError(f"the server said no to {secret}")
    except RuntimeError:
        record = logger.makeRecord(
            "tests.ops", logging.ERROR, __file__, 1, "key %s failed", (secret,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line and secret not in line
    assert data["message"] == "key [redacted] failed" and "RuntimeError" in data["exception"]


# --- progress: a bar on a terminal, nothing when piped ------------------------------------------
def _opml(count: int) -> str:
    outlines = "".join(
        f'<outline type="rss" text="Outlet {i}" xmlUrl="https://outlet{i}.example/feed.xml"/>'
        for i in range(count)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'


def test_import_piped_prints_only_the_summary(tmp_path: Path) -> None:
    opml = tmp_path / "many.opml"
    opml.write_text(_opml(300))
    result = run_cli(tmp_path, "sources", "import", str(opml))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Imported 300 source(s), skipped 0 already present.\n"
    assert result.stderr == ""


def test_import_on_a_terminal_shows_progress(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess

    opml = tmp_path / "many.opml"
    opml.write_text(_opml(300))
    leader, follower = pty.openpty()
    env = cli_env(tmp_path, TERM="xterm", COLUMNS="100")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sources", "import", str(opml)],
        stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL, cwd=tmp_path, env=env,
    )  # fmt: skip
    os.close(follower)
    out, _ = proc.communicate(timeout=90)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert out == b"Imported 300 source(s), skipped 0 already present.\n"
    assert b"importing" in seen and b"/300" in seen
