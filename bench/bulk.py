"""Bulk writes and size reports for the benchmarks: the bot itself never uses them.

The benchmarks need databases of realistic size (100,000 pieces, 50,000 subscriptions) built
in a minute, which row-by-row ``Store`` calls cannot do. These functions insert prepared rows
with ``executemany``; the pieces' full-text index is kept by the schema's own triggers, so
the result is the same database the bot would have built, only faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlite_utils import Database

# The columns a bulk row carries, in order, per table (the rest take their defaults).
COLUMNS: dict[str, tuple[str, ...]] = {
    "sources": (
        "id", "name", "url", "kind", "interval_seconds", "title", "last_ok_at",
        "next_run_at", "first_poll_done", "created_at",
    ),
    "pieces": (
        "id", "url", "guid", "fingerprint", "source_id", "title", "standfirst", "text",
        "pull_quotes", "author_bio", "summary", "summary_short", "summary_long",
        "summary_method", "published", "outlet", "language", "fetched_at", "updated_at",
    ),
    "piece_links": ("url", "piece_id", "outlet", "source_id", "syndicated"),
    "authors": ("id", "name", "bio"),
    "piece_authors": ("piece_id", "author_id", "position"),
    "seen_entries": ("source_id", "entry_key", "piece_id", "seen_at"),
    "chats": ("id", "platform", "platform_chat_id", "thread_id", "kind", "title", "settings",
              "created_at"),
    "subscriptions": ("id", "chat_id", "kind", "target", "source_id", "include", "exclude",
                      "created_at"),
    "deliveries": ("piece_id", "chat_id", "subscription_id", "platform", "state", "attempts",
                   "platform_message_id", "created_at", "sent_at"),
    "messages": ("platform", "platform_chat_id", "message_id", "piece_id", "created_at"),
}  # fmt: skip


def fast_writes(db: Database) -> None:
    """Connection-only settings for a bulk load: no fsync, a large page cache (not persisted)."""
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")  # 256 MiB while loading


def insert_rows(
    db: Database, table: str, rows: Iterable[Sequence[Any]], *, batch: int = 5000
) -> int:
    """Insert tuples in ``COLUMNS[table]`` order, one transaction per batch; return the count."""
    columns = COLUMNS.get(table)
    if columns is None:
        raise ValueError(f"no bulk insert for table {table!r}")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    count = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, batch)):
        with db.atomic():
            db.conn.executemany(sql, chunk)
        count += len(chunk)
    return count


def checkpoint(db: Database) -> None:
    """Fold the WAL into the main file so its size is the database's size."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def row_counts(db: Database) -> dict[str, int]:
    return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COLUMNS}


def space_by_table(db: Database) -> dict[str, int]:
    """Bytes per table, its indexes included; the full-text index's shadow tables as one."""
    sizes: dict[str, int] = {}
    rows = db.execute(
        "SELECT coalesce(m.tbl_name, d.name) AS owner, sum(d.pgsize) FROM dbstat d"
        " LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY owner"
    ).fetchall()
    for owner, size in rows:
        key = "pieces_fts (index)" if owner.startswith("pieces_fts") else owner
        sizes[key] = sizes.get(key, 0) + size
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def count_matches(db: Database, query: str) -> int:
    """How many pieces a full-text query matches (to describe a search benchmark's load)."""
    return db.execute(
        "SELECT count(*) FROM pieces_fts WHERE pieces_fts MATCH ?", [query]
    ).fetchone()[0]


def explain(db: Database, sql: str, params: Sequence[Any] = ()) -> list[str]:
    """EXPLAIN QUERY PLAN of a statement, one line per step."""
    return [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, list(params)).fetchall()]
