"""Discord rendering rules without a server: escaping, embed limits, splitting, buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

from bot.adapters.discord import rendering as render
from bot.adapters.discord.interactions import post_reference as _post_reference
from bot.adapters.discord.rendering import PieceButton, render_reply
from bot.messages import Action, PieceCard, Reply


def card(**overrides: object) -> PieceCard:
    values: dict[str, object] = {
        "piece_id": 42,
        "title": "The case for slower news",
        "url": "https://example.com/opinion/slow-news",
        "authors": ["Ada Lovelace", "Grace Hopper"],
        "outlet": "The Example",
        "published": datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        "summary": "News should wait for facts.",
    }
    values.update(overrides)
    return PieceCard(**values)  # type: ignore[arg-type]


def test_embed_has_linked_title_author_footer_timestamp_and_summary() -> None:
    embed = render.piece_embed(card())
    assert embed.title == "The case for slower news"
    assert embed.url == "https://example.com/opinion/slow-news"
    assert embed.author.name == "Ada Lovelace and Grace Hopper"
    assert embed.footer.text == "The Example"
    assert embed.timestamp == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert embed.description == "News should wait for facts."


def test_mentions_and_markdown_in_titles_render_as_text() -> None:
    embed = render.piece_embed(
        card(title="@everyone **read** this <@123456789012345678>", summary="__hi__ @here")
    )
    assert "@everyone" not in embed.title  # a zero-width space breaks the mention
    assert "\\*\\*read\\*\\*" in embed.title
    assert "<@123456789012345678>" not in embed.title
    assert "\\_\\_hi\\_\\_" in embed.description and "@here" not in embed.description


def test_every_embed_field_respects_discord_limits() -> None:
    huge = card(
        title="T" * 1000,
        summary="word " * 3000,
        outlet="O" * 5000,
        authors=["A" * 400],
        also_in=[("Other", "https://other.example/" + "x" * 100)] * 50,
    )
    embed = render.piece_embed(huge)
    assert len(embed.title) <= 256 and embed.title.endswith("…")
    assert len(embed.description) <= 4096
    assert len(embed.footer.text) <= 2048
    assert len(embed.author.name) <= 256
    assert len(embed) <= 6000


def test_markdown_heavy_title_stays_within_limit_after_escaping() -> None:
    embed = render.piece_embed(card(title="*" * 300))
    assert len(embed.title) <= 256
    # No dangling backslash before the ellipsis (it would escape it).
    assert not embed.title[:-1].endswith("\\") or embed.title[:-1].endswith("\\\\")


def test_unsafe_urls_are_dropped_not_sent() -> None:
    assert render.piece_embed(card(url="javascript:alert(1)")).url is None
    assert render.piece_embed(card(url="https://x.example/" + "a" * 3000)).url is None
    assert render.piece_embed(card(url="https://ok.example/a b")).url is None


def test_split_message_prefers_paragraphs_then_sentences() -> None:
    paragraph = ("A sentence that goes on. " * 30).strip()
    text = "\n\n".join([paragraph] * 6)
    chunks = render.split_message(text, 2000)
    assert all(len(c) <= 2000 for c in chunks)
    assert len(chunks) >= 3
    assert all(c.endswith(".") for c in chunks)  # cut at paragraph/sentence ends
    assert "".join(c.replace("\n", "").replace(" ", "") for c in chunks) == text.replace(
        "\n", ""
    ).replace(" ", "")


def test_split_message_handles_unbroken_text_and_escapes() -> None:
    chunks = render.split_message("\\*" * 1500, 2000)
    assert all(len(c) <= 2000 for c in chunks)
    assert all(not c.endswith("\\") or c.endswith("\\\\") for c in chunks[:-1])
    assert render.split_message("   ") == []


def test_long_reply_becomes_several_messages_under_2000() -> None:
    reply = Reply(text=("Sentence here. " * 400), kind="long", piece_id=7)
    out = render_reply(reply)
    assert len(out) >= 3
    assert all(len(o.content or "") <= 2000 for o in out)
    assert all(o.piece_id == 7 for o in out)


async def test_card_reply_carries_buttons_with_piece_ids() -> None:
    reply = Reply(card=card(), actions=[Action("More", "more", 42), Action("X", "rm -rf", 42)])
    [item] = render_reply(reply)
    assert item.embed is not None
    view = item.view()
    assert view is not None and view.is_finished()  # stopped: not kept in the view store
    ids = [child.custom_id for child in view.children]  # type: ignore[attr-defined]
    assert ids == ["cb:more:42"]  # unknown actions are not rendered


def test_error_reply_is_marked_error() -> None:
    [item] = render_reply(Reply(text="No.", kind="error"))
    assert item.error and item.content == "No."


def test_button_template_matches_stale_and_forged_ids() -> None:
    pattern = PieceButton.__discord_ui_compiled_template__
    assert pattern.fullmatch("cb:more:123")
    assert pattern.fullmatch("cb:delete:abc")  # reaches the adapter, which refuses it
    assert not pattern.fullmatch("other:thing")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://discord.com/channels/1/222/333333333333333333", ("333333333333333333", None)),
        ("333333333333333333", ("333333333333333333", None)),
        ("#12", (None, None)),
    ],
)
def test_post_reference(value: str, expected: tuple[str | None, str | None]) -> None:
    assert _post_reference(value, 222) == expected


def test_post_reference_refuses_other_channels_and_junk() -> None:
    assert _post_reference("https://discord.com/channels/1/999/333", 222)[1]
    assert _post_reference("hello", 222)[1]
    assert _post_reference("9" * 30, 222)[1]


def test_autocomplete_text_is_one_clean_line() -> None:
    assert render.choice_text("a\x00b\n  c") == "ab c"
    assert len(render.choice_text("x" * 500)) == 100
    assert render.sanitize_query("\x07" * 10 + "guar") == "guar"


def test_allowed_mentions_none_is_used() -> None:
    [item] = render_reply(Reply(text="@everyone hi"))
    kwargs = item.kwargs()
    assert kwargs["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()
    assert "@everyone" not in kwargs["content"]


def test_range_problems_name_only_the_bounds_that_exist() -> None:
    from bot.adapters.discord.interactions import range_problem as _range_problem
    from handlers.registry import Option

    assert _range_problem("n", Option("n", "", "int", min_value=1, max_value=10)) == (
        "n must be between 1 and 10."
    )
    assert _range_problem("id", Option("id", "", "int", min_value=1)) == "id must be at least 1."
    assert _range_problem("x", Option("x", "", "int", max_value=5)) == "x must be at most 5."
