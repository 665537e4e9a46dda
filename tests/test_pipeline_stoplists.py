"""trafilatura's jusText fallback with the compact stop words answers as with jusText's union."""

from __future__ import annotations

import justext.core
import trafilatura.external
from justext.utils import get_stoplist, get_stoplists
from lxml import html as lxml_html

from bot.pipeline import extract  # noqa: F401 - installs the compact stop words on import
from bot.pipeline.stoplists import StopWords


def union() -> frozenset[str]:
    """What trafilatura builds without a page language, as jusText lower-cases it."""
    return frozenset(w.lower() for lang in get_stoplists() for w in get_stoplist(lang))


def test_every_stop_word_of_every_language_is_in_and_other_words_are_not() -> None:
    words = union()
    compact = StopWords()
    assert len(compact) == len(words)
    assert all(w in compact for w in words)
    others = ["zzqxv", "photosynthesis-like", "Ünterwegsqq", "ありがとうございましたxyz", "", "42x"]
    for word in others:
        assert (word in compact) == (word in words)
    assert 7 not in compact  # not a word: no error


PAGE = """<html><body><div class="menu"><a href="/">Home</a> | <a href="/a">About us</a></div>
<div><p>{en}</p><p>{de}</p><p>Buy now! Click here. Subscribe. Login. Share. Tweet.</p>
<p>{fr}</p></div><div class="foot">Copyright 2024 Example Media Group, all rights</div>
</body></html>"""
EN = (
    "The council has promised for years that the new housing plan would arrive before the "
    "winter, and yet the people who were told to wait are still waiting for it to be real. "
) * 3
DE = (
    "Die Regierung hat versprochen, dass die neuen Wohnungen noch vor dem Winter fertig "
    "werden, aber die Menschen in der Stadt warten immer noch auf ein Zeichen davon. "
) * 3
FR = (
    "Le conseil a promis depuis des années que le nouveau plan serait prêt avant l'hiver, "
    "mais ceux à qui on a dit d'attendre attendent toujours qu'il devienne réel. "
) * 3


def test_justext_classifies_paragraphs_the_same_with_either() -> None:
    page = lxml_html.fromstring(PAGE.format(en=EN, de=DE, fr=FR))

    def classes(stoplist: object) -> list[tuple[str, str]]:
        paragraphs = justext.core.ParagraphMaker.make_paragraphs(page)
        justext.core.classify_paragraphs(paragraphs, stoplist, 50, 150, 0.1, 0.2, 0.25, True)
        justext.core.revise_paragraph_classification(paragraphs, 150)
        return [(p.text[:20], p.class_type) for p in paragraphs]

    compact = trafilatura.external.JT_STOPLIST
    assert isinstance(compact, StopWords)  # trafilatura's fallback uses it
    expected = classes(union())
    assert classes(compact) == expected
    assert {kind for _, kind in expected} >= {"good", "bad"}  # the check can tell them apart
