"""Where the database lives: a SQLite file path, or a PostgreSQL URL whose password stays secret.

``COMMENTARY_DATABASE=postgresql://user:pass@host:5432/db`` selects PostgreSQL; anything else is
a SQLite path. The URL object prints without its password (``str``, ``repr``, f-strings), so a
log line, an error or ``status`` that names the database cannot leak it; only
``secret_conninfo()`` returns the full URL, for the driver. With no password in the URL, libpq
reads ``PGPASSWORD`` or ``~/.pgpass`` as usual.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


class PostgresURL:
    """A ``postgresql://`` URL; prints redacted."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        # Messages never quote the URL: it may hold a password.
        if not is_postgres_url(url):
            raise ValueError("not a postgresql:// URL")
        try:
            parts = urlsplit(url.strip())
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(
                "not a valid postgresql://user@host:port/dbname URL (host or port unreadable)"
            ) from None
        if not parts.path.strip("/"):
            raise ValueError("the postgresql:// URL names no database (…/dbname)")
        self._url = url.strip()

    @property
    def passwords(self) -> list[str]:
        """Every password in the URL (userinfo, ``?password=``), for the log redactor."""
        parts = urlsplit(self._url)
        found = [unquote(parts.password)] if parts.password else []
        found += [v for k, v in parse_qsl(parts.query) if k == "password" and v]
        # The raw form too: a driver error may quote the URL as written (percent-encoded).
        found += [parts.password] if parts.password and parts.password not in found else []
        return found

    def secret_conninfo(self) -> str:
        """The full URL, password included: for the driver only, never for display."""
        return self._url

    def redacted(self) -> str:
        parts = urlsplit(self._url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}@{hostport}" if user else hostport
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"PostgresURL({self.redacted()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PostgresURL) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)


DatabaseLocation = Path | PostgresURL


def is_postgres_url(value: str) -> bool:
    return value.strip().lower().startswith(SCHEMES)


def database_location(value: str | Path | PostgresURL) -> DatabaseLocation:
    """A PostgreSQL URL or a SQLite path from a setting's text."""
    if isinstance(value, PostgresURL | Path):
        return value
    return PostgresURL(value) if is_postgres_url(value) else Path(value)
