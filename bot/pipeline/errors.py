"""The pipeline's one error: input that holds no article."""

from __future__ import annotations

from bot.errors import UserError


class ExtractionError(UserError):
    """The input holds no article we can extract; the message is a short user-facing sentence."""
