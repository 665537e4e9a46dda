"""Extraction on real sites: WCXB article pages (title, authors, date, body) and AEB bodies.

Side by side with trafilatura in one run, on the same bytes:

- WCXB (``<corpus>/wcxb``, 711 article pages of about 700 sites): trafilatura's
  ``bare_extraction(html, include_comments=False, with_metadata=True)`` against ours
  (``extract_document``, the ingestion path). Titles equal after NFKC + casefold + word
  characters only; author *sets* equal after the same normalisation (names split on ``,`` ``;``
  ``&`` ``and`` ``|``); the published day equal; and, as important, an empty author or date
  where the page names none ("empties kept"). Body F1 is the AEB metric below.
- AEB (``<corpus>/aeb``): body F1 against ``trafilatura.extract(html, include_comments=False)``.

Body F1: 4-token shingles (``\\w+``), per-page precision and recall, macro averages, F1 of the
means. A page that raises anything but ``ExtractionError`` is a crash and is counted (and
listed); the goals are in the last table.
Run: ``python bench/bench_real_sites.py [--corpus ../shared/corpus] [--limit N] [--dump FILE]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import traceback
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from common import RESULTS, ROOT, console, print_table

_WORD = re.compile(r"\w+")
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|\||\band\b)\s*", re.IGNORECASE)


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(extracted: str, truth: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one page; None where the benchmark leaves the page out."""
    got, want = shingles(extracted), shingles(truth)
    tp = sum((got & want).values())
    fp = sum(got.values()) - tp
    fn = sum(want.values()) - tp
    return (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)


def f1(scores: list[tuple[float | None, float | None]]) -> float:
    ps = [p for p, _ in scores if p is not None]
    rs = [r for _, r in scores if r is not None]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def key(text: str | None) -> str:
    return "".join(_WORD.findall(unicodedata.normalize("NFKC", text or "").casefold()))


def author_set(value: str | list[str] | None) -> frozenset[str]:
    names = value if isinstance(value, list) else _AUTHOR_SPLIT.split(value or "")
    return frozenset(k for n in names for part in _AUTHOR_SPLIT.split(n) if (k := key(part)))


def day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value[:10])
    return None


@dataclass
class Result:
    title: str | None = None
    authors: frozenset[str] = frozenset()
    day: date | None = None
    text: str = ""
    crashed: str | None = None


@dataclass
class Tally:
    titles: int = 0
    authors: int = 0
    dates: int = 0
    authors_empty: int = 0
    dates_empty: int = 0
    scores: list = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)


def ours(content: bytes, url: str | None) -> Result:
    from bot.pipeline.document import extract_document
    from bot.pipeline.extract import ExtractionError

    try:
        piece = extract_document(content, url=url, content_type="text/html")
    except ExtractionError:
        return Result()
    return Result(piece.title, author_set(list(piece.authors)), _local_day(piece), piece.text or "")


def _local_day(piece: object) -> date | None:
    # The day the page states: its own offset when the piece kept one (the stamp itself is UTC).
    published = getattr(piece, "published_local", None) or getattr(piece, "published", None)
    return day(published)


def trafilatura_meta(content: bytes, url: str | None) -> Result:
    import trafilatura

    doc = trafilatura.bare_extraction(content, include_comments=False, with_metadata=True)
    if doc is None:
        return Result()
    return Result(doc.title, author_set(doc.author), day(doc.date), doc.text or "")


def trafilatura_plain(content: bytes, url: str | None) -> Result:
    import trafilatura

    return Result(text=trafilatura.extract(content, include_comments=False) or "")


def run(name: str, fn, content: bytes, url: str | None) -> Result:
    try:
        return fn(content, url)
    except Exception as exc:  # noqa: BLE001 - a crash is what this benchmark counts
        result = Result(crashed=f"{type(exc).__name__}: {exc}"[:200])
        console.print(f"[red]{name} crashed[/red]: {result.crashed}")
        traceback.print_exc(limit=3)
        return result


def wcxb_pages(corpus: Path, limit: int | None) -> list[tuple[str, bytes, dict]]:
    folder = corpus / "wcxb"
    types = json.loads((folder / "page-types.json").read_text(encoding="utf-8"))
    pages = []
    for pid in sorted(p for p, kind in types.items() if kind == "article"):
        html = folder / "html" / f"{pid}.html.gz"
        truth = folder / "ground-truth" / f"{pid}.json"
        if html.exists() and truth.exists():
            data = json.loads(truth.read_text(encoding="utf-8"))
            pages.append((pid, gzip.decompress(html.read_bytes()), data))
    return pages[:limit] if limit else pages


def aeb_pages(corpus: Path, limit: int | None) -> list[tuple[str, bytes, dict]]:
    folder = corpus / "aeb"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((folder / "html").glob("*.html.gz")):
        pid = path.name.removesuffix(".html.gz")
        if pid in truth:
            pages.append((pid, gzip.decompress(path.read_bytes()), truth[pid]))
    return pages[:limit] if limit else pages


def seed_pages(corpus: Path) -> list[tuple[str, bytes]]:
    folder = corpus / "seed"
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*")) if p.is_file()]


