"""Summary quality: ROUGE against editor-written references, opinion and news, with baselines.

References are the editors' own: the seed column's standfirst, and each page's meta/og/twitter
description, removed from the page before extraction (and any body paragraph that repeats it,
a dek shown on the page, is dropped too), so nothing of the reference reaches the summarizer.

Pages are grouped by what the page itself says, never by our classifier:
- opinion: schema.org ``OpinionNewsArticle``, an opinion/comment/column section in the page's
  canonical or og:url path, or an opinion ``article:section``/``articleSection``. Read from
  the AEB and WCXB pages of ``../shared/corpus`` at run time, the seed column, and a small set
  of extractors' public test pages in ``bench/data/opinion_pages/`` (sources and licences in
  ``sources.json`` beside them).
- news: the other AEB pages (a news benchmark) and WCXB pages its annotators tagged "news".
- opinion (annotators): WCXB pages whose annotators tagged them opinion/editorial/commentary,
  shown apart because the label is not the page's own.

Systems, in one run: ours (standard length), Lead-3, the same-length lede (the body's opening
words, as many as ours has), TextRank (3 sentences) and Edmundson's title and location methods
(the 2 sentences nearest the headline, the opening two ahead of equals: an extractive summary
with no thesis line, which shows what ours pays for carrying one). Each row gives ROUGE-1/2/L
F1 means and, for R-L, ours minus the baseline with a 95 % paired-bootstrap interval, then the
per-page differences: their median, smallest and largest, and on how many pages ours is ahead.
Pages split by a hash of their id into a tuning half and a report half (``--split``); README
quotes ``report``.
Run: ``python bench/bench_summaries.py [--corpus ../shared/corpus] [--split report|tune|all]``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html as htmllib
import json
import math
import random
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Target, console, corpus_or_exit, save_result  # noqa: E402
from lxml import etree  # noqa: E402
from lxml import html as lxml_html  # noqa: E402
from rich.table import Table  # noqa: E402
from rouge_score import rouge_scorer, tokenizers  # noqa: E402

from bot.pipeline import ExtractionError, extract_html, extract_text  # noqa: E402
from bot.pipeline.sections import page_sections  # noqa: E402
from bot.pipeline.summarize import (  # noqa: E402
    _cosine,
    _stopwords,
    _terms,
    candidate_sentences,
    summarize,
)
from bot.types import ExtractedPiece  # noqa: E402

DATA = ROOT / "bench" / "data" / "opinion_pages"

_DESCRIPTION = re.compile(
    r"<meta\b[^>]*(?:name|property)\s*=\s*[\"'](?:description|og:description|"
    r"twitter:description)[\"'][^>]*>",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"content\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE | re.DOTALL)
_CANONICAL = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"<link[^>]+rel=[\"']canonical[\"'][^>]*href=[\"']([^\"']+)",
        r"<link[^>]+href=[\"']([^\"']+)[\"'][^>]*rel=[\"']canonical",
        r"<meta[^>]+property=[\"']og:url[\"'][^>]*content=[\"']([^\"']+)",
        r"<meta[^>]+content=[\"']([^\"']+)[\"'][^>]*property=[\"']og:url",
    )
]
# The names outlets give their opinion sections, in the languages of the pages read here: a
# whole URL path segment ("/opinion/", "/kolumnister/", French "/chroniques/": columns) or its
# first word ("/meinung-analyse/", "/Kommentar-Klima-..."); French "comment-" ("how ...") is not
# one.
_OPINION_NAMES = (
    r"opinions?|opinion[ei]|opini[oó]n|opiniones|opini[aã]o|opinie|meinung|kommentare?|"
    r"kolumnen?|kolumnister|kolumne|gastbeitr[aä]ge?|leitartikel|standpunkt|commentisfree|"
    r"columnists?|columns?|commentary|op-?eds?|editorials?|editoriale|views|viewpoints?|"
    r"tribunes|idees|debatt|ledare|kronikk|chroniques?"
)
_OPINION_SEGMENT = re.compile(rf"^(?:(?:{_OPINION_NAMES}|comment)$|(?:{_OPINION_NAMES})-)", re.I)
_SECTION = re.compile(
    r"<meta[^>]+(?:property|name)=[\"'](?:article:section|og:section|parsely-section)[\"']"
    r"[^>]*content=[\"']([^\"']+)|\"articleSection\"\s*:\s*\[?\s*\"([^\"]+)\"",
    re.IGNORECASE,
)
_OPINION_SECTION = re.compile(rf"\b(?:{_OPINION_NAMES}|comment|opinion blog)\b", re.IGNORECASE)
_SCHEMA_OPINION = re.compile(r"\"@type\"\s*:\s*\[?[^\]]{0,40}\"OpinionNewsArticle\"")
_ANNOTATED_OPINION = {"opinion", "editorial", "commentary", "op-ed", "column", "essay"}


@dataclass
class Item:
    key: str
    group: str  # "opinion", "news" or "opinion (annotators)"
    label: str  # why: the page's own signal
    reference: str
    piece: ExtractedPiece


def page_label(html: str, url: str | None) -> str | None:
    """Why the page calls itself opinion, or None."""
    if _SCHEMA_OPINION.search(html):
        return "schema.org OpinionNewsArticle"
    urls = [m.group(1) for p in _CANONICAL if (m := p.search(html))] + ([url] if url else [])
    for u in urls:
        if any(_OPINION_SEGMENT.search(seg) for seg in urlsplit(u).path.split("/")):
            return "section in URL"
    for m in _SECTION.finditer(html):
        if _OPINION_SECTION.search(m.group(1) or m.group(2) or ""):
            return "article section"
    try:  # the page's section labels: meta tags, JSON-LD and its breadcrumb trail
        labels = page_sections(lxml_html.fromstring(html.encode("utf-8", "replace")))
    except (etree.ParserError, ValueError):
        labels = []
    if any(_OPINION_SECTION.search(label) for label in labels):
        return "section label"
    return None


def reference_and_page(html: str) -> tuple[str | None, str]:
    """The longest editor description (8+ words) and the page with every description removed."""
    refs = []
    for tag in _DESCRIPTION.findall(html):
        m = _CONTENT.search(tag)
        if m:
            refs.append(htmllib.unescape(m.group(1) or m.group(2) or "").strip())
    refs = [r for r in refs if len(r.split()) >= 8]
    return (max(refs, key=len) if refs else None), _DESCRIPTION.sub("", html)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def without_reference(piece: ExtractedPiece, reference: str) -> ExtractedPiece:
    """The piece with no standfirst and no body paragraph that repeats the reference."""
    ref = Counter(_words(reference))
    kept = []
    for para in piece.text.split("\n"):
        words = Counter(_words(para))
        overlap = sum((words & ref).values()) / max(1, min(sum(words.values()), sum(ref.values())))
        if words and overlap >= 0.8:
            continue  # the description shown on the page as its dek
        kept.append(para)
    piece.text = "\n".join(kept)
    piece.standfirst = None
    return piece


def load(corpus: Path) -> list[Item]:
    items: list[Item] = []
    seed = corpus / "seed" / "kerry-moscow-visit.txt"
    if seed.exists():
        piece = extract_text(seed.read_text(encoding="utf-8"))
        ref = piece.standfirst or ""
        items.append(Item("seed", "opinion", "seed column", ref, without_reference(piece, ref)))

    def add(key: str, html: str, url: str | None, group: str | None, label: str = "") -> None:
        ref, page = reference_and_page(html)
        if not ref:
            return
        own = page_label(html, url)
        group = "opinion" if own else group
        if group is None:
            return
        try:
            piece = extract_html(page, url=url)
        except ExtractionError:
            return
        if len(candidate_sentences(piece)) < 4:
            return  # too little text to summarize
        items.append(Item(key, group, own or label, ref, without_reference(piece, ref)))

    truth = json.loads((corpus / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for path in sorted((corpus / "aeb" / "html").glob("*.html.gz")):
        page_id = path.name.split(".")[0]
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        add("aeb:" + page_id[:10], html, truth.get(page_id, {}).get("url"), "news", "AEB")
    for path in sorted((corpus / "wcxb" / "ground-truth").glob("*.json")):
        gt = json.loads(path.read_text(encoding="utf-8"))
        tags = set(gt.get("_internal", {}).get("page_type", {}).get("tags") or [])
        group = (
            "opinion (annotators)"
            if tags & _ANNOTATED_OPINION
            else "news"
            if "news" in tags
            else None
        )
        page = corpus / "wcxb" / "html" / f"{path.stem}.html.gz"
        if page.exists():
            html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
            add("wcxb:" + path.stem, html, gt.get("url"), group, "WCXB tag")
    for source in json.loads((DATA / "sources.json").read_text(encoding="utf-8")):
        html = gzip.decompress((DATA / source["file"]).read_bytes()).decode("utf-8", "replace")
        add("data:" + source["file"][:24], html, source.get("url"), None)
    return items


def in_split(key: str, split: str) -> bool:
    if split == "all":
        return True
    tune = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0
    return tune == (split == "tune")


# -- systems --------------------------------------------------------------------------------


def lead(piece: ExtractedPiece, n: int = 3) -> str:
    return " ".join(s.text for s in candidate_sentences(piece)[:n])


def same_length_lede(piece: ExtractedPiece, words: int) -> str:
    """The body's opening words, as many as the summary it is compared with."""
    return " ".join(piece.text.split()[:words])


