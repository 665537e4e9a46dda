"""How the terminal chat prints a post: the reply hint names the commands that work on it."""

from __future__ import annotations

from bot.adapters.console import render_reply
from bot.messages import post_for
from bot.types import Piece, Translation

PIECE = Piece(
    id=7,
    url="https://example.test/opinion/bridges",
    title="The old bridge deserves a repair, not a replacement",
    text="The county wants a new bridge. It should mend the old one instead.",
    authors=["Ines Varga"],
    summary="The county should mend the old bridge instead of building a new one.",
)


def test_untranslated_post_does_not_offer_original() -> None:
    shown = render_reply(post_for(PIECE), "m4")
    hint = shown.splitlines()[-1]
    assert hint.startswith("    (reply with: >m4 /more")
    assert "/original" not in hint and "/author" in hint


def test_translated_post_offers_original() -> None:
    translation = Translation(
        language="fr",
        title="Le vieux pont mérite une réparation",
        summary="Le comté devrait réparer le vieux pont.",
        method="llm:tiny",
    )
    shown = render_reply(post_for(PIECE, translation=translation), "m5")
    assert "Le vieux pont" in shown and "/original" in shown.splitlines()[-1]
