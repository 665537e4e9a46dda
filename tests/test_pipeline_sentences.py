"""The project's one sentence splitter: abbreviations, quotes, Arabic clauses."""

from __future__ import annotations

import pytest

from bot.pipeline.sentences import split_sentences

CASES = [
    ("en", "The U.S. and the U.N. met Dr. Smith. He left.",
     ["The U.S. and the U.N. met Dr. Smith.", "He left."]),
    ("en", "Mr. Brown paid $4.50 for it. Mrs. Green paid more.",
     ["Mr. Brown paid $4.50 for it.", "Mrs. Green paid more."]),
    ("en", "“Is this the end?” she asked. Nobody answered.",
     ["“Is this the end?” she asked.", "Nobody answered."]),
    ("en", "He said: “Enough.” The room went quiet.",
     ["He said: “Enough.”", "The room went quiet."]),
    ("en", "Critics, e.g. unions, objected; others agreed. Fine.",
     ["Critics, e.g. unions, objected; others agreed.", "Fine."]),
    ("en", "9. Monitor the results every week\nThen adjust.",
     ["9. Monitor the results every week", "Then adjust."]),
    ("ar", "المشكلة واضحة: لا أحد يريد الحرب؛ لكن لا أحد يوقفها. الحل وقف إطلاق النار.",
     ["المشكلة واضحة: لا أحد يريد الحرب؛ لكن لا أحد يوقفها.", "الحل وقف إطلاق النار."]),
    ("ar", "يجب أن تتوقف الحرب، ويجب أن يعود اللاجئون. هذا هو المطلوب.",
     ["يجب أن تتوقف الحرب، ويجب أن يعود اللاجئون.", "هذا هو المطلوب."]),
    ("ar", "قال الرئيس: «لن نتراجع.» ثم غادر القاعة.",
     ["قال الرئيس: «لن نتراجع.»", "ثم غادر القاعة."]),
    # A title ending in "!" or "?" inside a sentence: what follows in lower case goes on.
    ("es", "¡Hablamos ya! es un curso abierto para escuelas. Empieza en mayo.",
     ["¡Hablamos ya! es un curso abierto para escuelas.", "Empieza en mayo."]),
    ("en", "Why now? iPads arrived in every classroom. Fine.",
     ["Why now?", "iPads arrived in every classroom.", "Fine."]),
    ("ar", "لماذا الآن؟ لأن الوقت ينفد. انتظروا!",
     ["لماذا الآن؟", "لأن الوقت ينفد.", "انتظروا!"]),
    ("ar", "التقى د. أحمد بالوزير. ثم عقدا مؤتمراً صحفياً.",
     ["التقى د. أحمد بالوزير.", "ثم عقدا مؤتمراً صحفياً."]),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "expected"), CASES)
def test_splits_whole_sentences(language: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_unknown_or_missing_language_still_splits() -> None:
    assert split_sentences("One thing. Another thing.", None) == ["One thing.", "Another thing."]
    assert split_sentences("One thing. Another thing.", "zz-XX") == ["One thing.", "Another thing."]


def test_whitespace_and_blank_lines() -> None:
    assert split_sentences("  A  first\tsentence here.\n\n\nA second one.  ") == [
        "A first sentence here.",
        "A second one.",
    ]
    assert split_sentences("") == []
