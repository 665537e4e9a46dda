"""Secrets never leak: bot tokens and the LLM key stay out of logs, replies and the database.

The errors are forced for real: the fake Bot API answers 401 to a wrong token, the fake Discord
refuses its login, a fake OpenAI-compatible endpoint answers 401 quoting the key back (as the
real one does) or drops the connection, and platform URLs point at closed ports. Each secret is
then searched for in the subprocess's stderr and stdout, in caplog, in every reply, and in the
bytes of the database files (main file and WAL).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.adapters.telegram import TelegramAdapter
from bot.app import open_core
from bot.messages import Request
from handlers.registry import command_table
from tests.factories import make_settings
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.httpserver import LocalHTTPServer
from tests.support.reliability import BotProcess, Item, article_html, bot_env, dated, rss

REAL_TELEGRAM = "123456789:AAHreal-telegram-token-SECRET-abcdefghij"
WRONG_TELEGRAM = "987654321:AAHwrong-telegram-token-SECRET-klmnopqrs"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GdIsc0.discord-SECRET-token-xyz_0123456789"
LLM_KEY = "sk-live-SECRET-llm-key-0123456789abcdef"
WEBHOOK_SECRET = "webhook-SECRET-value-42"
SECRETS = (REAL_TELEGRAM, WRONG_TELEGRAM, DISCORD, LLM_KEY, WEBHOOK_SECRET)


def leaks(text: str | bytes) -> list[str]:
    """The secrets (or their distinctive halves) found in ``text``."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    found = []
    for secret in SECRETS:
        pieces = {secret, secret.split(":")[-1], secret[len(secret) // 2 :]}
        if any(p.encode() in data for p in pieces):
            found.append(secret)
    return found


def database_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def fake_llm() -> AsyncIterator[dict[str, Any]]:
    """An OpenAI-compatible endpoint that fails like the real one: 401 quoting the key."""
    state: dict[str, Any] = {"mode": "401", "calls": 0}

    async def completions(request: web.Request) -> web.StreamResponse:
        state["calls"] += 1
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if state["mode"] == "close":
            assert request.transport is not None
            request.transport.close()  # the connection drops without an answer
            await asyncio.sleep(0.1)
            return web.Response(status=500)
        return web.json_response(
            {
                "error": {
                    "message": f"Incorrect API key provided: {key}.",
                    "code": "invalid_api_key",
                }
            },
            status=401,
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


def serve_article_feed(server: LocalHTTPServer) -> str:
    items = [Item("s1", "Column on open contracts", server.url("/a/1"), dated(1))]
    server.add("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
    server.add("/a/1", article_html(1).encode(), headers={"Content-Type": "text/html"})
    return server.url("/feed.xml")


def secret_env(**extra: str) -> dict[str, str]:
    return {"LLM_API_KEY": LLM_KEY, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, **extra}


# --------------------------------------------------------------------------- subprocess runs


async def test_wrong_telegram_token_fails_without_quoting_it(tmp_path: Path) -> None:
    async with FakeTelegramAPI(REAL_TELEGRAM) as fake:
        db = tmp_path / "bot.db"
        env = bot_env(tmp_path, db, TELEGRAM_BOT_TOKEN=WRONG_TELEGRAM,
                      TELEGRAM_API_BASE_URL=fake.base_url, **secret_env())  # fmt: skip
        bot = await BotProcess(tmp_path, env, "run", name="wrong-token").start()
        try:
            code = await bot.wait(45)
        finally:
            await bot.ensure_stopped()
        assert [c[0] for c in fake.calls] == [] or all(c[0] == "getMe" for c in fake.calls)
    err = bot.stderr()
    assert code != 0
    assert "TELEGRAM_BOT_TOKEN" in err  # the operator learns which setting is wrong
    assert leaks(err + bot.stdout()) == []
    if db.exists():
        assert leaks(database_bytes(db)) == []


@pytest.mark.parametrize(
    "failure", ["telegram-unreachable", "discord-refused", "discord-unreachable"]
)
async def test_platform_errors_never_print_tokens(tmp_path: Path, failure: str) -> None:
    db = tmp_path / "bot.db"
    port = closed_port()
    async with FakeDiscord(token="the-right-discord-token") as discord_fake:
        platform_env = {
            "telegram-unreachable": {
                "TELEGRAM_BOT_TOKEN": REAL_TELEGRAM,
                "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            },
            "discord-refused": {
                "DISCORD_BOT_TOKEN": DISCORD,
                "DISCORD_API_BASE_URL": discord_fake.api_base,
                "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
            },
            "discord-unreachable": {
                "DISCORD_BOT_TOKEN": DISCORD,
                "DISCORD_API_BASE_URL": f"http://127.0.0.1:{port}/api/v10",
                "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/gateway",
            },
        }[failure]
        env = bot_env(tmp_path, db, **secret_env(**platform_env))
        bot = await BotProcess(tmp_path, env, "run", name=failure).start()
        try:
            try:
                code: int | None = await bot.wait(25)
            except AssertionError:  # still retrying after 25 s: stop it like an operator
                code = None
        finally:
            await bot.ensure_stopped()
    out = bot.stderr() + bot.stdout()
    assert code != 0 or code is None
    assert out.strip(), "a failing start must say something"
    assert leaks(out) == [], out[-3000:]
    if db.exists():
        assert leaks(database_bytes(db)) == []


@pytest.mark.parametrize("mode", ["401", "close"])
async def test_llm_errors_keep_the_key_out_of_logs_and_database(
    tmp_path: Path, http_server: LocalHTTPServer, fake_llm: dict[str, Any], mode: str
) -> None:
    fake_llm["mode"] = mode
    feed_url = serve_article_feed(http_server)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "op"\nurl = "{feed_url}"\n', encoding="utf-8")
    db = tmp_path / "bot.db"
    env = bot_env(
        tmp_path, db, COMMENTARY_SOURCES=str(sources), LLM_BASE_URL=fake_llm["url"],
        LLM_MODEL="tiny", COMMENTARY_LOG_LEVEL="DEBUG",
        **secret_env(TELEGRAM_BOT_TOKEN=REAL_TELEGRAM, DISCORD_BOT_TOKEN=DISCORD),
    )  # fmt: skip
    bot = await BotProcess(tmp_path, env, "fetch", "--format", "json", name="fetch").start()
    try:
        code = await bot.wait(60)
    finally:
        await bot.ensure_stopped()
    err, out = bot.stderr(), bot.stdout()
    assert code == 0, err
    assert fake_llm["calls"] >= 1  # the LLM really was asked, and failed
    assert "LLM summary not used" in err  # the failure is logged ...
    assert leaks(err + out) == [], err[-3000:]  # ... without the key, even at DEBUG
    assert '"new": 1' in out
    assert leaks(database_bytes(db)) == []


# --------------------------------------------------------------------------- in-process


async def test_in_process_errors_and_replies_carry_no_secret(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    fake_llm: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    http_server.add("/col", article_html(5).encode(), headers={"Content-Type": "text/html"})
    settings = make_settings(
        tmp_path,
        llm_base_url=fake_llm["url"],
        llm_api_key=LLM_KEY,
        telegram_bot_token=WRONG_TELEGRAM,
        discord_bot_token=DISCORD,
        telegram_webhook_secret=WEBHOOK_SECRET,
        commentary_owners="console:operator",
    )
    replies: list[str] = []
    async with FakeTelegramAPI(REAL_TELEGRAM) as fake:
        settings.telegram_api_base_url = fake.base_url
        async with open_core(settings) as core:
            for mode in ("401", "close"):
                fake_llm["mode"] = mode
                response = await core.handle(
                    Request(platform="console", chat_id="t", user_id="operator",
                            command="summary", args=http_server.url("/col"))
                )  # fmt: skip
                assert not response.is_error, response.plain_text()
                replies.append(response.plain_text())
            # Errors users see: a fetch failure and an unreachable source.
            for args in (http_server.url("/missing"), f"http://127.0.0.1:{closed_port()}/x"):
                response = await core.handle(
                    Request(platform="console", chat_id="t", user_id="operator",
                            command="summary", args=args)
                )  # fmt: skip
                assert response.is_error
                replies.append(response.plain_text())
            adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
            with pytest.raises(RuntimeError) as info:
                await adapter.start()
            replies.append(str(info.value))
            await adapter.stop()
            # A secret logged by mistake, anywhere, with or without arguments, is redacted.
            logging.getLogger("bot.test").error("oops %s / %s", WRONG_TELEGRAM, LLM_KEY)
            logging.getLogger("bot.test").warning(f"key={LLM_KEY} discord={DISCORD}")
            try:
                raise ValueError(f"boom with {DISCORD}")
            except ValueError:
                logging.getLogger("bot.test").exception("failed")
        assert fake_llm["calls"] >= 2
    logged = "\n".join(
        [caplog.text] + [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    )
    assert "LLM summary not used" in logged and "[redacted]" in logged
    assert leaks(logged) == []
    assert leaks("\n".join(replies)) == [], replies
    assert leaks(database_bytes(tmp_path / "test.db")) == []
