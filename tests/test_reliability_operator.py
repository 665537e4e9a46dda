"""What an operator's commands can do to a running bot (issue #16), through the real CLI.

* a second ``run`` on the same SQLite file is refused with a clear message, while commands
  such as ``sources list`` keep working beside the running bot;
* poll intervals have an upper bound, and a huge interval already stored (older versions let
  one in) no longer makes every start die with OverflowError.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from storage import Store
from tests.cli_helpers import cli_env, run_cli


def start_bot(tmp_path: Path, db: Path) -> subprocess.Popen[str]:
    """``run --console`` with stdin held open, returned once its first post is printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        text=True,
        env=cli_env(tmp_path, COMMENTARY_DATABASE=str(db)),
    )
    deadline = time.monotonic() + 90
    line = ""
    while time.monotonic() < deadline and not line.startswith("[m1]"):
        line = proc.stdout.readline() if proc.stdout else ""
        if not line and proc.poll() is not None:
            break
    assert line.startswith("[m1]"), proc.stderr.read() if proc.stderr else ""
    return proc


def test_second_run_on_one_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    first = start_bot(tmp_path, db)
    try:
        second = run_cli(tmp_path, "run", "--console", stdin="/help\n")
        assert second.returncode == 2, second.stdout + second.stderr
        assert "already running" in second.stderr and str(db) in second.stderr
        assert "Traceback" not in second.stderr
        # The second process never reached the terminal chat (no post, no reset).
        assert "[m" not in second.stdout
        # Commands beside the running bot keep working.
        listed = run_cli(tmp_path, "sources", "list")
        assert listed.returncode == 0, listed.stderr
        assert "demo" in listed.stdout
        assert first.poll() is None
    finally:
        first.communicate(input="", timeout=60)
    assert first.returncode == 0
    # Once the first bot has stopped, the file is free again.
    again = run_cli(tmp_path, "run", "--console", stdin="")
    assert again.returncode == 0, again.stderr


def test_intervals_have_an_upper_bound(tmp_path: Path) -> None:
    huge = run_cli(
        tmp_path, "sources", "add", "https://opinion.test/feed", "--interval", "9999999999d"
    )
    assert huge.returncode == 2 and "longest interval is 7d" in huge.stderr, huge.stderr
    assert "Traceback" not in huge.stderr


def test_a_huge_stored_interval_does_not_stop_the_bot_starting(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "cli.db")
    source = store.add_source("old", "https://opinion.test/feed", interval_seconds=10**15)
    store.update_source(source.id, first_poll_done=True)
    store.close()
    result = run_cli(tmp_path, "run", "--console", stdin="/sources\n", COMMENTARY_DEMO="false")
    assert result.returncode == 0, result.stderr
    assert "OverflowError" not in result.stderr and "Traceback" not in result.stderr
    assert "old" in result.stdout
