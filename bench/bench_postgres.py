"""PostgreSQL against SQLite on the same data: /latest and /search p50 / p99 at 100,000 pieces.

The 100k-piece database of bench/dataset.py (5,000 sources, 10,000 chats, 50,000
subscriptions) is copied into a fresh PostgreSQL database with ``db copy`` (the operator's
path), then every command runs through ``handlers.router.dispatch`` on a ``Core`` opened on
each backend in turn: the same handlers, the same rows, only the store differs. Ratio =
PostgreSQL / SQLite (below 1: PostgreSQL is faster).

Needs a PostgreSQL server and a role that may create databases: ``bash .ci/postgres`` makes
one; ``--server postgresql://user:pass@host:5432/db`` (default ``COMMENTARY_TEST_POSTGRES``, else
the test role) names another. A database ``bench_postgres_<pid>`` is created and dropped.

Run: ``python bench/bench_postgres.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dataset
import psycopg
from bench_latency import Case, cases, request
from common import console, header, percentile, print_table, save_result

from bot.config import Settings
from bot.core import Core
from bot.database_url import PostgresURL
from handlers.router import dispatch
from storage.postgres.copy import copy_sqlite_to_postgres

DEFAULT_SERVER = "postgresql://commentary_test:test-only-pw@127.0.0.1:5432/commentary_test"


@contextmanager
def scratch_database(server: str) -> Iterator[PostgresURL]:
    """A new, empty database on ``server`` for this run; dropped afterwards."""
    name = f"bench_postgres_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server)
    try:
        yield PostgresURL(urlunsplit(parts._replace(path="/" + name)))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def measure(
    location: Path | PostgresURL, label: str, case_list: list[Case], samples: int, budget: float
) -> None:
    settings = Settings(_env_file=None, commentary_database=location, commentary_demo=False)  # type: ignore[call-arg]
    async with Core.open(settings) as core:
        for case in case_list:
            req = request(case)
            for _ in range(3):  # warm caches, as in a running bot
                response = await dispatch(req, core.services)
            case.answers[label] = str(len(response.messages))
            times: list[float] = []
            deadline = time.perf_counter() + budget
            while len(times) < samples and (len(times) < 5 or time.perf_counter() < deadline):
                t0 = time.perf_counter()
                await dispatch(req, core.services)
                times.append(time.perf_counter() - t0)
            case.samples[label] = times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples per command")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument(
        "--server", default=os.environ.get("COMMENTARY_TEST_POSTGRES", DEFAULT_SERVER)
    )
    args = parser.parse_args()
    samples = args.samples or (40 if args.quick else 200)
    budget = 2.0 if args.quick else 6.0
    logging.basicConfig(level=logging.WARNING)
    header("PostgreSQL vs SQLite: /latest and /search at 100k pieces", args.quick)
    source_db = dataset.ensure(dataset.FULL)

    async def run() -> tuple[list[Case], float]:
        with (
            tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp,
            scratch_database(args.server) as url,
        ):
            sqlite_path = dataset.working_copy(dataset.FULL, Path(tmp))
            t0 = time.perf_counter()
            copy_sqlite_to_postgres(sqlite_path, url)
            copy_seconds = time.perf_counter() - t0
            with psycopg.connect(url.secret_conninfo(), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load
            settings = Settings(_env_file=None, commentary_database=sqlite_path)  # type: ignore[call-arg]
            async with Core.open(settings) as core:
                newest = (await core.services.store.latest_pieces(1))[0]
                source = await core.services.store.get_source_by_id(newest.source_id)
            found = cases(source.name, newest.authors[0])
            await measure(sqlite_path, "sqlite", found, samples, budget)
            await measure(url, "postgresql", found, samples, budget)
        return found, copy_seconds

    found, copy_seconds = asyncio.run(run())
    rows = []
    for case in found:
        lite = [percentile(case.samples["sqlite"], q) * 1000 for q in (50, 99)]
        pg = [percentile(case.samples["postgresql"], q) * 1000 for q in (50, 99)]
        rows.append((
            case.label, lite[0], lite[1], pg[0], pg[1], f"{pg[0] / lite[0]:.2f}",
            f"{pg[1] / lite[1]:.2f}",
            f"{case.answers['sqlite']} / {case.answers['postgresql']}",
        ))  # fmt: skip
    print_table(
        "Handler latency in ms at 100k pieces; ratio = PostgreSQL / SQLite",
        ["command", "SQLite p50", "SQLite p99", "PG p50", "PG p99", "ratio p50", "ratio p99",
         "replies SQLite / PG"],
        rows,
        caption=f"Same data ({source_db.name}), copied with db copy in {copy_seconds:.0f} s; "
        f"≤ {samples} samples per command within {budget:g} s.",
    )  # fmt: skip
    save_result(
        "postgres",
        [],
        {"copy_seconds": copy_seconds, "rows": [list(map(str, r)) for r in rows]},
    )
    console.print()


if __name__ == "__main__":
    main()
