"""The pipeline's one error: input that holds no article."""

from __future__ import annotations


class ExtractionError(Exception):
    """The input holds no article we can extract; the message is a short user-facing sentence."""
