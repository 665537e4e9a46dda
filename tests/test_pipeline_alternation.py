"""The cue patterns' trie form matches exactly where the written word lists do."""

from __future__ import annotations

import re

import pytest

from bot.pipeline import summarize
from bot.pipeline.alternation import factored

SAMPLES = [
    "we should act now",
    "they shouldn't wait",
    "it must not stand, he said",
    "the answer is simple",
    "the answers are many",  # "the answer" then a letter: no word boundary
    "i.e. nothing here",
    "i think so",
    "according to the minister",
    "needs to change; need to change; needsto",
    "laut dem bericht müssen wir handeln",
    "selon lui, il faudrait agir",
    "según dijo, hay que actuar",
    "يجب أن نتحرك الآن",
    "أنا أرى أن هذا خطأ.",
    "j’ai dit que c’est pourquoi je reste",
    "mustard, shoulder, saidin, tolder",  # cue words inside longer words
    "we firmly believe, i'm convinced, in my view, to my mind, our verdict is",
    "je crois que oui; ich glaube nicht; أرى أن هذا; creo que sí; ik vind",
    "",
]


@pytest.mark.parametrize(
    "name", ["_PRESCRIPTION", "_PROPOSAL", "_REPORTED", "_ALSO", "_FIRST_PERSON", "_STANCE"]
)
def test_factored_cues_match_where_the_word_lists_do(name: str) -> None:
    # _STANCE is compiled factored: its written word list is kept beside it.
    written = re.compile(getattr(summarize, f"{name}_WORDS", getattr(summarize, name).pattern))
    fast = re.compile(factored(written.pattern))
    for text in SAMPLES:
        for start in range(len(text) + 1):  # every suffix: matches at every position
            tail = text[start:]
            a, b = written.search(tail), fast.search(tail)
            assert (a and a.span()) == (b and b.span()), (name, tail)


def test_branches_are_grouped_by_first_letter() -> None:
    assert factored(r"\b(?:should|shall|must)\b") == r"\b(?:sh(?:ould|all)|must)\b"
    # a letter made optional by a quantifier, or a group, stays a branch of its own
    assert factored(r"\b(?:s?he|(?:i|we) know|so)\b") == r"\b(?:so|s?he|(?:i|we) know)\b"
    assert factored(r"(?:no|leading) boundary") == r"(?:no|leading) boundary"
