"""Opening the SQLite database: pragmas, migrations, and clear errors for bad paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.errors import StorageError
from storage.folding import fold_for_search
from storage.schema import migrations

BUSY_TIMEOUT_MS = 5000


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
        # The full-text index stores folded text (schema m006's triggers call it).
        conn.create_function("fold_search", 1, fold_for_search, deterministic=True)
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
    return str(db.execute("PRAGMA integrity_check").fetchone()[0])


Params = list[Any] | dict[str, Any]


class Queries:
    """The small query helpers every concern's mixin builds on (rows as dicts)."""

    db: sqlite_utils.Database

    def _one(self, sql: str, params: Params | None = None) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params or [])
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def _all(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _insert(self, sql: str, params: Params) -> int:
        """Run an INSERT; the new row's id."""
        rowid = self.db.execute(sql, params).lastrowid
        if rowid is None:  # sqlite3 sets it for every successful INSERT
            raise StorageError("the insert stored no row")
        return rowid

    def _count(self, sql: str, params: Params | None = None) -> int:
        """The first column of the first row of a ``SELECT count(*) ...``."""
        row = self.db.execute(sql, params or []).fetchone()
        return int(row[0]) if row else 0
