"""The small things an operator met on the first day (#15), each pinned by a test."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.console import ConsoleAdapter
from bot.adapters.discord import DiscordAdapter
from bot.app import DEMO_SOURCE, ensure_demo_source
from bot.delivery.worker import DeliveryWorker
from bot.messages import card_for
from bot.types import Piece
from handlers.registry import command_table
from tests.cli_helpers import cli_env, run_cli
from tests.factories import add_piece, open_core
from tests.fakes.discord_api import FakeDiscord
from tests.handler_support import OWNERS, chat_of, owner_says, say
from tests.httpserver import LocalHTTPServer
from tests.test_delivery_worker import RecordingSender, run_until_idle

ARGUMENT = (
    "The city wants to sell the old library to a developer and move the books to a mall. "
    "A library is a public room, not a shelf of stock, and a mall closes at nine. "
    "The council should keep the building and let the neighbourhood run it as a trust. "
)


def article_page() -> bytes:
    paragraphs = "".join(f"<p>{ARGUMENT} Paragraph {i}.</p>" for i in range(6))
    return (
        "<html><head><title>Keep the old library</title></head><body><article>"
        f"<h1>Keep the old library</h1>{paragraphs}</article></body></html>"
    ).encode()


# --- quiet hours ---------------------------------------------------------------------------------
async def test_quiet_off_releases_held_posts_and_why_stops_saying_held(tmp_path: Path) -> None:
    async with open_core(tmp_path, commentary_owners=OWNERS) as core:
        chat = await chat_of(core, "chat-q")
        source = await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        await core.services.store.add_subscription(chat.id, "source", "demo", source_id=source.id)
        now = datetime.now(UTC)
        quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
        await say(core, "settings", f"quiet {quiet}", chat="chat-q")
        url = "https://example.com/opinion/quiet-one"
        await add_piece(core, url=url, title="A column at night")
        sender = RecordingSender()
        sender.platform = "console"  # the handlers' chats are console chats
        worker = DeliveryWorker(core.services.store, sender)
        await run_until_idle(worker)
        assert sender.posts == []
        held = (await say(core, "why", url, chat="chat-q")).plain_text()
        changed = (await say(core, "settings", "quiet off", chat="chat-q")).plain_text()
        why = (await say(core, "why", url, chat="chat-q")).plain_text()
        await run_until_idle(worker)
    assert "held until" in held and "quiet hours" in held
    assert changed == "Quiet hours are off. The 1 held post will be posted now."
    assert "held" not in why and "quiet hours" not in why and "Queued" in why
    assert [chat_id for chat_id, _ in sender.posts] == ["chat-q"]


# --- /summary is a post like any other ---------------------------------------------------------
async def console_session(core, lines: list[str]) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.chat()
    for line in lines:
        await console.answer(line)
    return out.getvalue()


async def test_summary_answer_takes_reply_commands(tmp_path: Path) -> None:
    async with LocalHTTPServer() as server:
        server.add("/library", body=article_page(), headers={"Content-Type": "text/html"})
        async with open_core(tmp_path) as core:
            out = await console_session(
                core, [f"/summary {server.url('/library')}", "> /more", "> /full"]
            )
            stored = await core.services.store.latest_pieces(5)
    assert "not one of my posts" not in out
    assert "[m1] Keep the old library" in out and "(reply with: >m1 /more" in out
    assert "[m2] Keep the old library" in out  # /more answered on the summary's piece
    assert out.count("Paragraph 5.") >= 1  # /full shows the whole text
    assert [p.title for p in stored] == ["Keep the old library"]
    assert await core_deliveries(tmp_path) == 0  # stored, posted nowhere


async def test_summary_answers_stay_out_of_other_chats_until_a_source_publishes_them(
    tmp_path: Path,
) -> None:
    async with LocalHTTPServer() as server:
        server.add("/library", body=article_page(), headers={"Content-Type": "text/html"})
        feed = (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>Town Views</title>"
            f"<item><title>Keep the old library</title><link>{server.url('/library')}</link>"
            "<guid>library-1</guid></item></channel></rss>"
        )
        server.add("/feed.xml", body=feed.encode(), headers={"Content-Type": "application/rss+xml"})
        async with open_core(tmp_path) as core:
            asked = await say(core, "summary", server.url("/library"), chat="asker")
            assert "Keep the old library" in asked.plain_text()
            read = {
                chat: [
                    (await say(core, "latest", chat=chat)).plain_text(),
                    (await say(core, "search", "library", chat=chat)).plain_text(),
                ]
                for chat in ("asker", "stranger")
            }
            backfill = await say(core, "subscribe", "keyword library last 3", chat="stranger")
            await core.add_source(server.url("/feed.xml"), name="town")
            published = (await say(core, "latest", chat="stranger")).plain_text()
    # The chat that asked finds its answer again; another chat does not see it...
    assert all("Keep the old library" in text for text in read["asker"])
    assert read["stranger"][0].startswith("No pieces yet")
    assert read["stranger"][1] == "Nothing found for 'library'."
    assert "no earlier pieces" in backfill.plain_text()  # nor posted by a new subscription
    # ...until a source the bot follows publishes the same article.
    assert "Keep the old library" in published


async def core_deliveries(tmp_path: Path) -> int:
    async with open_core(tmp_path) as core:
        return await core.services.store.count_deliveries()


async def test_summary_rate_limit_says_when_and_spares_owners(tmp_path: Path) -> None:
    async with LocalHTTPServer() as server:
        server.add("/library", body=article_page(), headers={"Content-Type": "text/html"})
        url = server.url("/library")
        async with open_core(
            tmp_path, commentary_owners=OWNERS, commentary_summaries_per_user_per_hour=1
        ) as core:
            first = await say(core, "summary", url)
            second = await say(core, "summary", url)
            owner = [await owner_says(core, "summary", url) for _ in range(3)]
    assert not first.is_error
    assert second.is_error and "try again in 1h" in second.plain_text()
    assert not any(r.is_error for r in owner)


# --- the demo source ---------------------------------------------------------------------------
async def test_demo_is_offered_once_and_stays_removed(tmp_path: Path) -> None:
    async with open_core(tmp_path, commentary_demo=None, commentary_owners=OWNERS) as core:
        assert await ensure_demo_source(core)
        assert "Removed demo" in (await owner_says(core, "removesource", "demo")).plain_text()
        assert not await ensure_demo_source(core)  # the next start
        assert await core.services.store.get_source(DEMO_SOURCE) is None


async def test_demo_steps_aside_for_the_first_real_source(tmp_path: Path) -> None:
    async with open_core(tmp_path, commentary_demo=None) as core:
        assert await ensure_demo_source(core)  # a fresh database: the newcomer's demo
        await core.services.store.add_source(
            "real", "https://real.example/feed.xml", added_by="cli"
        )
        assert not await ensure_demo_source(core)  # the next start
        names = [s.name for s in await core.services.store.list_sources()]
    assert names == ["real"]


async def test_demo_true_keeps_it_next_to_real_sources(tmp_path: Path) -> None:
    async with open_core(tmp_path, commentary_demo=True) as core:
        await core.services.store.add_source(
            "real", "https://real.example/feed.xml", added_by="cli"
        )
        assert await ensure_demo_source(core)
        assert await ensure_demo_source(core)
        names = sorted(s.name for s in await core.services.store.list_sources())
    assert names == ["demo", "real"]


# --- the terminal chat ---------------------------------------------------------------------------
async def test_console_ids_go_on_after_a_session_with_no_posts(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        first = await console_session(core, ["/help"])
        second = await console_session(core, ["/help"])
    assert first.startswith("[m1] ")
    assert second.startswith("[m2] ")


def test_quit_ends_the_terminal_chat_and_the_database_is_named(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "run",
        "--console",
        stdin="/sources\n/quit\n/help\n",
        COMMENTARY_DEMO="false",
        COMMENTARY_LOG_LEVEL="INFO",
    )
    assert result.returncode == 0, result.stderr
    assert "No sources" in result.stdout or "sources" in result.stdout.lower()
    assert "/latest" not in result.stdout  # /help came after /quit
    assert f"database {tmp_path / 'cli.db'}" in result.stderr


# --- settings, help, database path ---------------------------------------------------------------
async def test_language_accepts_only_real_codes(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        bad = await say(core, "settings", "language xx")
        good = await say(core, "settings", "language de")
        old = await say(core, "settings", "language iw")
        chat = await chat_of(core)
    assert bad.is_error and "not a language; give its two-letter code" in bad.plain_text()
    assert not good.is_error
    assert old.plain_text() == "Only pieces in language he come here."
    assert chat.settings.language == "he"


def test_help_shows_flags_without_types_and_names_the_database(tmp_path: Path) -> None:
    top = run_cli(tmp_path, "--help", COLUMNS="100")
    run = run_cli(tmp_path, "run", "--help", COLUMNS="100")
    assert top.returncode == 0 and run.returncode == 0
    assert "<bool>" not in top.stdout + run.stdout
    assert "--console" in top.stdout and "--console" in run.stdout
    assert "commentary.db unless COMMENTARY_DATABASE" in " ".join(top.stdout.split())


def test_database_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.db"
    result = run_cli(tmp_path, "status", COMMENTARY_DATABASE=str(target))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_fresh_machine_starts_the_demo_in_the_default_database_folder(tmp_path: Path) -> None:
    # No COMMENTARY_DATABASE and a home with no data folder yet, as on a newcomer's machine.
    env = cli_env(tmp_path, HOME=str(tmp_path / "home"))
    env.pop("COMMENTARY_DATABASE")
    env.pop("XDG_DATA_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--console"],
        input="/sources\n",
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout
    assert (tmp_path / "home" / ".local" / "share" / "commentary-bot" / "commentary.db").exists()


def test_also_in_names_each_other_outlet_once() -> None:
    piece = Piece(
        id=1,
        url="https://own.example/a",
        title="T",
        text="x",
        outlet="Own Outlet",
        also_in=[
            ("Other Outlet", "https://other.example/a"),
            ("Other Outlet", "https://other.example/print/a"),
            ("own outlet", "https://own.example/amp/a"),
            ("Third", "https://third.example/a"),
        ],
    )
    card = card_for(piece)
    assert card.also_in == [
        ("Other Outlet", "https://other.example/a"),
        ("Third", "https://third.example/a"),
    ]


# --- Discord start-up ----------------------------------------------------------------------------
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gops.discord-ops-token-do-not-log"


async def test_discord_starts_without_voice_warnings_and_reports_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh process: discord.py warns once per process, and earlier tests used it up.
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True, raising=False)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True, raising=False)
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        async with FakeDiscord(token=DISCORD_TOKEN, heartbeat_ms=45_000) as fake:
            async with open_core(
                tmp_path,
                discord_bot_token=DISCORD_TOKEN,
                discord_api_base_url=fake.api_base,
                discord_gateway_url=fake.gateway_url,
            ) as core:
                adapter = DiscordAdapter(core, command_table(), guild_ready_timeout=0.05)
                with caplog.at_level(logging.WARNING):
                    await adapter.start()
                    await adapter.wait_ready(10)
                healthy = await core.health()
                assert adapter.client is not None
                await adapter.client.close()
                broken = await core.health()
                await adapter.stop()
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
    assert not [r for r in caplog.records if "voice will NOT be supported" in r.getMessage()]
    assert healthy == []
    assert "discord: not connected" in broken
