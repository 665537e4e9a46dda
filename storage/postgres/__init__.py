"""PostgreSQL storage (psycopg 3, async, pooled): the same operations as SQLite's, for several
bot processes sharing one database. Selected by ``COMMENTARY_DATABASE=postgresql://...``."""

from storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
