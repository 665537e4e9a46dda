"""Shared fixtures: the local HTTP server, an isolated environment, and a Core per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.database_url import PostgresURL
from storage import AsyncStore, open_store
from storage.postgres import PostgresStore
from tests.factories import open_core

pytest_plugins = ["tests.conftest_http", "tests.conftest_postgres"]

_PLATFORM_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_WEBHOOK_URL",
    "DISCORD_BOT_TOKEN",
    "DISCORD_GUILD_ID",
    "DISCORD_API_BASE_URL",
    "DISCORD_GATEWAY_URL",
    "LLM_BASE_URL",
    "LLM_API_KEY",
    "COMMENTARY_SOURCES",
    "COMMENTARY_OWNERS",
    "COMMENTARY_DATABASE",
    "COMMENTARY_ROLE",
)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's tokens, database or .env file."""
    for name in _PLATFORM_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMENTARY_DATABASE", str(tmp_path / "env.db"))
    os.environ.setdefault("COMMENTARY_LOG_LEVEL", "INFO")


@pytest.fixture
async def store(database: Path | PostgresURL) -> AsyncIterator[AsyncStore | PostgresStore]:
    """An open store on each backend in turn (``database`` is parametrized)."""
    opened = await open_store(database)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator:
    async with open_core(tmp_path) as opened:
        yield opened