def score_wcxb(pages, extractors, dump: dict) -> dict[str, Tally]:
    tallies = {name: Tally() for name in extractors}
    for n, (pid, content, data) in enumerate(pages):
        gt = data["ground_truth"]
        url = data.get("url")
        want_authors = author_set(gt.get("author"))
        want_day = day(gt.get("publish_date"))
        row: dict = {
            "url": url,
            "truth": {k: gt.get(k) for k in ("title", "author", "publish_date")},
        }
        for name, fn in extractors.items():
            got = run(name, fn, content, url)
            t = tallies[name]
            if got.crashed:
                t.crashes.append(pid)
            if gt.get("title") and key(got.title) == key(gt["title"]):
                t.titles += 1
            if want_authors and got.authors == want_authors:
                t.authors += 1
            if not want_authors and not got.authors:
                t.authors_empty += 1
            if want_day and got.day == want_day:
                t.dates += 1
            if not want_day and got.day is None:
                t.dates_empty += 1
            t.scores.append(page_scores(got.text, gt.get("main_content") or ""))
            row[name] = {
                "title": got.title,
                "authors": sorted(got.authors),
                "day": got.day.isoformat() if got.day else None,
                "p_r": t.scores[-1],
                "crashed": got.crashed,
            }
        dump[pid] = row
        if (n + 1) % 100 == 0:
            console.print(f"[dim]WCXB {n + 1}/{len(pages)}[/dim]")
    return tallies


def score_aeb(pages, extractors) -> dict[str, Tally]:
    tallies = {name: Tally() for name in extractors}
    for pid, content, truth in pages:
        for name, fn in extractors.items():
            got = run(name, fn, content, truth.get("url"))
            if got.crashed:
                tallies[name].crashes.append(pid)
            tallies[name].scores.append(page_scores(got.text, truth["articleBody"]))
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    parser.add_argument("--dump", default=None, help="write per-page WCXB results to this JSON")
    parser.add_argument("--quick", action="store_true", help="accepted for run_all; same run")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not (corpus / "wcxb").is_dir() or not (corpus / "aeb").is_dir():
        console.print(f"No corpus at {corpus.resolve()} (wcxb/ and aeb/): pass --corpus PATH.")
        sys.exit(2)

    started = time.perf_counter()
    wcxb = wcxb_pages(corpus, args.limit)
    dump: dict = {}
    w = score_wcxb(wcxb, {"trafilatura": trafilatura_meta, "ours": ours}, dump)
    aeb = aeb_pages(corpus, args.limit)
    a = score_aeb(aeb, {"trafilatura": trafilatura_plain, "ours": ours})
    seed_crashes = [
        name for name, content in seed_pages(corpus) if run("ours", ours, content, None).crashed
    ]
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump, ensure_ascii=False, indent=1), "utf-8")

    n = len(wcxb)
    with_title = sum(1 for _, _, d in wcxb if d["ground_truth"].get("title"))
    with_author = sum(1 for _, _, d in wcxb if author_set(d["ground_truth"].get("author")))
    with_date = sum(1 for _, _, d in wcxb if day(d["ground_truth"].get("publish_date")))
    t, o = w["trafilatura"], w["ours"]
    yes_no = {None: "", True: "yes", False: "NO"}

    def count(measure: str, attr: str, of: int, goal: bool | None) -> tuple[str, ...]:
        mine, theirs = getattr(o, attr), getattr(t, attr)
        return measure, f"{theirs}/{of}", f"{mine}/{of}", yes_no[goal and mine >= theirs]

    body_t, body_o = f1(t.scores), f1(o.scores)
    print_table(
        f"WCXB article pages ({n}): trafilatura bare_extraction(with_metadata=True) vs ours",
        ["measure", "trafilatura", "ours", "goal met"],
        [
            count("titles right", "titles", with_title, True),
            count("author sets right", "authors", with_author, True),
            count("dates right (day)", "dates", with_date, True),
            count("no author: left empty", "authors_empty", n - with_author, None),
            count("no date: left empty", "dates_empty", n - with_date, None),
            ("body F1", f"{body_t:.4f}", f"{body_o:.4f}", yes_no[body_o >= body_t + 0.005]),
            ("crashes", str(len(t.crashes)), str(len(o.crashes)), yes_no[not o.crashes]),
        ],
    )
    at, ao = a["trafilatura"], a["ours"]
    print_table(
        f"AEB pages ({len(aeb)}): trafilatura.extract vs ours",
        ["measure", "trafilatura", "ours", "goal met"],
        [
            ("body F1", f"{f1(at.scores):.4f}", f"{f1(ao.scores):.4f}",
             yes_no[f1(ao.scores) >= f1(at.scores)]),
            ("crashes", str(len(at.crashes)), str(len(ao.crashes)), yes_no[not ao.crashes]),
            ("seed files crashing", "", str(len(seed_crashes)), yes_no[not seed_crashes]),
        ],
    )  # fmt: skip
    for label, crashes in (("WCXB", o.crashes), ("AEB", ao.crashes), ("seed", seed_crashes)):
        if crashes:
            console.print(f"{label} pages that crashed ours: {', '.join(crashes)}")
    console.print(f"[dim]{time.perf_counter() - started:.0f} s[/dim]")

    RESULTS.mkdir(parents=True, exist_ok=True)
    targets = [
        _target("WCXB titles", o.titles, t.titles),
        _target("WCXB author sets", o.authors, t.authors),
        _target("WCXB dates", o.dates, t.dates),
        _target("WCXB body F1 (traf. + 0.005)", f1(o.scores), f1(t.scores) + 0.005),
        _target("AEB body F1", f1(ao.scores), f1(at.scores)),
        _target("pages crashing", len(o.crashes) + len(ao.crashes) + len(seed_crashes), 0, False),
    ]
    (RESULTS / "real_sites.json").write_text(json.dumps({"targets": targets}, indent=1), "utf-8")


def _target(what: str, measured: float, limit: float, higher_is_better: bool = True) -> dict:
    return {
        "benchmark": "real_sites",
        "what": what,
        "measured": measured,
        "limit": limit,
        "unit": "",
        "lower_is_better": not higher_is_better,
        "met": measured >= limit if higher_is_better else measured <= limit,
    }


if __name__ == "__main__":
    main()
