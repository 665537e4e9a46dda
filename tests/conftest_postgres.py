"""PostgreSQL for tests: pytest-postgresql against a running server, a fresh database per test.

``.ci/postgres`` installs and starts PostgreSQL 15 and creates the role; set
``COMMENTARY_TEST_POSTGRES`` to use another server. The schema is migrated once per session
into a template database; each test gets a copy of it (``CREATE DATABASE ... TEMPLATE``).
In CI (``CI`` set) an unreachable server fails the run; elsewhere those tests are skipped
with the command that starts one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from pytest_postgresql import factories

from bot.database_url import PostgresURL
from storage.postgres import schema

DEFAULT_URL = "postgresql://commentary_test:test-only-pw@127.0.0.1:5432/commentary_test"
SERVER = urlsplit(os.environ.get("COMMENTARY_TEST_POSTGRES", DEFAULT_URL))
# One name per pytest run: several checkouts may test against the same server at once.
TEST_DBNAME = f"commentary_tests_{os.getpid()}"


def _load_schema(**connect: Any) -> None:
    connect.pop("autocommit", None)
    with psycopg.connect(**connect) as conn:
        schema.apply(conn)
    # Each test's database is cloned from this template; vacuumed now, autovacuum has nothing
    # to do there (the janitor ends any session on it first: .ci/postgres grants that right).
    with psycopg.connect(**connect, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _server_args() -> dict[str, Any]:
    return {
        "host": SERVER.hostname,
        "port": SERVER.port or 5432,
        "user": SERVER.username,
        "password": SERVER.password,
        "dbname": SERVER.path.lstrip("/") or "postgres",
    }


postgresql_noproc = factories.postgresql_noproc(
    host=SERVER.hostname or "127.0.0.1",
    port=SERVER.port or 5432,
    user=SERVER.username or "commentary_test",
    password=SERVER.password,
    dbname=TEST_DBNAME,
    maintenance_dbname=SERVER.path.lstrip("/") or "postgres",
    load=[_load_schema],
)
postgresql = factories.postgresql("postgresql_noproc")


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """The server answers, or the test is skipped (outside CI) or fails (in CI)."""
    try:
        psycopg.connect(**_server_args(), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable ({exc}); start it with: bash .ci/postgres"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_url(postgres_server: None, request: pytest.FixtureRequest) -> PostgresURL:
    """A fresh, migrated database for this test, as the URL an operator would set."""
    conn: psycopg.Connection = request.getfixturevalue("postgresql")
    info = conn.info
    password = quote(info.password or "", safe="")
    auth = f"{quote(info.user, safe='')}:{password}" if password else quote(info.user, safe="")
    return PostgresURL(f"postgresql://{auth}@{info.host}:{info.port}/{info.dbname}")


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | PostgresURL]:
    """Where a store lives, once per backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "store.db"
    else:
        yield request.getfixturevalue("pg_url")
