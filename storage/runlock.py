"""One running bot per SQLite file: a second `run` is refused instead of sharing the database.

Two bot processes on one SQLite file would both reset in-flight deliveries at start and reuse
console message ids. Several processes are what the PostgreSQL mode is for; here the running
bot holds an advisory lock (flock) on the database file for as long as it lives. SQLite's own
locks are POSIX record locks, which flock does not touch, so CLI commands beside the bot keep
working; the kernel drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.db import StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no guard
    fcntl = None  # type: ignore[assignment]


class AlreadyRunning(StorageError):
    """Another bot process runs on this database; the message says what to do."""


@contextmanager
def exclusive_run(path: str | Path) -> Iterator[None]:
    """Hold the run lock on the database file at ``path`` (AlreadyRunning if it is taken)."""
    where = str(path)
    if fcntl is None or where in ("", ":memory:") or where.startswith("file:") or "://" in where:
        # No file (PostgreSQL URLs: several processes are that mode's job).
        yield
        return
    try:
        # The default location's folder may not exist yet (a fresh machine): the lock comes
        # before the database is opened, so it makes the folder, as opening would.
        Path(where).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"{where}: cannot open the database file ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"Another commentary-bot is already running on {where}; stop it first"
                " (commands such as 'sources list' work beside it; several running bots need"
                " PostgreSQL)."
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
