"""Right-to-left titles and summaries read right to left on Telegram and Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.discord import rendering as discord_render
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.rendering import render_card
from bot.bidi import LRI, PDI, RLM, directional
from bot.messages import PieceCard
from handlers.registry import command_table
from tests.factories import add_piece, open_core
from tests.fakes.telegram_api import FakeTelegramAPI, parse_html

TITLE = "BBC: المدينة تحتاج إلى مكتبات"
SUMMARY = "2024 كان عاماً صعباً للمكتبات.\n«لن نغلق أي مكتبة» قالت رئيسة البلدية لصحيفة Le Monde."
TOKEN = "555000:AAH-rtl-test-token_123"


def test_every_line_opens_with_a_right_to_left_mark_and_latin_runs_are_isolated() -> None:
    shown = directional(SUMMARY)
    lines = shown.split("\n")
    assert all(line.startswith(RLM) for line in lines)
    assert f"{LRI}Le Monde{PDI}." in lines[1]
    assert directional(TITLE).startswith(f"{RLM}{LRI}BBC{PDI}:")


def test_left_to_right_text_is_left_alone_and_hidden_controls_are_dropped() -> None:
    assert directional("The council should act: قال") == "The council should act: قال"
    # A right-to-left override smuggled into a title is removed before marks are added.
    assert "\u202e" not in directional("\u202eعنوان Evil")
    assert directional(directional(TITLE)) == directional(TITLE)  # idempotent


def card() -> PieceCard:
    return PieceCard(piece_id=3, title=TITLE, url="https://example.com/a", summary=SUMMARY)


def test_telegram_card_title_and_summary_lines_start_right_to_left() -> None:
    html_text, plain = render_card(card())
    visible = parse_html(html_text)
    assert visible == plain
    lines = visible.split("\n")
    assert lines[0].startswith(RLM + LRI + "BBC")
    body = [line for line in lines if "مكتبة" in line or "2024" in line]
    assert body and all(line.startswith(RLM) for line in body)


def test_discord_embed_title_and_summary_start_right_to_left() -> None:
    embed = discord_render.piece_embed(card())
    assert embed.title.startswith(RLM + LRI + "BBC")
    assert all(line.startswith(RLM) for line in embed.description.split("\n") if line)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(TOKEN, bot_username="CommentaryBot") as server:
        yield server


async def test_posted_arabic_piece_arrives_right_to_left(tmp_path: Path, fake) -> None:
    ann = fake.add_user(10, "Ann")
    fake.add_private(ann)
    async with open_core(
        tmp_path, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url
    ) as core:
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
        await adapter.start()
        try:
            chat = await core.services.store.ensure_chat("telegram", "10", kind="private")
            source = await core.services.store.add_source("demo", "https://demo.example/feed.xml")
            await core.services.store.add_subscription(
                chat.id, "source", "demo", source_id=source.id
            )
            await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, language="ar")
            [post] = await fake.wait_sent(1, chat_id=10)
        finally:
            await adapter.stop()
    assert post.plain.startswith(RLM + LRI + "BBC" + PDI)
    assert f"\n{RLM}«لن نغلق" in post.plain
