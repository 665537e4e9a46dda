"""Start-up stays cheap: what `--help` and the terminal chat import before they answer.

Each check runs a fresh interpreter (this process has loaded everything already) and looks at
``sys.modules``: the heavy extraction and summary libraries load in the background once a bot
runs, never on the way to the first answer.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
