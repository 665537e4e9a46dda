"""Extraction and summary pipeline: page or copied text -> clean piece -> summary."""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): importing one small module of the pipeline (its errors, its
# text helpers) must not load trafilatura and wordfreq, which cost most of the start-up time.
_WHERE = {
    "extract_document": "document",
    "format_card": "document",
    "piece_to_json": "document",
    "ExtractionError": "errors",
    "extract_html": "extract",
    "summarize": "summarize",
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
    "summarize",
]
