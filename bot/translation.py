"""Chats that read in another language: translated title and summary, cached, budgeted.

A chat with ``/settings translate <lang>`` gets each piece's title and summary in that language
when a language model is configured. Each (piece, language, length) is translated once and
stored, so many chats cost one request; every request counts against ``LLM_DAILY_BUDGET``. When
no translation can be had (no model, budget spent, endpoint down, an answer that changes a
number) the original is posted: a chat always gets the piece.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.errors import TranslationUnavailable
from bot.messages import summary_for
from bot.types import Piece, Translation

if TYPE_CHECKING:
    from bot.pipeline.llm import LLMSummarizer
    from storage import Storage

log = logging.getLogger(__name__)


class Translator:
    """Cached translations through the configured LLM."""

    def __init__(self, store: Storage, llm: LLMSummarizer) -> None:
        self.store = store
        self.llm = llm
        # One request per key even when many chats' deliveries ask at the same moment.
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def translate(self, piece: Piece, language: str, length: str) -> Translation | None:
        """The piece's title and ``length`` summary in ``language``; None to post the original."""
        if (piece.language or "").split("-")[0].casefold() == language:
            return None  # already in the chat's language
        summary = summary_for(piece, length) or ""
        key = f"{language}:{length}"
        lock = self._locks.setdefault((piece.id, key), asyncio.Lock())
        try:
            async with lock:
                return await self._translate(piece, key, language, summary)
        finally:
            if not lock.locked() and self._locks.get((piece.id, key)) is lock:
                del self._locks[(piece.id, key)]

    async def _translate(
        self, piece: Piece, key: str, language: str, summary: str
    ) -> Translation | None:
        cached = await self.store.get_translation(piece.id, key)
        if cached is not None:
            title, text, method = cached
            return Translation(language, title, text, method)
        try:
            made = await self.llm.translate(piece.title, summary, language)
        except TranslationUnavailable as exc:
            log.info("piece %s posted untranslated (%s): %s", piece.id, language, exc)
            return None
        await self.store.save_translation(piece.id, key, made.title, made.summary, made.method)
        return made
