"""Sentence splitting with sentencex (rules for ~300 languages, compiled, thread-safe).

The project keeps this one splitter. sentencex was chosen over pysbd and a hand-written regular
expression (``bench/bench_sentences.py`` compares them): it splits as well on abbreviations,
initials and quotes, keeps Arabic ``،`` ``:`` ``؛`` clauses inside their sentence, and costs
well under a millisecond a page where pysbd cost tens (it recompiles its rules per call).
"""

from __future__ import annotations

import re
from collections import Counter

import sentencex

_SPACE = re.compile(r"\s+")
# A piece that ends on one of these is a clause, never a sentence: it joins the next piece.
_NOT_AN_END = ("،", ",", "؛", ";", ":")
# A list item's number ("9.") or a one-letter Arabic abbreviation ("د." for doctor) cut off
# from what follows it. Matched against the last few characters only: cheap on long text.
_LIST_NUMBER = re.compile(r"\d{1,3}[.)]")
_ARABIC_INITIAL = re.compile(r"(?:^|\s)[\u0621-\u064a]\.$")


def _dangling(piece: str) -> bool:
    return piece[-1] in ".)" and (
        bool(_LIST_NUMBER.fullmatch(piece)) or bool(_ARABIC_INITIAL.search(piece[-3:]))
    )


def _goes_on(piece: str) -> bool:
    """A piece that starts in lower case ("is ...", not "iPhone ..."): the same sentence."""
    return len(piece) > 1 and piece[0].islower() and piece[1].islower()


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split one paragraph (or more, newline-separated) into trimmed sentences."""
    lang = (language or "en").split("-")[0].lower() or "en"
    out: list[str] = []
    for para in text.split("\n"):
        para = _SPACE.sub(" ", para).strip()
        if not para:
            continue
        pending = ""
        first = len(out)  # this paragraph's first sentence
        for sentence in sentencex.segment(lang, para):
            sentence = sentence.strip()
            if not sentence:
                continue
            if not pending and len(out) > first and _goes_on(sentence):
                # "Estamos aquí! is a course ...": a title's "!" or "?" was no sentence's end.
                pending = out.pop()
            pending = f"{pending} {sentence}" if pending else sentence
            if not (pending.endswith(_NOT_AN_END) or _dangling(pending)):
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
