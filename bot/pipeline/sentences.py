"""Sentence splitting with pysbd (handles "U.S.", "Dr.", "U.N.", quotes, Arabic punctuation)."""

from __future__ import annotations

import re
import threading

import pysbd
from pysbd.languages import LANGUAGE_CODES

_local = threading.local()
_SPACE = re.compile(r"\s+")
_NOT_AN_END = ("،", ",", "؛", ":")


def _segmenter(language: str) -> pysbd.Segmenter:
    # pysbd segmenters hold per-call state: one per thread and language keeps this thread-safe.
    cache: dict[str, pysbd.Segmenter] = getattr(_local, "segmenters", None) or {}
    _local.segmenters = cache
    seg = cache.get(language)
    if seg is None:
        seg = cache[language] = pysbd.Segmenter(language=language, clean=False)
    return seg


def segmenter_language(language: str | None) -> str:
    """The pysbd language code for an ISO 639-1 code, English when pysbd lacks it."""
    lang = (language or "en").split("-")[0].lower()
    return lang if lang in LANGUAGE_CODES else "en"


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split one paragraph (or more, newline-separated) into trimmed sentences."""
    out: list[str] = []
    seg = _segmenter(segmenter_language(language))
    for para in text.split("\n"):
        para = _SPACE.sub(" ", para).strip()
        if not para:
            continue
        pending = ""
        for sentence in seg.segment(para):
            sentence = sentence.strip()
            if not sentence:
                continue
            pending = f"{pending} {sentence}" if pending else sentence
            # pysbd's Arabic rules end a sentence at a comma or colon: keep the clause together.
            if not pending.endswith(_NOT_AN_END):
                out.append(pending)
                pending = ""
        if pending:
            out.append(pending)
    return out
