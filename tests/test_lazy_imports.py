"""Start-up stays cheap: what `--help` and the terminal chat import before they answer.

Each check runs a fresh interpreter (this process has loaded everything already) and looks at
``sys.modules``: the heavy extraction and summary libraries load in the background once a bot
runs, never on the way to the first answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# What the ingestion pipeline needs and a command never does before its first answer. (numpy
# is not here: sqlite-utils imports it whenever it is installed, as the bench extras do.)
# langcodes: its data tables load slower than the rest of a start-up; only /settings needs it.
HEAVY = ("trafilatura", "wordfreq", "htmldate", "justext", "pysbd", "sentencex", "langcodes")


def loaded_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a new interpreter."""
    names = "sorted({m.split('.')[0] for m in sys.modules})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({names}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import bot.cli",
        "import bot.core",
        "import bot.app",
        "import handlers.router",
        "import bot.pipeline.errors",
        "from bot.pipeline import ExtractionError",
    ],
)
def test_the_way_to_a_first_answer_loads_no_extraction_library(code: str) -> None:
    assert loaded_after(code) & set(HEAVY) == set()


def test_the_pipeline_still_offers_its_functions_and_the_summarizer_its_module() -> None:
    """The package's names load on use; `bot.pipeline.summarize` is the module, whatever
    was imported first (a same-named package attribute would be shadowed by it)."""
    code = (
        "import bot.pipeline.summarize\n"
        "from bot.pipeline import extract_html, extract_document, ExtractionError\n"
        "from bot.pipeline.summarize import summarize\n"
        "import bot.pipeline as p\n"
        "assert callable(extract_html) and callable(extract_document) and callable(summarize)\n"
        "assert issubclass(ExtractionError, Exception)\n"
        "assert p.summarize.__name__ == 'bot.pipeline.summarize'\n"
    )
    assert "trafilatura" in loaded_after(code)


def test_an_unknown_pipeline_name_is_an_attribute_error() -> None:
    import bot.pipeline

    with pytest.raises(AttributeError):
        bot.pipeline.no_such_name  # noqa: B018


# What polling needs and the terminal chat's first answer does not: fetching (httpx), feeds and
# pages (lxml), the scheduler. numpy and pandas: sqlite-utils would import them when installed.
POLLING = ("httpx", "httpcore", "lxml", "apscheduler", "numpy", "pandas")

_CONSOLE_PROBE = """
import asyncio, io, json, sys
from bot.app import run_bot
from bot.config import Settings

seen = {{}}


class Screen(io.StringIO):
    def write(self, text):
        if "/latest" in text and "first" not in seen:  # a line of /help's answer
            seen["first"] = sorted({{m.split(".")[0] for m in sys.modules}})
        return super().write(text)


settings = Settings(
    _env_file=None, commentary_database={database!r}, commentary_demo={demo!r}
)
screen = Screen()
commands = io.StringIO("/help\\n/sources\\n")
asyncio.run(run_bot(settings, console=True, stdin=commands, stdout=screen))
seen["end"] = sorted({{m.split(".")[0] for m in sys.modules}})
seen["screen"] = screen.getvalue()
print(json.dumps(seen))
"""


def console_session(database: str, demo: bool) -> dict[str, Any]:
    """A real terminal-chat session (/help, then /sources) in a fresh interpreter: the
    packages loaded when the first answer was printed, at the end, and what was printed."""
    probe = _CONSOLE_PROBE.format(database=database, demo=demo)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=180
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("code", ["import bot.app", "import bot.core", "import storage"])
def test_the_core_loads_no_polling_library_until_polling_starts(code: str) -> None:
    assert loaded_after(code) & set(POLLING) == set()


def test_the_terminal_chat_answers_first_then_starts_polling(tmp_path: Path) -> None:
    session = console_session(str(tmp_path / "bot.db"), demo=False)
    assert set(session["first"]) & set(POLLING + HEAVY) == set()
    # Polling started once the first command was answered: the scheduler is loaded by the
    # end, and the second command was answered as before.
    assert {"apscheduler", "httpx"} <= set(session["end"])
    assert "I follow no sources yet" in session["screen"]


def test_a_newcomers_demo_is_read_before_the_first_answer(tmp_path: Path) -> None:
    """The bundled demo feed's first round is awaited before the prompt, as before."""
    session = console_session(str(tmp_path / "bot.db"), demo=True)
    screen = session["screen"]
    assert "apscheduler" in session["first"]
    assert screen.index("(reply with:") < screen.index("/latest")  # its post came first


def test_storage_does_not_load_numpy_or_pandas_where_they_are_installed(tmp_path: Path) -> None:
    """sqlite-utils would import them (for column types the bot never stores): about 17 MB of
    every bot process. Stand-ins on the path make them installed whatever this machine has."""
    for name in ("numpy", "pandas"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("LOADED = True\n")
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "import storage, bot.app\n"
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules, sorted(sys.modules)\n"
        "import numpy, pandas\n"  # still importable by whoever needs them later
        "assert numpy.LOADED and pandas.LOADED\n"
    )
    assert "storage" in loaded_after(code)
