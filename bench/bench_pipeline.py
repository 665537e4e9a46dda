"""The whole piece pipeline (extract + opinion cleanup + summaries) in pieces/s, against
trafilatura alone and newspaper4k on the same AEB pages, in the same run.

"ours, as ingested" is what the poller does for every new piece: extraction plus the three
summary lengths. Timing is process CPU time (this machine is shared), best of ``--repeat``
interleaved rounds; wall-clock ratios are printed for reference.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable

from common import ROOT, corpus_or_exit, machine_line, print_table


def pipelines() -> dict[str, Callable[[str], object]]:
    import trafilatura

    from bot.pipeline.extract import ExtractionError, clear_caches, extract_html
    from bot.pipeline.summarize import summarize, summarize_all

    def ours_full(html: str) -> object:
        try:
            piece = extract_html(html)
        except ExtractionError:
            return None
        return summarize_all(piece)

    def ours_one(html: str) -> object:
        try:
            return summarize(extract_html(html), "standard")
        except ExtractionError:
            return None

    found: dict[str, Callable[[str], object]] = {
        "trafilatura alone (baseline)": lambda h: trafilatura.extract(h, include_comments=False),
        "ours: extract + 1 summary": ours_one,
        "ours, as ingested: extract + 3 summaries": ours_full,
    }
    try:
        from newspaper import Article

        def newspaper(h: str) -> object:
            article = Article("https://example.invalid/", fetch_images=False)
            article.download(input_html=h)
            try:
                article.parse()
            except Exception:  # noqa: BLE001 - a language it has no tokenizer for
                return None
            return article.text

        found["newspaper4k (parse, no nlp)"] = newspaper
    except ImportError:
        print("newspaper4k not installed: row skipped")
    found["_clear"] = lambda _h: clear_caches()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    aeb = corpus_or_exit(args.corpus) / "aeb"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [
        gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
        for p in sorted((aeb / "html").glob("*.html.gz"))
        if p.name.removesuffix(".html.gz") in truth
    ]
    found = pipelines()
    clear = found.pop("_clear")
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    for _ in range(repeat):
        for name, run in found.items():  # interleaved, so load changes hit every row alike
            clear("")
            c0, w0 = time.process_time(), time.perf_counter()
            for html in pages:
                run(html)
            c, w = time.process_time() - c0, time.perf_counter() - w0
            cpu[name] = min(cpu.get(name, c), c)
            wall[name] = min(wall.get(name, w), w)
    base = "trafilatura alone (baseline)"
    rows = [
        (name, len(pages) / cpu[name], cpu[name] / cpu[base], wall[name] / wall[base])
        for name in found
    ]
    print_table(
        f"Piece pipeline over {len(pages)} AEB pages, best of {repeat}",
        ["pipeline", "pieces/s (CPU)", "× trafilatura (CPU)", "× trafilatura (wall)"],
        rows,
        caption=machine_line(),
    )


if __name__ == "__main__":
    main()