def title_location(piece: ExtractedPiece, n: int = 2) -> str:
    """Edmundson's title and location methods: the ``n`` sentences closest to the headline (cosine
    over content words), the opening two sentences ahead of equals, fragments and questions
    behind; in reading order, no near-repeats. No thesis line: it shows what one costs."""
    sents = candidate_sentences(piece)
    title = _terms(piece.title or "", _stopwords((piece.language or "en").split("-")[0]))

    def value(s: Any) -> float:
        v = _cosine(s.words, title) + (0.22 if s.order < 2 else 0.0)
        return v - (0.16 if s.n_words < 10 else 0.0) - (0.08 if s.text.endswith("?") else 0.0)

    chosen: list[Any] = []
    for s in sorted(sents, key=lambda s: (-value(s), s.order)):
        if len(chosen) == n:
            break
        if all(_cosine(s.words, c.words) <= 0.5 for c in chosen):
            chosen.append(s)
    return " ".join(s.text for s in sorted(chosen, key=lambda s: s.order))


def textrank(piece: ExtractedPiece, n: int = 3) -> str:
    sents = candidate_sentences(piece)
    if len(sents) <= n:
        return " ".join(s.text for s in sents)
    vecs = [Counter(s.words) for s in sents]

    def sim(a: Counter, b: Counter) -> float:
        common = sum(min(a[k], b[k]) for k in a if k in b)
        if not common:
            return 0.0
        return common / (math.log(sum(a.values()) + 1) + math.log(sum(b.values()) + 1) + 1e-9)

    m = [[sim(a, b) if i != j else 0.0 for j, b in enumerate(vecs)] for i, a in enumerate(vecs)]
    out = [sum(row) or 1.0 for row in m]
    rank = [1.0] * len(sents)
    for _ in range(30):
        rank = [
            0.15 + 0.85 * sum(m[j][i] / out[j] * rank[j] for j in range(len(sents)))
            for i in range(len(sents))
        ]
    top = sorted(range(len(sents)), key=lambda i: -rank[i])[:n]
    return " ".join(sents[i].text for i in sorted(top))


