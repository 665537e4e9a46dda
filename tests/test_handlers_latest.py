"""/latest read as people type it: a count, then a source, an author or keywords, optionally
named the way /subscribe names them ("author Jane Doe")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Core
from tests.factories import add_piece, open_core
from tests.handler_support import say

PIECES = [
    ("Tolls pay for the bridge", "Mara Lindholm", "harbour", "The tolls should fund repairs now."),
    ("Libraries need evening hours", "Idris Okafor", "valley", "Libraries must open for readers."),
]


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path) as opened:
        for title, author, source, text in PIECES:
            await add_piece(opened, title=title, authors=[author], source=source, text=text)
        yield opened


async def titles(core: Core, args: str) -> str:
    response = await say(core, "latest", args)
    assert not response.is_error, response.plain_text()
    return response.plain_text()


@pytest.mark.parametrize(
    "args", ["author Mara Lindholm", "2 author mara lindholm", "Mara Lindholm"]
)
async def test_latest_by_author_with_or_without_the_word(core: Core, args: str) -> None:
    text = await titles(core, args)
    assert "Tolls pay for the bridge" in text and "Libraries" not in text


@pytest.mark.parametrize("args", ["source valley", "valley"])
async def test_latest_by_source_with_or_without_the_word(core: Core, args: str) -> None:
    text = await titles(core, args)
    assert "Libraries need evening hours" in text and "Tolls" not in text


async def test_latest_by_keyword_word(core: Core) -> None:
    text = await titles(core, "keyword libraries readers")
    assert "Libraries need evening hours" in text and "Tolls" not in text


@pytest.mark.parametrize(
    ("args", "answer"),
    [("author Nobody Known", "I know no author 'Nobody Known'"),
     ("source nowhere", "I know no source 'nowhere'")],
)  # fmt: skip
async def test_named_kind_that_does_not_exist_says_so(core: Core, args: str, answer: str) -> None:
    response = await say(core, "latest", args)
    assert response.is_error and answer in response.plain_text()


async def test_a_single_kind_word_is_a_keyword(core: Core) -> None:
    response = await say(core, "latest", "author")
    assert not response.is_error and "Nothing matches 'author'" in response.plain_text()
