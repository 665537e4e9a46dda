"""Extraction quality and speed on the Article Extraction Benchmark pages (../shared/corpus/aeb).

Metric (the benchmark's): 4-token shingles, per-page precision/recall, macro averages, F1 of
the means. Every extractor runs on the same pages in the same run, interleaved round by round;
each keeps its best round. The headline ratio is against plain
``trafilatura.extract(html, include_comments=False)``; the last column is against trafilatura
with its own metadata extraction (``bare_extraction(..., with_metadata=True)``), the fairer
comparison for a pipeline that also reads title, authors and dates. Our caches are emptied before
every round, so repeated rounds do not replay what the same pages taught them.
Run: ``python bench/bench_extraction.py [--corpus ../shared/corpus] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import Target, corpus_or_exit, save_result  # noqa: E402

_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def score(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    precisions, recalls = [], []
    for extracted, truth in pairs:
        got, want = shingles(extracted), shingles(truth)
        tp = sum((got & want).values())
        fp = sum(got.values()) - tp
        fn = sum(want.values()) - tp
        if tp + fp > 0:
            precisions.append(tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(tp / (tp + fn))
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def extractors() -> dict[str, Callable[[str], str]]:
    import trafilatura

    from bot.pipeline.extract import ExtractionError, extract_html

    def ours(html: str) -> str:
        try:
            return extract_html(html).text
        except ExtractionError:
            return ""

    found: dict[str, Callable[[str], str]] = {
        "trafilatura": lambda h: trafilatura.extract(h, include_comments=False) or "",
        "trafilatura+meta": lambda h: (
            getattr(
                trafilatura.bare_extraction(h, include_comments=False, with_metadata=True),
                "text",
                "",
            )
            or ""
        ),
        "commentary-bot": ours,
    }
    try:
        from lxml import html as lxml_html
        from readability import Document

        def readability(h: str) -> str:
            summary = Document(h).summary(html_partial=True)
            return lxml_html.fromstring(summary).text_content() if summary.strip() else ""

        found["readability-lxml"] = readability
    except ImportError:
        print("readability-lxml not installed: column skipped")
    try:
        from newspaper import Article

        def newspaper(h: str) -> str:
            article = Article("https://example.invalid/", fetch_images=False)
            article.download(input_html=h)
            try:
                article.parse()
            except Exception:  # noqa: BLE001 - e.g. a language it has no tokenizer for
                return ""
            return article.text

        found["newspaper4k"] = newspaper
    except ImportError:
        print("newspaper4k not installed: column skipped")
    return found


def main() -> None:
    from bot.pipeline.extract import clear_caches

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds (best is kept)")
    args = parser.parse_args()
    aeb = corpus_or_exit(args.corpus) / "aeb"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for path in sorted((aeb / "html").glob("*.html.gz")):
        page_id = path.name.removesuffix(".html.gz")
        if page_id in truth:
            pages[page_id] = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    print(f"{len(pages)} pages from {aeb}")

    rows = []
    timings: dict[str, float] = {}  # process CPU time: other jobs on a shared machine stay out
    walls: dict[str, float] = {}
    outputs: dict[str, dict[str, str]] = {}
    names = list(extractors().items())
    for round_ in range(args.repeat):
        # Interleave extractors in each round so machine noise hits all of them alike.
        for name, fn in names:
            if name == "commentary-bot":
                clear_caches()
            start, start_cpu = time.perf_counter(), time.process_time()
            out = {pid: fn(html) for pid, html in pages.items()}
            elapsed_cpu = time.process_time() - start_cpu
            elapsed = time.perf_counter() - start
            timings[name] = min(timings.get(name, float("inf")), elapsed_cpu)
            walls[name] = min(walls.get(name, float("inf")), elapsed)
            outputs[name] = out
        print(f"round {round_ + 1}/{args.repeat} done", file=sys.stderr)
    base = timings["trafilatura"]
    base_meta = timings["trafilatura+meta"]
    for name, _ in names:
        pairs = [(outputs[name][pid], truth[pid]["articleBody"]) for pid in pages]
        p, r, f1 = score(pairs)
        wall = walls[name] / walls["trafilatura"]
        rows.append(
            (name, p, r, f1, timings[name], timings[name] / base, timings[name] / base_meta, wall)
        )

    print()
    print(
        f"{'extractor':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'CPU s':>6} "
        f"{'× traf.':>8} {'× traf+meta':>12} {'wall × traf.':>13}"
    )
    for name, p, r, f1, t, ratio, ratio_meta, wall in rows:
        print(
            f"{name:<18} {p:9.3f} {r:7.3f} {f1:6.3f} {t:6.2f} {ratio:8.2f} {ratio_meta:12.2f} "
            f"{wall:13.2f}"
        )
    print("ratios: best round of each, CPU time of this process (wall-clock ratio for reference)")
    f1 = {row[0]: row[3] for row in rows}
    targets = [
        Target("extraction", "AEB F1: ours − trafilatura (not lower)",
               f1["commentary-bot"] - f1["trafilatura"], 0.0, "", lower_is_better=False),
    ]  # fmt: skip
    save_result("extraction", targets, {"f1": f1, "cpu_s": timings})
    ours = outputs["commentary-bot"]
    traf = outputs["trafilatura"]
    changed = [pid for pid in pages if ours[pid].replace("\n\n", "\n") != traf[pid]]
    print(f"\npages where the opinion cleanup changed trafilatura's text: {len(changed)}")
    for pid in changed[:10]:
        a = score([(traf[pid], truth[pid]["articleBody"])])[2]
        b = score([(ours[pid], truth[pid]["articleBody"])])[2]
        print(f"  {pid[:12]}  F1 {a:.3f} -> {b:.3f}")


if __name__ == "__main__":
    main()
