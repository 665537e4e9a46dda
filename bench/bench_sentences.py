"""Sentence splitters compared: boundary accuracy on hand-written cases, speed on real pages.

The project keeps one splitter (``bot.pipeline.sentences``). Candidates, run on the same text:
pysbd (the previous choice, through the old wrapper's merging of Arabic clauses), sentencex,
a plain regular-expression splitter written for this comparison, and the project's splitter.
Accuracy: exact match of the split on the cases in ``bench/data/sentence_cases.py`` (English
abbreviations, initials, quotes, decimals, ellipses; Arabic ``،`` ``:`` ``؛`` clauses, ``؟``,
quotes). Speed: milliseconds per page over the bodies of the AEB and WCXB pages in
``../shared/corpus`` (the ground-truth texts, so extraction is not timed), as a ratio to the
project's splitter, median of ``--runs`` runs with the spread. Run:
``python bench/bench_sentences.py [--corpus ../shared/corpus] [--runs 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import console, corpus_or_exit, machine  # noqa: E402
from data.sentence_cases import CASES  # noqa: E402
from rich.table import Table  # noqa: E402

from bot.pipeline.sentences import split_sentences  # noqa: E402

Splitter = Callable[[str, str], list[str]]


def _pysbd() -> Splitter:
    import pysbd
    from pysbd.languages import LANGUAGE_CODES

    cache: dict[str, pysbd.Segmenter] = {}

    def split(text: str, lang: str) -> list[str]:
        lang = lang if lang in LANGUAGE_CODES else "en"
        seg = cache.get(lang) or cache.setdefault(lang, pysbd.Segmenter(language=lang, clean=False))
        out: list[str] = []
        for para in text.split("\n"):
            pending = ""
            for s in seg.segment(" ".join(para.split())):
                s = s.strip()
                if not s:
                    continue
                pending = f"{pending} {s}" if pending else s
                if not pending.endswith(("،", ",", "؛", ":")):  # the old wrapper's Arabic fix
                    out.append(pending)
                    pending = ""
            if pending:
                out.append(pending)
        return out

    return split


def _sentencex() -> Splitter:
    import sentencex

    def split(text: str, lang: str) -> list[str]:
        out: list[str] = []
        for para in text.split("\n"):
            out.extend(s.strip() for s in sentencex.segment(lang, para) if s.strip())
        return out

    return split


_END = re.compile(r"(?<=[.!?؟…])[\"'”’»)\]]*\s+(?=[\"'“‘«(\[]?[^\W\d_a-z]|\d)")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|Inc|Ltd|Co|Corp|"
    r"vs|etc|No|Vol|Fig|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z])\.$"
)


def _regex() -> Splitter:
    def split(text: str, lang: str) -> list[str]:
        out: list[str] = []
        for para in text.split("\n"):
            para = " ".join(para.split())
            start = 0
            for m in _END.finditer(para):
                head = para[start : m.start()]
                if _ABBREV.search(head):
                    continue
                out.append(para[start : m.start()].strip() + m.group(0).strip())
                start = m.end()
            if para[start:].strip():
                out.append(para[start:].strip())
        return [s for s in out if s]

    return split


def _project() -> Splitter:
    return lambda text, lang: split_sentences(text, lang)


SPLITTERS: dict[str, Callable[[], Splitter]] = {
    "project (bot.pipeline.sentences)": _project,
    "sentencex": _sentencex,
    "pysbd + clause merge": _pysbd,
    "regex": _regex,
}


def corpus_pages(corpus: Path) -> list[tuple[str, str]]:
    """(language, body) of every ground-truth body in the corpus."""
    pages = []
    truth = json.loads((corpus / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for item in truth.values():
        pages.append(("en", item["articleBody"]))
    for path in sorted((corpus / "wcxb" / "ground-truth").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))["ground_truth"].get("main_content")
        if body:
            pages.append(("en", body))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--quick", action="store_true", help="one run over 200 pages")
    args = parser.parse_args()
    corpus = corpus_or_exit(args.corpus)
    pages = corpus_pages(corpus)
    if args.quick:
        args.runs, pages = 1, pages[:200]
    info = machine()
    console.print(
        f"{info['cores']} cores, {info['cpu']}, Python {info['python']}, "
        f"load {info.get('load_1m')}; {len(pages)} pages, {args.runs} runs"
    )
    splitters = {name: make() for name, make in SPLITTERS.items()}
    accuracy: dict[str, dict[str, tuple[int, int]]] = {}
    for name, split in splitters.items():
        per_lang: dict[str, list[int]] = {}
        for lang, text, expected in CASES:
            got = split(text, lang)
            ok = got == expected
            per_lang.setdefault(lang, [0, 0])
            per_lang[lang][0] += ok
            per_lang[lang][1] += 1
            if not ok and args.show_misses:
                console.print(
                    f"{name}: {lang} miss: {got!r}\n   expected {expected!r}", markup=False
                )
        accuracy[name] = {lang: (v[0], v[1]) for lang, v in per_lang.items()}

    times: dict[str, list[float]] = {name: [] for name in splitters}
    for _ in range(args.runs):
        for name, split in splitters.items():  # interleaved, so load drifts hit all alike
            started = time.process_time()
            for lang, body in pages:
                split(body, lang)
            times[name].append((time.process_time() - started) * 1000 / len(pages))
    base = statistics.median(times[next(iter(splitters))])
    table = Table(title="Sentence splitters (accuracy: exact split of the hand-written cases)")
    for col in ("splitter", "English cases", "Arabic cases", "ms/page median", "spread", "ratio"):
        table.add_column(col, justify="left" if col == "splitter" else "right")
    for name in splitters:
        acc = accuracy[name]
        ms = statistics.median(times[name])
        spread = f"{min(times[name]):.2f}–{max(times[name]):.2f}"
        table.add_row(
            name,
            "{}/{}".format(*acc.get("en", (0, 0))),
            "{}/{}".format(*acc.get("ar", (0, 0))),
            f"{ms:.2f}",
            spread,
            f"{ms / base:.2f}×",
        )
    console.print(table)


if __name__ == "__main__":
    main()
