"""Opening the SQLite database: pragmas, migrations, and clear errors for bad paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from storage.schema import migrations

BUSY_TIMEOUT_MS = 5000


class StorageError(Exception):
    """The database cannot be used; the message names the file."""


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database with WAL, foreign keys and a busy timeout."""
    path = Path(path)
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create its folder ({exc.strerror})") from None
    try:
        # check_same_thread=False: the async store runs every call on one worker thread,
        # which is not the thread that opened the connection.
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path}: not a usable SQLite database ({exc})") from None
    if mode is None:
        raise StorageError(f"{path}: cannot switch to WAL mode")
    return sqlite_utils.Database(conn)


def open_database(path: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """Connect and bring the schema up to date (idempotent)."""
    db = connect(path)
    if migrate:
        try:
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{path}: migration failed ({exc})") from None
    return db


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def backup(db: sqlite_utils.Database, target: str | Path) -> None:
    """A consistent copy of the live database (SQLite's online backup API)."""
    target = Path(target)
    if target.exists():
        raise StorageError(f"{target}: already exists; choose a new file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(target))
        with dest:
            db.conn.backup(dest)
        dest.close()
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"{target}: backup failed ({exc})") from None


def integrity_check(db: sqlite_utils.Database) -> str:
    return db.execute("PRAGMA integrity_check").fetchone()[0]
