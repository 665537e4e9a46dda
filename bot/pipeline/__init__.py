"""Extraction and summary pipeline: page or copied text -> clean piece -> summary."""

from .document import extract_document, format_card, piece_to_json
from .extract import ExtractionError, extract_html
from .summarize import summarize
from .text_input import extract_text

__all__ = [
    "ExtractionError",
    "extract_document",
    "extract_html",
    "extract_text",
    "format_card",
    "piece_to_json",
    "summarize",
]
