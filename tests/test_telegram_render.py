"""Telegram HTML rendering and splitting, checked against the fake server's HTML parser."""

from __future__ import annotations

import pytest

from bot.adapters.telegram.rendering import (
    SPLIT_AT,
    callback_data,
    escape,
    parse_callback_data,
    render_card,
    render_reply,
    safe_url,
    split_text,
    utf16_len,
)
from bot.messages import Action, PieceCard, Reply
from tests.fakes.telegram_api import ApiError, parse_html

HOSTILE = '<script>alert("x")</script> & <b>bold</b> </blockquote> &amp; <a href="javascript:x">'


def test_escape_keeps_hostile_text_visible_and_valid() -> None:
    html_text = escape(HOSTILE)
    assert parse_html(html_text) == HOSTILE


def test_card_with_hostile_title_and_summary_is_valid_html() -> None:
    card = PieceCard(
        piece_id=7,
        title=HOSTILE + "\n\nsecond line",
        url='https://example.com/a?x=1&y="2"',
        authors=["<i>Ann</i> & Bob"],
        outlet="The <Outlet>",
        summary=HOSTILE * 3,
        also_in=[("Other & Co", "https://other.example/x")],
    )
    html_text, plain = render_card(card)
    visible = parse_html(html_text)
    assert HOSTILE in visible  # shown as text, never interpreted
    assert "<i>Ann</i> & Bob · The <Outlet>" in visible
    assert 'href="https://example.com/a?x=1&amp;y=&quot;2&quot;"' in html_text
    assert visible.split("\n")[0].endswith("second line")  # a title stays on one line
    assert visible == plain


def test_long_summary_goes_into_expandable_blockquote() -> None:
    short = render_card(PieceCard(1, "T", "https://e.com/", summary="Short one."))[0]
    long = render_card(PieceCard(1, "T", "https://e.com/", summary="A sentence. " * 100))[0]
    assert "<blockquote>Short one.</blockquote>" in short
    assert "<blockquote expandable>" in long
    parse_html(long)


def test_unsafe_link_is_not_a_link() -> None:
    html_text, _ = render_card(PieceCard(1, "Title", "javascript:alert(1)"))
    assert "<a " not in html_text
    assert safe_url("https://ok.example/x") == "https://ok.example/x"
    assert safe_url("ftp://x/y") is None
    assert safe_url("https://a b/") is None


def test_huge_summary_is_trimmed_to_fit_one_message() -> None:
    card = PieceCard(1, "T" * 1000, "https://e.com/", authors=["A"] * 50, summary="Word. " * 5000)
    html_text, plain = render_card(card)
    assert utf16_len(parse_html(html_text)) <= 4096
    assert parse_html(html_text).count("…") >= 1


def test_split_prefers_paragraphs_then_sentences() -> None:
    paragraph = ("This is a sentence of some length. " * 20).strip()
    text = "\n\n".join([paragraph] * 20)
    parts = split_text(text, limit=1000)
    assert all(utf16_len(p) <= 1000 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts).replace("\n\n", " ").split() == text.split()


def test_split_cuts_unbroken_text_and_counts_utf16() -> None:
    blob = "😀" * 5000  # two UTF-16 units each
    parts = split_text(blob, limit=SPLIT_AT)
    assert all(utf16_len(p) <= SPLIT_AT for p in parts)
    assert "".join(parts) == blob


def test_long_reply_splits_and_buttons_go_last() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "Words & <more> words. " * 40 for i in range(30))
    reply = Reply(text=text, kind="long", piece_id=3, actions=[Action("More", "more", 3)])
    parts = render_reply(reply)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(parse_html(part.html)) <= 4096
    assert parts[-1].buttons and not parts[0].buttons


def test_callback_data_round_trip_and_forgeries() -> None:
    data = callback_data(Action("More", "more", 123))
    assert data == "a:more:123"
    assert parse_callback_data(data) == ("more", 123)
    for forged in ["", "a:more", "a:drop:1", "a:more:-1", "a:more:x", "b:more:1", "a:more:1:2",
                   "a:more:" + "9" * 60]:  # fmt: skip
        assert parse_callback_data(forged) is None
    assert len(callback_data(Action("x", "similar", 10**17)).encode()) <= 64


@pytest.mark.parametrize(
    "bad",
    ["<b>unclosed", "</b>", "<script>x</script>", "a < b", "fish & chips", "<b><i>x</b></i>"],
)
def test_fake_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(ApiError):
        parse_html(bad)
