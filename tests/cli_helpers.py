"""Run the real ``commentary-bot`` command in a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_", "COMMENTARY_", "LLM_"))
    }
    env["COMMENTARY_DATABASE"] = str(tmp_path / "cli.db")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(
    tmp_path: Path, *args: str, stdin: str = "", timeout: float = 90, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        env=cli_env(tmp_path, **extra_env),
    )
