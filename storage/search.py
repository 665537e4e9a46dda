"""Full-text search on SQLite FTS5, bounded so no query can hold the database for long.

Three bounds, because one user's query must never stall every chat:

- the query's shape (:func:`check_query`): a few terms, a few prefix terms with a real stem
  (``a*`` expands to every word starting with "a", which is most of the index);
- a time budget (:func:`time_budget`): SQLite's progress handler interrupts the statement once
  the budget is spent, and the caller answers that the query was too broad;
- the work per query: only the newest ``RANK_WINDOW`` matches are ranked, and the snippets of
  the few shown are made in the same statement.

The SQL here runs on whatever connection it is given; ``AsyncStore`` runs searches on a
read-only connection of their own, so a search that uses its whole budget delays no other
command.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.errors import InvalidSearch, SearchTooBroad
from storage.folding import fold_for_search

RANK_WINDOW = 500  # /search ranks the newest this many matches
MAX_QUERY_CHARS = 300
MAX_TERMS = 12  # words, counting those inside "phrases"
MAX_PREFIX_TERMS = 3
MIN_PREFIX_STEM = 3  # letters before the *
SEARCH_BUDGET = 1.5  # seconds one search may run before it is interrupted
_PROGRESS_EVERY = 2_000  # SQLite VM steps between two looks at the clock

_OPERATORS = frozenset({"AND", "OR", "NOT"})
# A "phrase" (quotes doubled inside), optionally a prefix; else a run of anything that is not
# a space, a parenthesis or a quote (a bare word, a column filter, NEAR, an operator).
_TOKEN = re.compile(r'"(?:[^"]|"")*"\*?|[^\s()"]+')
_WORD = re.compile(r"\w+")
_NEAR_DISTANCE = re.compile(r",\s*\d+\s*\)")  # NEAR(a b, 5): the 5 is no term


@dataclass(frozen=True)
class QueryShape:
    terms: int
    prefixes: int
    shortest_stem: int | None


def query_shape(query: str) -> QueryShape:
    """Count the words and prefix terms of an FTS5 query (operators and NEAR excluded)."""
    terms = prefixes = 0
    shortest: int | None = None
    for token in _TOKEN.findall(_NEAR_DISTANCE.sub(")", query)):
        if token in _OPERATORS or token.startswith("NEAR"):
            continue
        if ":" in token and not token.startswith('"'):
            token = token.split(":", 1)[1]  # a column filter, "title:word"
        token = token.lstrip("^+-")
        words = _WORD.findall(token)
        if not words:
            continue
        terms += len(words)
        if token.endswith("*"):
            prefixes += 1
            stem = len(words[-1])
            shortest = stem if shortest is None else min(shortest, stem)
    return QueryShape(terms, prefixes, shortest)


def check_query(query: str) -> None:
    """Refuse, with a sentence the user can act on, a query too costly to run."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchTooBroad(
            f"That search is too broad: keep it under {MAX_QUERY_CHARS} characters."
        )
    shape = query_shape(query)
    if shape.shortest_stem is not None and shape.shortest_stem < MIN_PREFIX_STEM:
        raise SearchTooBroad(
            f"That search is too broad: a prefix* needs at least {MIN_PREFIX_STEM} letters."
        )
    if shape.prefixes > MAX_PREFIX_TERMS:
        raise SearchTooBroad(
            f"That search is too broad: use at most {MAX_PREFIX_TERMS} prefix* terms."
        )
    if shape.terms > MAX_TERMS:
        raise SearchTooBroad(f"That search is too broad: use at most {MAX_TERMS} words.")


@contextmanager
def time_budget(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt the statements run inside after ``seconds`` (SearchTooBroad is raised)."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_EVERY)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc).lower():
            raise SearchTooBroad(
                "That search is too broad to answer quickly: add a word or use fewer prefix* terms."
            ) from None
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        raise InvalidSearch(str(exc)) from None
    finally:
        conn.set_progress_handler(None, 0)


# The pieces one chat may not see (parameter: the chat's id): those stored for another chat's
# /summary that no source has published. A small set (partial index), read once per query.
HIDDEN_FROM_CHAT = (
    "SELECT id FROM pieces WHERE on_demand = 1 AND id NOT IN"
    " (SELECT piece_id FROM piece_requests WHERE chat_id = ?)"
)
_HIDDEN_NAMED = HIDDEN_FROM_CHAT.replace("?", ":chat")

_SNIPPET = "snippet(pieces_fts, 2, '[', ']', '…', 16)"
_NEWEST = (
    f"SELECT rowid, {_SNIPPET} FROM pieces_fts WHERE pieces_fts MATCH :q"
    " ORDER BY rowid DESC LIMIT :n"
)
# One statement, every step bounded by the window, not by how many pieces match:
# - recent: the newest RANK_WINDOW matches, walked newest first (FTS5's own order), so bm25 is
#   computed for those rows only and the walk stops at the window's end;
# - top: the best ``n`` of them (ties: the newer first, as PostgreSQL's search orders them);
# - snippets for those ``n`` only, from a walk that starts at the oldest of them and ends at
#   the newest (CROSS JOIN keeps that walk outside: with ``top`` outside, FTS5 would parse
#   and seek the query again for every row, slow for a prefix*; and a plain JOIN let SQLite
#   walk every match in the archive, which made snippets cost O(matches)).
# bm25's idf still counts each term's pieces in the whole archive (one pass over the index
# per term; FTS5 offers no other way to weigh terms).
_RANKED = (
    "WITH recent(id, score) AS MATERIALIZED ("
    " SELECT rowid, bm25(pieces_fts, 5.0, 2.0, 1.0) FROM pieces_fts"
    " WHERE pieces_fts MATCH :q ORDER BY rowid DESC LIMIT :window),"
    " top(id, score) AS MATERIALIZED ("
    " SELECT id, score FROM recent ORDER BY score, id DESC LIMIT :n)"
    f" SELECT top.id, {_SNIPPET} FROM pieces_fts CROSS JOIN top ON top.id = pieces_fts.rowid"
    " WHERE pieces_fts MATCH :q"
    " AND pieces_fts.rowid BETWEEN (SELECT min(id) FROM top) AND (SELECT max(id) FROM top)"
    " ORDER BY top.score, top.id DESC"
)


def search_ids(
    conn: sqlite3.Connection,
    query: str,
    *,
    limit: int,
    newest_first: bool = False,
    budget: float | None = None,
    chat_id: int | None = None,
) -> list[tuple[int, str]]:
    """(piece id, snippet) of the best ``limit`` matches, or newest first; bounded.

    ``chat_id``: as that chat sees the archive (other chats' /summary pieces left out).
    """
    check_query(query)
    query = fold_for_search(query) or query  # the index holds folded text (schema m006)
    params: dict[str, object] = {"q": query, "n": limit, "window": RANK_WINDOW}
    newest, ranked = _NEWEST, _RANKED
    if chat_id is not None:
        params["chat"] = chat_id
        visible = f"pieces_fts MATCH :q AND rowid NOT IN ({_HIDDEN_NAMED})"
        newest = newest.replace("pieces_fts MATCH :q", visible)
        # The window holds visible pieces only; the snippets' walk needs no filter (it
        # joins the chosen ids).
        ranked = ranked.replace(
            "WHERE pieces_fts MATCH :q ORDER BY rowid", f"WHERE {visible} ORDER BY rowid"
        )
    with time_budget(conn, SEARCH_BUDGET if budget is None else budget):
        sql = newest if newest_first else ranked
        return [(r[0], r[1]) for r in conn.execute(sql, params).fetchall()]
