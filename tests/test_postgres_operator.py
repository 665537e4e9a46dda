"""PostgreSQL as an operator meets it: the URL setting, migrations, a password never shown."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.config import Settings
from bot.database_url import PostgresURL, database_location
from bot.delivery.routing import route
from bot.logs import RedactingFilter
from tests.cli_helpers import run_cli

PASSWORD = "Sw0rdfish-ne7er-sh0wn"


def without_password(url: PostgresURL) -> str:
    parts = urlsplit(url.secret_conninfo())
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}"))


def test_url_selects_postgres_and_prints_without_password() -> None:
    url = f"postgresql://bot:{PASSWORD}@db.internal:5432/commentary?sslmode=require"
    settings = Settings(_env_file=None, commentary_database=url)  # type: ignore[call-arg]
    location = settings.commentary_database
    assert isinstance(location, PostgresURL)
    for shown in (str(location), repr(location), f"{location}", repr(settings), str(settings)):
        assert PASSWORD not in shown
        assert "db.internal:5432/commentary" in shown
    assert location.secret_conninfo() == url
    assert PASSWORD in settings.secrets  # so the log filter redacts it
    text = f"could not connect to {url}"
    assert PASSWORD not in RedactingFilter(settings.secrets).redact(text)
    # Paths stay SQLite, and stay the default.
    assert isinstance(database_location("data/bot.db"), Path)
    assert isinstance(Settings(_env_file=None).commentary_database, Path)  # type: ignore[call-arg]


def test_cli_errors_and_help_never_show_the_password(tmp_path: Path) -> None:
    # Nothing listens on port 1: the connection fails and the error is printed.
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:1/commentary"
    failed = run_cli(tmp_path, "db", "migrate", COMMENTARY_DATABASE=url)
    assert failed.returncode == 2
    assert "postgresql://bot@127.0.0.1:1/commentary" in failed.stderr
    assert PASSWORD not in failed.stderr + failed.stdout
    helped = run_cli(tmp_path, "--help", COMMENTARY_DATABASE=url)
    assert helped.returncode == 0 and PASSWORD not in helped.stdout + helped.stderr
    bad = run_cli(tmp_path, "db", "migrate", COMMENTARY_DATABASE=f"postgresql://u:{PASSWORD}@[::1")
    assert bad.returncode == 2 and PASSWORD not in bad.stdout + bad.stderr


def test_db_migrate_with_pgpassword(pg_url: PostgresURL, tmp_path: Path) -> None:
    """The password can live in PGPASSWORD (or ~/.pgpass) instead of the URL."""
    plain = without_password(pg_url)
    secret = urlsplit(pg_url.secret_conninfo()).password or ""
    done = run_cli(tmp_path, "db", "migrate", COMMENTARY_DATABASE=plain, PGPASSWORD=secret)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{plain} is up to date."  # the template was migrated
    refused = run_cli(tmp_path, "db", "migrate", COMMENTARY_DATABASE=plain, PGPASSWORD="wrong")
    assert refused.returncode == 2 and "password authentication failed" in refused.stderr


def test_the_bot_answers_from_postgres(pg_url: PostgresURL, tmp_path: Path) -> None:
    """The terminal chat on PostgreSQL: demo source polled, /latest and /search answered."""
    done = run_cli(
        tmp_path,
        "run",
        "--console",
        stdin="/latest 1\n/search zzzqqq\n/search AND\n",
        COMMENTARY_DATABASE=pg_url.secret_conninfo(),
        COMMENTARY_DEMO="true",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "[m1]" in done.stdout and "https://" in done.stdout
    assert "Nothing found for 'zzzqqq'" in done.stdout
    assert "could not read that query" in done.stdout
    secret = urlsplit(pg_url.secret_conninfo()).password or ""
    assert secret not in done.stderr + done.stdout


async def test_db_copy_moves_a_bot_to_postgres(pg_url: PostgresURL, tmp_path: Path) -> None:
    from storage import AsyncStore
    from storage.postgres import PostgresStore
    from tests.test_storage_backends import draft

    sqlite_path = tmp_path / "bot.db"
    old = AsyncStore.open(sqlite_path)
    source = await old.add_source("Views", "https://views.example/feed")
    chat = await old.ensure_chat("telegram", "42", title="Readers")
    await old.add_subscription(chat.id, "source", "Views", source_id=source.id)
    await old.add_subscription(chat.id, "keyword", "harbour")
    first = await old.save_piece(
        draft(source_id=source.id, title="Harbour fees", entry_key="k1"), route=route
    )
    await old.save_piece(draft(), duplicate_of=first.piece_id, route=route)
    second = await old.save_piece(draft(source_id=source.id, title="Schools first"), route=route)
    [(sent, _), (in_flight, _)] = await old.claim_due("telegram")
    await old.mark_sent(sent.id, "900")
    await old.set_value("demo_added", "1")
    await old.aclose()  # ``in_flight`` stays 'sending', as after a crash

    secret = urlsplit(pg_url.secret_conninfo()).password or ""
    plain = without_password(pg_url)
    done = run_cli(tmp_path, "db", "copy", str(sqlite_path), plain, PGPASSWORD=secret)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Copied 1 sources, 2 pieces, 3 piece_links")
    assert plain in done.stdout and secret not in done.stdout

    old = AsyncStore.open(sqlite_path)
    new = await PostgresStore.open(pg_url)
    try:
        assert await new.list_sources() == await old.list_sources()
        assert await new.latest_pieces(5) == await old.latest_pieces(5)
        assert [p.id for p, _ in await new.search("harbour")] == [first.piece_id]
        assert await new.list_subscriptions(chat.id) == await old.list_subscriptions(chat.id)
        assert await new.seen_keys(source.id, ["k1", "k2"]) == {"k1"}
        assert await new.piece_for_message("telegram", "42", "900") == first.piece_id
        assert await new.get_value("demo_added") == "1"
        assert await new.queue_depth() == {"sent": 1, "pending": 1}
        [(again, _)] = await new.claim_due("telegram")  # the crashed send is due again
        assert (again.id, again.piece_id) == (in_flight.id, second.piece_id)
        added = await new.add_source("Later", "https://later.example/feed")
        assert added.id > source.id  # ids continue after the copied ones
    finally:
        await new.aclose()
        await old.aclose()

    twice = run_cli(tmp_path, "db", "copy", str(sqlite_path), plain, PGPASSWORD=secret)
    assert twice.returncode == 2 and "already holds a bot's data" in twice.stderr


async def test_db_copy_knows_every_sqlite_table(tmp_path: Path) -> None:
    """A table added to the SQLite schema but not to ``db copy`` would be lost when moving."""
    import sqlite3

    from storage import AsyncStore
    from storage.postgres.copy import TABLES

    path = tmp_path / "bot.db"
    await AsyncStore.open(path).aclose()
    with sqlite3.connect(path) as conn:
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    own = {n for n in names if not n.startswith(("pieces_fts", "_sqlite", "sqlite_"))}
    assert own - {table for table, _ in TABLES} == set()
