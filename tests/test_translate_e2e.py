"""/settings translate end to end: local fake LLM, Telegram and Discord fakes, cache, budget,
label, the original one tap away, and what happens without a model or with a bad answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.telegram import TelegramAdapter
from handlers.registry import command_table
from handlers.settings import NEEDS_LLM
from tests.factories import add_piece, open_core
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.handler_support import say
from tests.test_discord_adapter import TOKEN as DISCORD_TOKEN
from tests.test_discord_adapter import answer, bot, subscribe, text_of

TOKEN = "555000:AAH-translate-token_123"
KEY = "sk-translate-SECRET-9"
TITLE = "Towns should own their broadband"
SUMMARY = "The council should buy the fibre network for 12 million euros before the 2027 vote."
FRENCH = {
    "title": "Les villes devraient posséder leur réseau",
    "summary": "Le conseil devrait acheter le réseau de fibre pour 12 millions d'euros avant le "
    "vote de 2027.",
}


@pytest.fixture
async def fake_llm() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"reply": json.dumps(FRENCH), "requests": []}

    async def completions(request: web.Request) -> web.Response:
        state["requests"].append(await request.json())
        return web.json_response({"choices": [{"message": {"content": state["reply"]}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with FakeDiscord(token=DISCORD_TOKEN, heartbeat_ms=45_000) as server:
        yield server
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(TOKEN, bot_username="CommentaryBot") as server:
        yield server


async def test_translated_posts_cached_budgeted_labelled_with_original(
    tmp_path: Path, fake: FakeTelegramAPI, fake_llm: dict[str, Any]
) -> None:
    ann, bob = fake.add_user(10, "Ann"), fake.add_user(11, "Bob")
    chats = [fake.add_private(ann), fake.add_private(bob)]
    async with open_core(
        tmp_path,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        llm_base_url=fake_llm["url"],
        llm_api_key=KEY,
        llm_model="tiny-model",
        llm_daily_budget=5,
    ) as core:
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
        await adapter.start()
        try:
            await core.services.store.add_source("demo", "https://demo.example/feed.xml")
            for chat, user in zip(chats, (ann, bob), strict=True):
                fake.push_command(chat, user, "/settings translate fr")
                fake.push_command(chat, user, "/subscribe demo")
            await fake.wait_until(lambda: all(len(fake.messages(c)) >= 2 for c in (10, 11)))
            assert "translated into fr" in fake.messages(10)[0].plain
            sent_before = {c: len(fake.messages(c)) for c in (10, 11)}
            await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, language="en")
            await fake.wait_until(
                lambda: all(len(fake.messages(c)) > sent_before[c] for c in (10, 11)), timeout=10
            )
            posts = [fake.messages(c)[sent_before[c]] for c in (10, 11)]
            for post in posts:
                assert post.plain.startswith(FRENCH["title"])
                assert FRENCH["summary"] in post.plain
                assert "Translated into fr by a language model (tiny-model)" in post.plain
                assert SUMMARY not in post.plain
                assert any(b["text"] == "Original" for b in post.buttons)
            # One request for both chats: the translation is cached per piece and language,
            # and counted against the daily budget.
            assert len(fake_llm["requests"]) == 1
            translator = core.services.translator
            assert translator is not None and translator.llm.used_today == 1
            # The original, one tap away.
            original = next(b["callback_data"] for b in posts[0].buttons if b["text"] == "Original")
            fake.push_callback(ann, posts[0], original)
            await fake.wait_until(lambda: len(fake.messages(10)) > sent_before[10] + 1)
            shown = fake.messages(10)[-1].plain
            assert shown.startswith(TITLE) and SUMMARY in shown and "Translated" not in shown
        finally:
            await adapter.stop()


async def test_unfaithful_translation_posts_the_original(
    tmp_path: Path, fake_llm: dict[str, Any]
) -> None:
    # The model changes a number: the translation is refused and the original goes out.
    fake_llm["reply"] = json.dumps({**FRENCH, "summary": FRENCH["summary"].replace("12", "15")})
    async with open_core(tmp_path, llm_base_url=fake_llm["url"], llm_model="m") as core:
        translator = core.services.translator
        assert translator is not None
        piece_id = await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, fan_out=False)
        piece = await core.services.store.get_piece(piece_id)
        assert piece is not None
        assert await translator.translate(piece, "fr", "standard") is None
        assert await core.services.store.get_translation(piece_id, "fr:standard") is None


async def test_without_an_llm_the_setting_says_what_it_needs(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        answer = await say(core, "settings", "translate fr")
        assert answer.is_error
        assert NEEDS_LLM in answer.plain_text()
        assert "LLM_BASE_URL" in answer.plain_text()
        shown = await say(core, "settings")
        assert "translate into: off" in shown.plain_text()


async def test_discord_channel_gets_translated_embed_and_original_button(
    tmp_path: Path, discord_fake: FakeDiscord, fake_llm: dict[str, Any]
) -> None:
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    llm = {"llm_base_url": fake_llm["url"], "llm_api_key": KEY, "llm_model": "tiny-model"}
    async with bot(tmp_path, fake, **llm) as (core, _adapter):
        iid = await fake.slash(
            channel, "settings", {"setting": "translate", "value": "fr"}, admin=True
        )
        assert "translated into fr" in text_of(await answer(fake, iid))
        await subscribe(fake, channel)
        piece_id = await add_piece(
            core, title=TITLE, text=SUMMARY, summary=SUMMARY, language="en", source="demo"
        )
        await fake.wait_for(lambda: fake.messages(channel["id"]), timeout=10)
        [post] = fake.messages(channel["id"])
        embed = post.embeds[0]
        assert embed["title"] == FRENCH["title"]
        assert FRENCH["summary"] in embed["description"] and SUMMARY not in embed["description"]
        assert "Translated into fr by a language model (tiny-model)" in embed["footer"]["text"]
        assert f"cb:original:{piece_id}" in post.custom_ids
        message = fake.messages_by_id[post.message_id]
        iid = await fake.press(channel, f"cb:original:{piece_id}", message)
        shown = text_of(await answer(fake, iid))
        assert TITLE in shown and SUMMARY in shown and FRENCH["title"] not in shown
        assert len(fake_llm["requests"]) == 1
        # The key was sent to the model only: never in what the chat sees.
        assert KEY not in shown and KEY not in embed["description"]


async def test_digest_shows_translated_titles_and_summaries_labelled(
    tmp_path: Path, fake: FakeTelegramAPI, fake_llm: dict[str, Any]
) -> None:
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with open_core(
        tmp_path,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        llm_base_url=fake_llm["url"],
        llm_model="tiny-model",
    ) as core:
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)
        await adapter.start()
        try:
            await core.services.store.add_source("demo", "https://demo.example/feed.xml")
            for command in ("/settings mode digest 08:00", "/settings translate fr"):
                fake.push_command(chat, ann, command)
            fake.push_command(chat, ann, "/subscribe demo")
            await fake.wait_until(lambda: len(fake.messages(10)) >= 3)
            await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, language="en")
            held = len(fake.messages(10))
            fake.push_command(chat, ann, "/digest")
            await fake.wait_until(
                lambda: any("Your digest" in m.plain for m in fake.messages(10)[held:]), timeout=10
            )
            digest = next(m.plain for m in fake.messages(10)[held:] if "Your digest" in m.plain)
            assert FRENCH["title"] in digest and FRENCH["summary"] in digest
            assert "(translated into fr by a language model)" in digest
            assert TITLE not in digest
        finally:
            await adapter.stop()


async def test_latest_and_summary_answers_are_translated_from_the_same_cache(
    tmp_path: Path, fake_llm: dict[str, Any]
) -> None:
    async with open_core(tmp_path, llm_base_url=fake_llm["url"], llm_model="tiny-model") as core:
        assert not (await say(core, "settings", "translate fr")).is_error
        await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, language="en")
        for _ in range(2):
            answer = await say(core, "latest", "1")
            [post] = answer.messages
            assert post.card is not None and post.card.title == FRENCH["title"]
            assert post.card.method_note and "Translated into fr" in post.card.method_note
            assert any(a.command == "original" for a in post.actions)
        assert len(fake_llm["requests"]) == 1  # the second /latest read the cache
        # A chat that did not ask for a language reads the piece as written.
        other = await say(core, "latest", "1", chat="chat-2")
        assert other.messages[0].card is not None and other.messages[0].card.title == TITLE


async def test_more_in_a_translating_chat_is_translated_with_the_original_a_tap_away(
    tmp_path: Path, fake_llm: dict[str, Any]
) -> None:
    async with open_core(tmp_path, llm_base_url=fake_llm["url"], llm_model="m") as core:
        piece_id = await add_piece(core, title=TITLE, text=SUMMARY, summary=SUMMARY, fan_out=False)
        before = await say(core, "more", str(piece_id))
        assert TITLE in before.plain_text() and not fake_llm["requests"]  # not translating yet
        assert not (await say(core, "settings", "translate fr")).is_error
        answer = await say(core, "more", str(piece_id))
        reply = answer.messages[0]
        assert reply.card is not None and reply.card.title == FRENCH["title"]
        assert reply.card.summary == FRENCH["summary"]
        assert "Translated into fr" in (reply.card.method_note or "")
        assert [a.command for a in reply.actions] == ["original", "full"]
        await say(core, "more", str(piece_id))  # the long translation is cached
        assert len(fake_llm["requests"]) == 1
        assert await core.services.store.get_translation(piece_id, "fr:long") is not None
