"""Sentence splitting with pysbd (handles "U.S.", "Dr.", "U.N.", quotes, Arabic punctuation)."""

from __future__ import annotations

import re
import threading
from collections import Counter

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


MAX_SEGMENT = 2000  # pysbd's time grows with the square of what it is given at once


def _segments(para: str) -> list[str]:
    """A paragraph in pieces of at most MAX_SEGMENT characters, cut after a sentence end."""
    out = []
    while len(para) > MAX_SEGMENT:
        window = para[:MAX_SEGMENT]
        cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut > 0 else window.rfind(" ")
        if cut <= 0:
            cut = MAX_SEGMENT
        out.append(para[:cut])
        para = para[cut:].lstrip()
    if para:
        out.append(para)
    return out


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split one paragraph (or more, newline-separated) into trimmed sentences."""
    out: list[str] = []
    seg = _segmenter(segmenter_language(language))
    for para in text.split("\n"):
        para = _SPACE.sub(" ", para).strip()
        if not para:
            continue
        pending = ""
        for sentence in (s for part in _segments(para) for s in seg.segment(part)):
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


# Language guess for text that does not declare one: the script first, then the most common
# function words of the Latin-script languages we expect opinion pieces in.
_SCRIPTS = [
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
]
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_FUNCTION_WORDS = {
    "en": "the of and to in is that for it with as was on are be this by not but have",
    "fr": "le la les de des et est que une un du pour dans qui sur pas ne au avec il",
    "de": "der die und das ist nicht den von zu mit sich des auf für ein eine dem im",
    "es": "el la de que y los las en por con una para del se es al lo como más",
    "it": "il di che la e le per un una del non della sono gli con si è da nel",
    "pt": "o a de que e os as do da em um uma para com não no na por se é",
    "nl": "de het een en van is dat in op te niet met zijn voor die aan er",
    "sv": "och att det som en på är av för med till den har inte om ett",
    "pl": "i w na nie się z że do to jest jak o po co ale czy",
    "tr": "ve bir bu da de için ile ne çok daha olarak gibi ama kadar",
    "id": "yang dan di ini itu dengan untuk tidak dari dalam akan pada adalah",
}
_FUNCTION_SETS = {lang: set(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_TOKEN = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str | None:
    """ISO 639-1 guess from the script and function words; None when there is too little text."""
    sample = text[:4000]
    letters = len(_LATIN_LETTER.findall(sample))
    for lang, pattern in _SCRIPTS:
        count = len(pattern.findall(sample))
        if count > 20 and count > letters:
            if lang == "ar" and re.search(r"[پچژگ]", sample):
                return "fa"
            if lang == "ar" and re.search(r"[ٹڈڑںے]", sample):
                return "ur"
            if lang == "ru" and re.search(r"[іїєґ]", sample):
                return "uk"
            if lang == "zh" and re.search(r"[\u3040-\u30ff]", sample):
                return "ja"
            return lang
    tokens = _TOKEN.findall(sample.casefold())
    if len(tokens) < 5:
        return None
    counts = Counter(tokens)
    scores = {
        lang: sum(counts[w] for w in words if w in counts) for lang, words in _FUNCTION_SETS.items()
    }
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= max(2, len(tokens) // 20) else None
