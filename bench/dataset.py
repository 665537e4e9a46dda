"""Synthetic databases of realistic size for the memory and latency benchmarks, cached on disk.

A ``Spec`` (sources, chats, subscriptions, pieces) becomes a SQLite file under
``bench/results/`` built through the real migrations and ``bench/bulk.py``; the same spec and
generator version reuse the file. Text is English-like: sentences drawn word by word from
wordfreq's frequencies (so common words are common, rare ones rare, as FTS sees real text),
about 900 words a piece, with summaries, authors, links, seen entries, and the delivery and
message history a bot would have accumulated (one sent post per source subscriber per piece).
Popularity is skewed (Zipf) so a few sources and authors have thousands of followers.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import bulk
from common import RESULTS, console

from storage.db import open_database

VERSION = 1  # bump when the generator changes: cached files are keyed on it

FIRST_NAMES = (
    "Ada Alan Amara Ana Ben Carla Chen Dana David Elena Emma Farah Felix Grace Hana Hugo Ian "
    "Ines Jack Jana Jonas Kai Kofi Lara Leo Lina Luca Maya Mina Nadia Noah Omar Priya Rosa "
    "Ruth Sam Sara Tariq Theo Uma Vera Wei Yara Yusuf Zoe Marta Pablo Irene Oskar Nia"
).split()
COMMON_QUERY = "government"  # in about a third of the pieces
MEDIUM_QUERY = "inflation"  # in about 1 %
RARE_QUERY = "zebra"  # in a handful


@dataclass(frozen=True)
class Spec:
    sources: int = 5000
    chats: int = 10_000
    subscriptions: int = 50_000
    pieces: int = 100_000
    seed: int = 9

    @property
    def path(self) -> Path:
        return RESULTS / (
            f"bench-v{VERSION}-{self.sources}src-{self.chats}chats-{self.subscriptions}subs-"
            f"{self.pieces}pieces.db"
        )

    def source_name(self, rank: int) -> str:
        """The name of the ``rank``-th most followed source (0 = the most followed)."""
        return f"outlet-{rank + 1:04d}"


FULL = Spec()
SMALL = Spec(pieces=1000)


def ensure(spec: Spec) -> Path:
    """The database file for ``spec``, generated unless a cached copy exists."""
    if spec.path.exists():
        return spec.path
    RESULTS.mkdir(parents=True, exist_ok=True)
    partial = spec.path.with_suffix(".partial")
    for leftover in RESULTS.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    console.print(f"generating {spec.path.name} (cached for later runs) ...")
    generate(spec, partial)
    partial.rename(spec.path)
    console.print(f"generated in {time.perf_counter() - started:.0f}s")
    return spec.path


def working_copy(spec: Spec, folder: Path) -> Path:
    """A private copy of the cached database (benchmarks write to it; the cache stays clean)."""
    target = folder / spec.path.name
    shutil.copyfile(ensure(spec), target)
    return target


class Words:
    """English-like text: words drawn with their real frequencies, in sentences."""

    def __init__(self, rng: random.Random, vocabulary: int = 20_000, pool: int = 40_000) -> None:
        from wordfreq import top_n_list, word_frequency

        self.rng = rng
        self.vocab = [w for w in top_n_list("en", vocabulary) if w.isalpha()]
        self.cum = list(accumulate(word_frequency(w, "en") for w in self.vocab))
        # Sentences are drawn once and reused: texts are fast to make, statistics stay right.
        self.sentences = [self._sentence() for _ in range(pool)]

    def word(self) -> str:
        return self.vocab[bisect(self.cum, self.rng.random() * self.cum[-1])]

    def _sentence(self) -> str:
        words = [self.word() for _ in range(self.rng.randint(8, 30))]
        return " ".join(words).capitalize() + "."

    def sentence(self) -> str:
        return self.rng.choice(self.sentences)

    def paragraphs(self, sentences: int) -> list[list[str]]:
        out: list[list[str]] = []
        while sentences > 0:
            n = min(sentences, self.rng.randint(3, 6))
            out.append([self.sentence() for _ in range(n)])
            sentences -= n
        return out

    def title(self) -> str:
        # Titles lean on mid-frequency words, as headlines do.
        words = [self.vocab[self.rng.randint(100, 6000)] for _ in range(self.rng.randint(5, 11))]
        return " ".join(words).capitalize()


def _zipf_cum(n: int, s: float = 1.0) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** s for rank in range(n)))


def _pick(rng: random.Random, cum: list[float]) -> int:
    return bisect(cum, rng.random() * cum[-1])


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def generate(spec: Spec, path: Path) -> None:
    rng = random.Random(spec.seed)
    db = open_database(path)
    bulk.fast_writes(db)
    now = datetime.now(UTC).replace(microsecond=0)
    created = _iso(now - timedelta(days=800))

    # Sources, ranked by popularity: source id = rank + 1.
    bulk.insert_rows(db, "sources", (
        (i + 1, spec.source_name(i), f"https://outlet{i + 1}.example/opinion/feed.xml", "feed",
         1800, f"Outlet {i + 1} Opinion", _iso(now), _iso(now + timedelta(minutes=30)), 1,
         created)
        for i in range(spec.sources)
    ))  # fmt: skip

    # Authors: every source has a handful of regular columnists.
    words = Words(rng)
    surnames = sorted({w.capitalize() for w in words.vocab[2000:6000] if len(w) > 3})
    n_authors = max(50, spec.sources * 4)
    names = [
        FIRST_NAMES[i % len(FIRST_NAMES)] + " " + surnames[i // len(FIRST_NAMES) % len(surnames)]
        for i in range(n_authors)
    ]
    names = list(dict.fromkeys(names))
    bulk.insert_rows(db, "authors", (
        (i + 1, name, f"{name} writes about {words.title().lower()}." if i % 3 == 0 else None)
        for i, name in enumerate(names)
    ))  # fmt: skip
    columnists = {s: [rng.randrange(len(names)) + 1 for _ in range(5)] for s in
                  range(1, spec.sources + 1)}  # fmt: skip

    # Chats: mostly Telegram (private, groups, channels), some Discord channels.
    chat_rows = []
    for i in range(spec.chats):
        roll = rng.random()
        if roll < 0.56:
            platform, kind, pid = "telegram", "private", str(100_000 + i)
        elif roll < 0.72:
            platform, kind, pid = "telegram", "group", str(-1_000_000_000_000 - i)
        elif roll < 0.80:
            platform, kind, pid = "telegram", "channel", str(-1_000_500_000_000 - i)
        else:
            platform, kind, pid = "discord", "group", str(900_000_000_000_000 + i)
        settings = {}
        if rng.random() < 0.05:
            settings["mode"] = "digest"
        if rng.random() < 0.1:
            settings["length"] = rng.choice(["short", "long"])
        chat_rows.append((i + 1, platform, pid, "", kind, f"chat {i + 1}",
                          json.dumps(settings, sort_keys=True), created))  # fmt: skip
    bulk.insert_rows(db, "chats", chat_rows)

    # Subscriptions: ~5 a chat; sources and authors followed with Zipf popularity.
    source_cum = _zipf_cum(spec.sources)
    author_cum = _zipf_cum(len(names))
    subs, followers = [], {s: [] for s in range(1, spec.sources + 1)}
    followed: set[tuple[int, int]] = set()
    chat_ids = list(range(1, spec.chats + 1))
    rng.shuffle(chat_ids)
    position = 0
    taken_by: dict[int, set[tuple[str, str]]] = {}
    while len(subs) < spec.subscriptions:
        chat_id = chat_ids[position % spec.chats]
        position += 1
        taken = taken_by.setdefault(chat_id, set())
        for _ in range(min(50, max(1, round(rng.expovariate(1 / 5))))):
            if len(subs) >= spec.subscriptions:
                break
            roll = rng.random()
            if roll < 0.75:
                source_id = _pick(rng, source_cum) + 1
                kind, target = "source", spec.source_name(source_id - 1)
            elif roll < 0.95:
                source_id, kind, target = None, "author", names[_pick(rng, author_cum)]
            else:
                source_id, kind = None, "keyword"
                target = " ".join(words.vocab[rng.randint(300, 5000)]
                                  for _ in range(rng.choice((1, 1, 2))))  # fmt: skip
            if (kind, target.lower()) in taken or (source_id, chat_id) in followed:
                continue
            taken.add((kind, target.lower()))
            if source_id is not None:
                followers[source_id].append(chat_id)
                followed.add((source_id, chat_id))
            subs.append((len(subs) + 1, chat_id, kind, target, source_id, "[]", "[]", created))
    bulk.insert_rows(db, "subscriptions", subs)
    sub_of = {(row[4], row[1]): row[0] for row in subs if row[4] is not None}
    platform_of = {row[0]: (row[1], row[2]) for row in chat_rows}

    # Pieces, oldest first, spread over two years; the history of what was posted.
    span = timedelta(days=730)
    next_message = dict.fromkeys(platform_of, 1)
    batch = 2000
    for start in range(0, spec.pieces, batch):
        pieces, links, by, seen, deliveries, messages = [], [], [], [], [], []
        for piece_id in range(start + 1, min(spec.pieces, start + batch) + 1):
            source_id = rng.randrange(spec.sources) + 1
            moment = now - span + span * (piece_id / (spec.pieces + 1))
            moment += timedelta(minutes=rng.randint(-90, 90))
            fetched = moment + timedelta(minutes=rng.randint(1, 40))
            published = None if rng.random() < 0.03 else _iso(moment)
            title = words.title()
            paragraphs = words.paragraphs(rng.randint(35, 60))
            text = "\n\n".join(" ".join(p) for p in paragraphs)
            flat = [s for p in paragraphs for s in p]
            url = f"https://outlet{source_id}.example/opinion/{piece_id}-" + "-".join(
                title.lower().split()[:5]
            )
            outlet = f"Outlet {source_id}"
            pieces.append((
                piece_id, url, url, f"{rng.getrandbits(64):016x}", source_id, title,
                words.sentence(), text,
                json.dumps([flat[rng.randrange(len(flat))]]) if rng.random() < 0.3 else "[]",
                None, " ".join(flat[:3]), flat[0], " ".join(flat[:8]), "extractive",
                published, outlet, "en" if rng.random() < 0.93 else rng.choice(("de", "fr")),
                _iso(fetched), _iso(fetched),
            ))  # fmt: skip
            links.append((url, piece_id, outlet, source_id, 0))
            if rng.random() < 0.03:
                other = rng.randrange(spec.sources) + 1
                links.append((f"https://outlet{other}.example/syndicated/{piece_id}", piece_id,
                              f"Outlet {other}", other, 1))  # fmt: skip
            authors = [rng.choice(columnists[source_id])]
            if rng.random() < 0.1:
                authors.append(rng.randrange(len(names)) + 1)
            for pos, author_id in enumerate(dict.fromkeys(authors)):
                by.append((piece_id, author_id, pos))
            seen.append((source_id, url, piece_id, _iso(fetched)))
            for chat_id in followers[source_id]:
                platform, pid = platform_of[chat_id]
                message_id = str(next_message[chat_id])
                next_message[chat_id] += 1
                deliveries.append(
                    (
                        piece_id,
                        chat_id,
                        sub_of[(source_id, chat_id)],
                        platform,
                        "sent",
                        1,
                        message_id,
                        _iso(fetched),
                        _iso(fetched),
                    )
                )
                messages.append((platform, pid, message_id, piece_id, _iso(fetched)))
        bulk.insert_rows(db, "pieces", pieces)
        bulk.insert_rows(db, "piece_links", links)
        bulk.insert_rows(db, "piece_authors", by)
        bulk.insert_rows(db, "seen_entries", seen)
        bulk.insert_rows(db, "deliveries", deliveries)
        bulk.insert_rows(db, "messages", messages)
        if start and start % 20_000 == 0:
            console.print(f"  {start:,} pieces")
    bulk.checkpoint(db)
    db.conn.close()


def iter_queries() -> Iterator[str]:
    yield from (COMMON_QUERY, MEDIUM_QUERY, RARE_QUERY)
