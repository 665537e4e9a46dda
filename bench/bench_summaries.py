"""Summary quality: ROUGE of our extractive summaries against editor-written references.

References: each AEB page's meta/og description (removed from the page before extraction) and
the seed column's standfirst (a separate field, never part of the text that is summarized).
Baselines in the same run: Lead-3 and a small TextRank. The summarizer reads only the body
text (never the standfirst, which on some pages is the description itself), so nothing of the
reference reaches it; the table also splits our score by the genre the summarizer saw. Run:
``python bench/bench_summaries.py [--corpus ../shared/corpus]`` (needs rouge-score).
"""

from __future__ import annotations

import argparse
import gzip
import math
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import corpus_or_exit  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from bot.pipeline import ExtractionError, extract_html, extract_text, summarize  # noqa: E402
from bot.pipeline.summarize import candidate_sentences  # noqa: E402

_DESCRIPTION = re.compile(
    r"<meta\b[^>]*(?:name|property)\s*=\s*[\"'](?:description|og:description|"
    r"twitter:description)[\"'][^>]*>",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"content\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE | re.DOTALL)


def reference_and_page(html: str) -> tuple[str | None, str]:
    refs = []
    for tag in _DESCRIPTION.findall(html):
        m = _CONTENT.search(tag)
        if m:
            refs.append((m.group(1) or m.group(2) or "").strip())
    refs = [r for r in refs if len(r.split()) >= 8]
    import html as htmllib

    ref = htmllib.unescape(max(refs, key=len)) if refs else None
    return ref, _DESCRIPTION.sub("", html)


def lead(piece, n: int = 3) -> list[str]:
    return [s.text for s in candidate_sentences(piece)[:n]]


def textrank(piece, n: int = 3) -> list[str]:
    sents = candidate_sentences(piece)
    if len(sents) <= n:
        return [s.text for s in sents]
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
    return [sents[i].text for i in sorted(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--show", type=int, default=4)
    args = parser.parse_args()
    corpus = corpus_or_exit(args.corpus)
    items = []
    seed = corpus / "seed" / "kerry-moscow-visit.txt"
    if seed.exists():
        piece = extract_text(seed.read_text(encoding="utf-8"))
        ref, piece.standfirst = piece.standfirst, None
        items.append(("seed", ref, piece))
    for path in sorted((corpus / "aeb" / "html").glob("*.html.gz")):
        ref, page = reference_and_page(
            gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        )
        if not ref:
            continue
        try:
            piece = extract_html(page)
        except ExtractionError:
            continue
        if piece.language not in (None, "en"):
            continue  # rouge-score tokenizes ASCII words only
        items.append((path.name[:12], ref, piece))

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    systems = {
        "Lead-3": lambda p: lead(p, 3),
        "TextRank-3": lambda p: textrank(p, 3),
        "ours standard": lambda p: summarize(p, "standard").sentences,
        "Lead-1": lambda p: lead(p, 1),
        "ours short": lambda p: summarize(p, "short").sentences,
    }
    totals = {name: Counter() for name in systems}
    found = {name: [0, 0] for name in systems}
    outputs: dict[str, list[str]] = {}
    for key, ref, piece in items:
        for name, fn in systems.items():
            sentences = fn(piece)
            text = " ".join(sentences)
            if name == "ours standard":
                outputs[key] = sentences
            for metric, value in scorer.score(ref, text).items():
                totals[name][metric] += value.fmeasure
            found[name][0] += sum(s in piece.text for s in sentences)
            found[name][1] += len(sentences)
    n = len(items)
    print(f"{n} pieces with an editor-written reference (English; seed + AEB)\n")
    print(f"{'system':<15} {'R-1 F':>6} {'R-2 F':>6} {'R-L F':>6} {'in source':>10}")
    for name in systems:
        t = totals[name]
        share = found[name][0] / max(1, found[name][1])
        r1, r2, rl = t["rouge1"] / n, t["rouge2"] / n, t["rougeL"] / n
        print(f"{name:<15} {r1:6.3f} {r2:6.3f} {rl:6.3f} {share:10.1%}")
    from bot.pipeline.summarize import genre

    by_genre: dict[str, list[tuple[float, float]]] = {}
    for _key, ref, piece in items:
        ours = scorer.score(ref, summarize(piece, "standard").text)["rougeL"].fmeasure
        lead3 = scorer.score(ref, " ".join(lead(piece, 3)))["rougeL"].fmeasure
        by_genre.setdefault(genre(piece), []).append((ours, lead3))
    for name, scores in sorted(by_genre.items()):
        ours_mean = sum(o for o, _ in scores) / len(scores)
        lead_mean = sum(b for _, b in scores) / len(scores)
        print(
            f"  {name:<8} {len(scores):3d} pieces: R-L ours {ours_mean:.3f}, Lead-3 {lead_mean:.3f}"
        )
    print()
    for key, ref, _ in items[: args.show]:
        print(f"[{key}] reference: {ref}")
        print(f"{' ' * (len(key) + 2)} ours:      {' '.join(outputs[key])}\n")


if __name__ == "__main__":
    main()
