"""/search cannot stall the bot: bounded queries, a time budget, its own connection, rate limits."""

from __future__ import annotations

import asyncio
import random
import string
from pathlib import Path

import pytest

from bot.core import Core
from bot.types import ExtractedPiece, PieceDraft, Summary
from storage import search as search_module
from storage.search import SearchTooBroad, check_query, query_shape
from tests.factories import add_piece, open_core
from tests.handler_support import say


def _vocabulary(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(n)]


def _fill(core: Core, pieces: int, words_per_piece: int = 300) -> None:
    """Many pieces with a wide vocabulary, so prefix terms expand to thousands of words."""
    vocabulary = _vocabulary(40_000)
    rng = random.Random(5)
    store = core.services.store.sync
    for n in range(pieces):
        text = " ".join(rng.choices(vocabulary, k=words_per_piece)) + "."
        piece = ExtractedPiece(title=f"Piece {n}", text=text, url=f"https://ex.com/p/{n}")
        draft = PieceDraft(url=piece.url, piece=piece, summary=Summary(text[:100], "extractive"))
        store.save_piece(draft)


@pytest.mark.parametrize(
    ("query", "terms", "prefixes"),
    [
        ("housing", 1, 0),
        ('"empty homes" tax', 3, 0),
        ("hous* AND rent*", 2, 2),
        ('title:budget NOT "city council"*', 3, 1),
        ("NEAR(rent tax, 5)", 2, 0),
    ],
)
def test_query_shape(query: str, terms: int, prefixes: int) -> None:
    shape = query_shape(query)
    assert (shape.terms, shape.prefixes) == (terms, prefixes)


@pytest.mark.parametrize(
    "query",
    [
        " ".join(["a*"] * 20),  # the query that froze every chat for 36 s
        "a*",
        "ab* OR cd*",
        "hous* rent* tax* vot*",
        " OR ".join(f"word{i}" for i in range(30)),
        "x" * 400,
    ],
)
def test_costly_query_shapes_are_refused(query: str) -> None:
    with pytest.raises(SearchTooBroad):
        check_query(query)


@pytest.mark.parametrize("query", ["housing", "hous* rent*", '"empty homes" OR vacan*'])
def test_ordinary_queries_pass(query: str) -> None:
    check_query(query)


async def test_too_broad_answer_through_the_handler(core: Core) -> None:
    await add_piece(core, text="Cities should tax empty homes before they build more.")
    answer = await say(core, "search", " ".join(["a*"] * 20))
    assert answer.is_error
    assert "too broad" in answer.plain_text()
    found = await say(core, "search", "empty homes")
    assert not found.is_error and len(found.messages) == 1


async def test_a_search_past_its_budget_is_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_core(tmp_path) as core:
        await core.services.store.run(_fill, core, 200)
        # The shape bounds lifted: only the time budget stands between this query and the DB.
        monkeypatch.setattr(search_module, "MAX_PREFIX_TERMS", 100)
        monkeypatch.setattr(search_module, "MIN_PREFIX_STEM", 1)
        monkeypatch.setattr(search_module, "MAX_TERMS", 100)
        monkeypatch.setattr(search_module, "SEARCH_BUDGET", 0.0)
        answer = await say(core, "search", " OR ".join(f"{c}*" for c in "abcdefghijklmnop"))
        assert answer.is_error
        assert "too broad" in answer.plain_text()
        # The connection is usable afterwards: the handler is no longer installed.
        monkeypatch.setattr(search_module, "SEARCH_BUDGET", 2.0)
        assert not (await say(core, "search", "piece")).is_error


async def test_worst_search_does_not_hold_up_another_chats_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_core(tmp_path) as core:
        await core.services.store.run(_fill, core, 1000)
        newest = await add_piece(core, title="The newest piece", text="Short and recent.")
        monkeypatch.setattr(search_module, "MAX_PREFIX_TERMS", 100)
        monkeypatch.setattr(search_module, "MIN_PREFIX_STEM", 1)
        monkeypatch.setattr(search_module, "MAX_TERMS", 100)
        monkeypatch.setattr(search_module, "SEARCH_BUDGET", 2.0)
        worst = " ".join(["a*"] * 20)  # on 20k pieces this froze every chat for 36 s
        started = asyncio.get_running_loop().time()
        searching = asyncio.create_task(say(core, "search", worst, chat="chat-a", user="u-a"))
        await asyncio.sleep(0.05)  # the search is on its connection now
        latest = await say(core, "latest", "1", chat="chat-b", user="u-b")
        answered_after = asyncio.get_running_loop().time() - started
        assert not latest.is_error
        assert "The newest piece" in latest.plain_text()
        # /latest did not wait for the search: answered while the search still ran, well
        # inside the search's budget.
        assert not searching.done()
        assert answered_after < search_module.SEARCH_BUDGET
        answer = await searching
        assert answer.messages  # results or "too broad", never a hang or a crash
        assert newest


async def test_searches_are_rate_limited_per_user(core: Core) -> None:
    await add_piece(core, text="Cities should tax empty homes before they build more.")
    answers = [await say(core, "search", "homes", user="eager") for _ in range(10)]
    refused = [a for a in answers if a.is_error]
    assert refused and "try again" in refused[-1].plain_text()
    assert not (await say(core, "search", "homes", user="someone-else")).is_error


async def test_a_phrase_left_open_is_read_to_the_end_of_the_query(core: Core) -> None:
    await add_piece(core, title="Empty homes", text="Cities should tax empty homes first.")
    found = await say(core, "search", '"empty homes')
    assert not found.is_error and "Empty homes" in found.plain_text()