class _UnicodeTokenizer(tokenizers.Tokenizer):
    """Words in any script (rouge-score's default keeps ASCII only); no stemming."""

    def tokenize(self, text: str) -> list[str]:
        return _words(text)


def paired_bootstrap(
    diffs: list[float], rounds: int = 10_000, seed: int = 7
) -> tuple[float, float]:
    """95 % interval of the mean of paired differences."""
    if not diffs:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--split", choices=("report", "tune", "all"), default="report")
    parser.add_argument("--length", choices=("short", "standard", "long"), default="standard")
    parser.add_argument("--show", type=int, default=3, help="print this many opinion examples")
    parser.add_argument("--quick", action="store_true", help="(same run; accepted for run_all)")
    args = parser.parse_args()
    corpus = corpus_or_exit(args.corpus)
    items = [i for i in load(corpus) if in_split(i.key, args.split)]
    english = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    other = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_UnicodeTokenizer())

    def score(item: Item, text: str) -> dict[str, float]:
        english_text = (item.piece.language or "en").startswith("en")
        scorer = english if english_text else other
        return {k: v.fmeasure for k, v in scorer.score(item.reference, text).items()}

    systems: dict[str, Callable[[Item, str], str]] = {
        "Lead-3": lambda it, ours: lead(it.piece, 3),
        "same-length lede": lambda it, ours: same_length_lede(it.piece, len(ours.split())),
        "TextRank-3": lambda it, ours: textrank(it.piece, 3),
        "title+location-2": lambda it, ours: title_location(it.piece, 2),
    }
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    examples: list[tuple[Item, str]] = []
    faithful = [0, 0]
    for item in items:
        summary = summarize(item.piece, args.length)
        ours = summary.text
        faithful[0] += sum(s in item.piece.text for s in summary.sentences)
        faithful[1] += len(summary.sentences)
        row = results.setdefault(item.group, {})
        row.setdefault("ours", []).append(score(item, ours))
        for name, fn in systems.items():
            row.setdefault(name, []).append(score(item, fn(item, ours)))
        if item.group == "opinion":
            examples.append((item, ours))

    split_note = {"report": "report half", "tune": "tuning half", "all": "all pages"}[args.split]
    table = Table(
        title=f"Summaries ({args.length}) vs editor references — {split_note}; "
        f"Δ R-L = ours − system, 95 % paired bootstrap"
    )
    for col in (
        "pages",
        "system",
        "R-1",
        "R-2",
        "R-L",
        "Δ R-L [95 % CI]",
        "per page Δ: median (min, max), ahead",
    ):
        table.add_column(col, justify="left" if col in ("pages", "system") else "right")
    summary_json: dict[str, dict[str, float]] = {}
    for group in ("opinion", "opinion (annotators)", "news"):
        rows = results.get(group)
        if not rows:
            continue
        n = len(rows["ours"])
        for name, scores in rows.items():
            mean = {k: sum(s[k] for s in scores) / n for k in ("rouge1", "rouge2", "rougeL")}
            if name == "ours":
                delta = spread = ""
            else:
                diffs = [
                    o["rougeL"] - b["rougeL"] for o, b in zip(rows["ours"], scores, strict=True)
                ]
                lo, hi = paired_bootstrap(diffs)
                delta = f"{sum(diffs) / n:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                ahead = sum(d > 0 for d in diffs)
                spread = (
                    f"{statistics.median(diffs):+.3f} ({min(diffs):+.3f}, {max(diffs):+.3f}), "
                    f"{ahead}/{n}"
                )
            summary_json[f"{group}/{name}"] = {**mean, "n": n}
            table.add_row(
                f"{group} ({n})" if name == "ours" else "",
                name,
                f"{mean['rouge1']:.3f}",
                f"{mean['rouge2']:.3f}",
                f"{mean['rougeL']:.3f}",
                delta,
                spread,
            )
        table.add_section()
    console.print(table)
    console.print(f"sentences found verbatim in the source: {faithful[0]}/{faithful[1]}")
    labels = Counter(i.label for i in items if i.group == "opinion")
    console.print("opinion pages by the page's own label: " + ", ".join(
        f"{k} {v}" for k, v in labels.most_common()
    ))  # fmt: skip
    verbatim = faithful[0] / faithful[1] if faithful[1] else float("nan")
    targets = [
        Target("summaries", "summary sentences found verbatim in the text", verbatim, 1.0, "",
               lower_is_better=False),
    ]  # fmt: skip
    save_result("summaries", targets, {"split": args.split, "length": args.length, **summary_json})
    for item, ours in examples[: args.show]:
        console.print(f"\n[{item.key}] reference: {item.reference}", markup=False)
        console.print(f"   ours: {ours}", markup=False)


if __name__ == "__main__":
    main()
