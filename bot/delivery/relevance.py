"""Reactions that teach: whether a piece is clearly closer to what a chat disliked than to
what it liked (``/settings relevance on``).

Text similarity only, no model: each piece is a bag of its words (title and standfirst count
more than the body), weighted by how rare each word is among the pieces compared (TF-IDF), and
a new piece is compared with the centre of the liked pieces and the centre of the disliked
ones. It is held back only when it is clearly closer to the disliked centre: by a margin and a
ratio, and only once the chat has cast enough votes to mean something.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.types import Chat, Piece

if TYPE_CHECKING:
    from storage import Storage

MIN_VOTES = 5  # the chat's votes in all before anything is held back
MIN_SIMILARITY = 0.08  # closer than this to the disliked pieces, or nothing is "close"
MARGIN = 0.05  # disliked similarity at least this much over the liked one ...
RATIO = 1.5  # ... and this many times it
COMMON_WORDS = 150  # a language's most frequent words are left out of the comparison
BODY_CHARS = 4000  # the start of the text carries the argument; the rest adds noise and time
TASTE_PIECES = 100  # the most recently voted pieces make the chat's taste
KEPT_PIECES = 2000  # voted pieces kept in memory between judgements

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@functools.lru_cache(maxsize=32)
def _function_words(language: str) -> frozenset[str]:
    """The language's most frequent words ("the", "and", "der" ...): they say nothing about
    what a piece is about, and would make every piece look a little like every other."""
    try:
        from wordfreq import top_n_list  # loaded only when a chat uses relevance

        return frozenset(top_n_list(language, COMMON_WORDS, wordlist="small"))
    except (ImportError, LookupError, ValueError):
        return frozenset()


def terms(piece: Piece) -> Counter[str]:
    """The piece's words and counts (title x3, standfirst and summary x2, the body's start)."""
    common = _function_words((piece.language or "en").lower()[:2]) or _function_words("en")
    counts: Counter[str] = Counter()
    for text, weight in (
        (piece.title, 3),
        (piece.standfirst or "", 2),
        (piece.summary or "", 2),
        (piece.text[:BODY_CHARS], 1),
    ):
        for word in _WORD.findall(text.casefold()):
            if word not in common:
                counts[word] += weight
    return counts


def _weighted(bags: list[Counter[str]]) -> list[dict[str, float]]:
    """TF-IDF vectors (unit length) of the bags, IDF taken over the bags themselves."""
    documents = len(bags)
    seen: Counter[str] = Counter()
    for bag in bags:
        seen.update(bag.keys())
    vectors = []
    for bag in bags:
        vector = {
            word: (1 + math.log(count)) * (math.log((documents + 1) / (seen[word] + 1)) + 1)
            for word, count in bag.items()
        }
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vectors.append({w: v / norm for w, v in vector.items() if v > 0})
    return vectors


def _centre(vectors: list[dict[str, float]]) -> dict[str, float]:
    centre: dict[str, float] = {}
    for vector in vectors:
        for word, value in vector.items():
            centre[word] = centre.get(word, 0.0) + value
    norm = math.sqrt(sum(v * v for v in centre.values())) or 1.0
    return {w: v / norm for w, v in centre.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(word, 0.0) for word, value in a.items())


@dataclass(frozen=True)
class Verdict:
    hold: bool
    liked: float  # similarity to the liked pieces' centre
    disliked: float
    votes: int

    @property
    def reason(self) -> str:
        return (
            f"held back: closer to the pieces this chat disliked ({self.disliked:.2f}) than to "
            f"those it liked ({self.liked:.2f}), from {self.votes} votes"
        )


def compare(piece: Piece, liked: list[Piece], disliked: list[Piece], votes: int) -> Verdict:
    """The verdict for ``piece`` given the chat's liked and disliked pieces."""
    if votes < MIN_VOTES or not disliked:
        return Verdict(False, 0.0, 0.0, votes)
    others = [p for p in liked + disliked if p.id != piece.id]
    vectors = _weighted([terms(piece)] + [terms(p) for p in others])
    mine, rest = vectors[0], vectors[1:]
    liked_ids = {p.id for p in liked}
    liked_vectors = [v for p, v in zip(others, rest, strict=True) if p.id in liked_ids]
    disliked_vectors = [v for p, v in zip(others, rest, strict=True) if p.id not in liked_ids]
    near_liked = _cosine(mine, _centre(liked_vectors)) if liked_vectors else 0.0
    near_disliked = _cosine(mine, _centre(disliked_vectors)) if disliked_vectors else 0.0
    hold = (
        near_disliked >= MIN_SIMILARITY
        and near_disliked >= near_liked + MARGIN
        and near_disliked >= near_liked * RATIO
    )
    return Verdict(hold, near_liked, near_disliked, votes)


class TasteCache:
    """The voted pieces, kept between judgements: a fan-out judges many pieces for a chat,
    and its votes are read each time (a new vote counts at once) but the pieces they name
    are read once."""

    def __init__(self, size: int = KEPT_PIECES) -> None:
        self.size = size
        self._pieces: OrderedDict[int, Piece] = OrderedDict()

    async def piece(self, store: Storage, piece_id: int) -> Piece | None:
        found = self._pieces.get(piece_id)
        if found is not None:
            self._pieces.move_to_end(piece_id)
            return found
        found = await store.get_piece(piece_id)
        if found is not None:
            self._pieces[piece_id] = found
            if len(self._pieces) > self.size:
                self._pieces.popitem(last=False)
        return found


async def judge(
    store: Storage, chat: Chat, piece: Piece, cache: TasteCache | None = None
) -> Verdict | None:
    """The verdict for a chat with ``/settings relevance on`` (None when it is off)."""
    if not chat.settings.relevance:
        return None
    votes, voted = await store.chat_taste(chat.id, limit=TASTE_PIECES)
    if votes < MIN_VOTES:
        return Verdict(False, 0.0, 0.0, votes)
    pieces = cache or TasteCache()
    liked: list[Piece] = []
    disliked: list[Piece] = []
    for piece_id, net in voted:
        if net == 0 or piece_id == piece.id:
            continue
        found = await pieces.piece(store, piece_id)
        if found is not None:
            (liked if net > 0 else disliked).append(found)
    return compare(piece, liked, disliked, votes)
