"""Extraction and summary pipeline: page or copied text -> clean piece -> summary.

The summarizer is imported from its module (``from bot.pipeline.summarize import summarize``):
a package attribute of that name would be replaced by the submodule as soon as anything
imports ``bot.pipeline.summarize``, so the package does not offer it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .document import extract_document, format_card, piece_to_json
    from .errors import ExtractionError
    from .extract import extract_html
    from .text_input import extract_text

# Loaded on first use (PEP 562): importing one small module of the pipeline (its errors, its
# text helpers) must not load trafilatura and wordfreq, which cost most of the start-up time.
# No name here equals a submodule's name (see the docstring).
_WHERE = {
    "extract_document": "document",
    "format_card": "document",
    "piece_to_json": "document",
    "ExtractionError": "errors",
    "extract_html": "extract",
    "extract_text": "text_input",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "ExtractionError",
    "extract_document",
    "extract_html",
    "extract_text",
    "format_card",
    "piece_to_json",
]
