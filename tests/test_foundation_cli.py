"""The command line as a user runs it: help, the terminal chat piped, db, config errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli_helpers import run_cli


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0
    for name in ("run", "sources", "fetch", "latest", "summarize", "db"):
        assert name in result.stdout
    sub = run_cli(tmp_path, "sources", "--help")
    for name in ("add", "list", "remove", "import", "export"):
        assert name in sub.stdout


def test_piped_terminal_chat_answers_and_exits_at_eof(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run", "--console", stdin="/latest 2\n/help\n/nosuch\nhi\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The demo source was polled; /latest shows two demo pieces with their links.
    assert out.count(".demo.invalid/") >= 2
    assert "/subscribe" in out and "/search" in out  # /help
    assert "Unknown command /nosuch" in out and "/help" in out
    assert "Commands start with /" in out
    assert "Traceback" not in result.stderr


def test_demo_pieces_are_stored_and_latest_json_is_stable(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "fetch", "--format", "json").returncode == 0
    result = run_cli(tmp_path, "latest", "-n", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == 3
    assert set(items[0]) >= {
        "id",
        "title",
        "url",
        "authors",
        "outlet",
        "published",
        "summary",
        "summary_method",
        "also_in",
    }
    assert items[0]["summary"] and items[0]["summary_method"] == "extractive"
    # Newest first.
    assert items[0]["published"] >= items[1]["published"] >= items[2]["published"]


def test_fetch_json_reports_per_source(tmp_path: Path) -> None:
    first = json.loads(run_cli(tmp_path, "fetch", "--format", "json").stdout)
    assert first["sources"][0]["source"] == "demo"
    assert first["sources"][0]["new"] >= 6
    again = json.loads(run_cli(tmp_path, "fetch", "--format", "json").stdout)
    assert again["totals"]["new"] == 0  # nothing stored twice


def test_migrate_twice_is_idempotent(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "db", "migrate")
    assert first.returncode == 0 and "Applied" in first.stdout
    second = run_cli(tmp_path, "db", "migrate")
    assert second.returncode == 0 and "up to date" in second.stdout


def test_backup_makes_a_usable_copy(tmp_path: Path) -> None:
    run_cli(tmp_path, "fetch")
    target = tmp_path / "copy.db"
    result = run_cli(tmp_path, "db", "backup", str(target))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM pieces").fetchone()[0] >= 6
    again = run_cli(tmp_path, "db", "backup", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_corrupt_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = run_cli(tmp_path, "latest", COMMENTARY_DATABASE=str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "Traceback" not in result.stderr


def test_unwritable_database_path_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli(tmp_path, "db", "migrate", COMMENTARY_DATABASE=str(blocker / "sub/x.db"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_malformed_env_value_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMMENTARY_ALLOW_PRIVATE_URLS=perhaps\n")
    result = run_cli(tmp_path, "latest")
    assert result.returncode == 2
    assert "COMMENTARY_ALLOW_PRIVATE_URLS" in result.stderr and ".env" in result.stderr


def test_malformed_sources_toml_names_file_and_line(tmp_path: Path) -> None:
    toml = tmp_path / "sources.toml"
    toml.write_text('[[source]]\nname = "a"\nurl = "https://a.example/feed"\ninterval = \n')
    result = run_cli(tmp_path, "fetch", COMMENTARY_SOURCES=str(toml))
    assert result.returncode == 2
    assert "sources.toml" in result.stderr and "line 4" in result.stderr


def test_sources_toml_is_imported(tmp_path: Path) -> None:
    toml = tmp_path / "sources.toml"
    feed = (Path(__file__).parent.parent / "bot/demo/feed.xml").resolve().as_uri()
    toml.write_text(f'[[source]]\nname = "columns"\nurl = "{feed}"\ninterval = "2h"\n')
    run_cli(tmp_path, "fetch", COMMENTARY_SOURCES=str(toml), COMMENTARY_DEMO="false")
    listed = json.loads(run_cli(tmp_path, "sources", "list", "--format", "json").stdout)
    assert [s["name"] for s in listed] == ["columns"]
    assert listed[0]["interval_seconds"] == 7200 and listed[0]["state"] == "ok"


def test_sources_add_list_remove_and_bad_interval(tmp_path: Path) -> None:
    feed = (Path(__file__).parent.parent / "bot/demo/feed.xml").resolve().as_uri()
    added = run_cli(tmp_path, "sources", "add", feed, "--name", "mine", "--interval", "15m")
    assert added.returncode == 0, added.stderr
    assert "mine" in added.stdout and "7 entries" in added.stdout
    bad = run_cli(tmp_path, "sources", "add", feed, "--interval", "soon")
    assert bad.returncode == 2 and "duration" in bad.stderr
    assert run_cli(tmp_path, "sources", "remove", "mine").returncode == 0
    assert run_cli(tmp_path, "sources", "remove", "mine").returncode == 2


def test_summarize_file_json_and_bad_file(tmp_path: Path) -> None:
    page = tmp_path / "column.html"
    page.write_text(
        "<html><head><title>Why towns need trams</title></head><body><article>"
        "<h1>Why towns need trams</h1><p class='byline'>By Jane Roe</p>"
        + "".join(
            f"<p>Paragraph {i}: towns should invest in trams because buses alone cannot carry "
            "the crowds that a growing centre brings every morning and evening.</p>"
            for i in range(6)
        )
        + "</article></body></html>"
    )
    result = run_cli(tmp_path, "summarize", str(page), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Why towns need trams" and data["summary"]
    assert data["summary_method"] == "extractive"
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    result = run_cli(tmp_path, "summarize", str(binary))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    missing = run_cli(tmp_path, "summarize", str(tmp_path / "nope.html"))
    assert missing.returncode == 2


def test_sigterm_and_ctrl_c_shut_down_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.cli_helpers import cli_env

    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--console"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            text=True,
            env=cli_env(tmp_path, COMMENTARY_DATABASE=str(tmp_path / f"{sig.name}.db")),
        )
        try:
            # Wait until the terminal chat is up (the demo's newest piece has been posted).
            deadline = time.monotonic() + 60
            line = ""
            while time.monotonic() < deadline and not line.startswith("[m1]"):
                line = proc.stdout.readline()
            assert line.startswith("[m1]")
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill() if proc.poll() is None else None
        assert proc.returncode == 0, err
        assert "Traceback" not in err


def test_opml_round_trip_keeps_kind_interval_and_selector(tmp_path: Path) -> None:
    from storage import Store

    store = Store.open(tmp_path / "cli.db")
    store.add_source("columns", "https://example.org/feed.xml", interval_seconds=900)
    store.add_source(
        "listing",
        "https://example.org/opinion/",
        kind="page",
        interval_seconds=600,
        selector="h2 a",
    )
    store.close()
    exported = run_cli(tmp_path, "sources", "export")
    assert exported.returncode == 0 and "<opml" in exported.stdout
    opml = tmp_path / "sources.opml"
    opml.write_text(exported.stdout)
    other = tmp_path / "other.db"
    result = run_cli(tmp_path, "sources", "import", str(opml), COMMENTARY_DATABASE=str(other))
    assert result.returncode == 0 and "Imported 2" in result.stdout
    listed = json.loads(
        run_cli(
            tmp_path, "sources", "list", "--format", "json", COMMENTARY_DATABASE=str(other)
        ).stdout
    )
    by_name = {s["name"]: s for s in listed}
    assert by_name["columns"]["interval_seconds"] == 900
    assert by_name["listing"]["kind"] == "page" and by_name["listing"]["interval_seconds"] == 600
    store = Store.open(other)
    assert store.get_source("listing").selector == "h2 a"
    store.close()
