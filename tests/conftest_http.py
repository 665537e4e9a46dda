"""Pytest fixture for the local HTTP server (load: ``pytest_plugins = ["tests.conftest_http"]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

try:
    from tests.httpserver import LocalHTTPServer
except ModuleNotFoundError:  # tests/ on sys.path but the repo root is not
    from httpserver import LocalHTTPServer  # type: ignore[no-redef]


@pytest.fixture
async def http_server() -> AsyncIterator[LocalHTTPServer]:
    """A fresh LocalHTTPServer on 127.0.0.1 for one test."""
    async with LocalHTTPServer() as server:
        yield server
