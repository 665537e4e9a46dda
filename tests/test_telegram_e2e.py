"""The Telegram adapter with the real core: commands, posts, buttons and replies end to end.

A Core on a temp database (tests.factories.open_core), the adapter pointed at the fake Bot API
through TELEGRAM_API_BASE_URL, and the core's delivery worker posting through the adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.telegram import TelegramAdapter
from bot.core import Core
from bot.delivery.sender import PlatformLimits
from handlers.registry import command_table
from tests.factories import add_piece, open_core
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI

TOKEN = "555000:AAH-e2e-SECRET-token-do-not-log_123"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(TOKEN, bot_username="CommentaryBot") as server:
        yield server


@asynccontextmanager
async def running(
    tmp_path: Path, fake: FakeTelegramAPI, limits: PlatformLimits | None = None, **overrides: Any
) -> AsyncIterator[tuple[TelegramAdapter, Core]]:
    async with open_core(
        tmp_path, telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url, **overrides
    ) as core:
        adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5, limits=limits)
        await adapter.start()
        try:
            yield adapter, core
        finally:
            await adapter.stop()


async def _subscribe(core: Core, chat_id: str, *, kind: str = "private", thread: str | None = None):
    chat = await core.services.store.ensure_chat("telegram", chat_id, kind=kind, thread_id=thread)
    source = await core.services.store.get_source("demo")
    if source is None:
        source = await core.services.store.add_source("demo", "https://demo.example/feed.xml")
    await core.services.store.add_subscription(chat.id, "source", "demo", source_id=source.id)
    return chat


async def test_help_and_start_in_private_chat(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with running(tmp_path, fake):
        fake.push_command(chat, ann, "/start")
        fake.push_command(chat, ann, "/help@CommentaryBot")
        sent = await fake.wait_sent(2, chat_id=10)
    assert "/help" in sent[0].plain or "/subscribe" in sent[0].plain
    assert "/latest" in sent[1].plain


async def test_post_buttons_and_reply_commands(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with running(tmp_path, fake) as (_, core):
        await _subscribe(core, "10")
        body = "\n\n".join(f"Paragraph {i}. " + "An argument is made here. " * 40 for i in range(8))
        await add_piece(
            core, title='<b>Hostile</b> & "quoted" title', text=body, authors=["Jane Doe"],
        )  # fmt: skip
        [post] = await fake.wait_sent(1, chat_id=10)
        assert post.plain.startswith('<b>Hostile</b> & "quoted" title')
        assert "Jane Doe" in post.plain
        labels = [b["text"] for b in post.buttons]
        assert "More" in labels and all(len(b["callback_data"]) <= 64 for b in post.buttons)
        more = next(
            b["callback_data"] for b in post.buttons if b["callback_data"].split(":")[1] == "more"
        )
        query = fake.push_callback(ann, post, more)
        answer = await fake.wait_answer(query)
        assert not answer.get("text")
        await fake.wait_sent(2, chat_id=10)
        fake.push_command(chat, ann, "/full", reply_to=post)
        # The parts may meet the fake's per-chat flood limit: the adapter waits and resends.
        # 8,400 characters: /full posts the first 6,000 and then points to the page.
        await fake.wait_until(lambda: "the rest on the page" in fake.messages(10)[-1].plain)
        full = fake.messages(10)[2:]
        assert len(full) >= 2  # the long text was split
        assert all(len(m.plain) <= 4096 for m in full)
        # A reply to a part of /full maps back to the same piece.
        fake.push_command(chat, ann, "/source", reply_to=full[0])
        await fake.wait_sent(len(fake.messages(10)) + 1, chat_id=10)
        assert "example.com" in fake.messages(10)[-1].plain
        # A stale button (a piece that does not exist) gets a short answer.
        forged = fake.make_message(chat, None, "x")
        forged["reply_markup"] = {
            "inline_keyboard": [[{"text": "M", "callback_data": "a:more:999"}]]
        }
        stale = fake.push_callback(ann, forged, "a:more:999")
        assert (await fake.wait_answer(stale)).get("text")
    assert all(status == 429 for _, status, _ in fake.rejected)


async def test_forum_topic_subscription_posts_into_topic(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    admin = fake.add_user(20, "Admin")
    forum = fake.add_group(-100300, "Forum", forum=True, admins=(20,))
    async with running(tmp_path, fake) as (_, core):
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        fake.push_command(forum, admin, "/subscribe demo", thread_id=42)
        [ack] = await fake.wait_sent(1, chat_id=-100300)
        assert ack.thread_id == 42
        await add_piece(core, source="demo")
        sent = await fake.wait_sent(2, chat_id=-100300)
    assert sent[1].thread_id == 42 and sent[1].buttons


async def test_channel_post_subscribes_channel(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    channel = fake.add_channel(-100600, "Chan", "chan")
    async with running(tmp_path, fake) as (_, core):
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        fake.push_channel_post(channel, "/subscribe@CommentaryBot demo")
        await fake.wait_sent(1, chat_id=-100600)
        await add_piece(core, source="demo")
        sent = await fake.wait_sent(2, chat_id=-100600)
    assert sent[1].buttons


async def test_private_subscribe_for_a_channel(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    private = fake.add_private(ann)
    fake.add_channel(-100650, "Opinions", "opinionschan", admins=(10,))
    async with running(tmp_path, fake) as (_, core):
        await core.services.store.add_source("demo", "https://demo.example/feed.xml")
        fake.push_command(private, ann, "/subscribe @opinionschan demo")
        [ack] = await fake.wait_sent(1, chat_id=10)
        assert not fake.messages(-100650)
        await add_piece(core, source="demo")
        [post] = await fake.wait_sent(1, chat_id=-100650)
    assert "demo" in ack.plain
    assert post.buttons


async def test_fan_out_to_many_chats_without_429_or_doubles(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    users = [fake.add_user(1000 + i, f"U{i}") for i in range(36)]
    for user in users:
        fake.add_private(user)
    groups = [fake.add_group(-100_000 - i, f"G{i}") for i in range(4)]
    # No bursts: every chat gets its pieces at most once a second, 30/s overall. The group
    # limit is raised to 60/min on both sides only to keep the test short.
    fake.limits = FakeLimits(per_chat_burst=1, per_group_per_minute=60)
    limits = PlatformLimits(per_group_per_minute=60)
    async with running(tmp_path, fake, limits) as (_, core):
        for user in users:
            await _subscribe(core, str(user.id))
        for group in groups:
            await _subscribe(core, str(group.id), kind="group")
        for _ in range(3):
            await add_piece(core, source="demo")
        await fake.wait_until(lambda: len(fake.sent) >= 120, timeout=20)
        await asyncio.sleep(0.3)
    assert not fake.rejected  # the worker kept to the limits: no 429
    per_chat: dict[int, list[str]] = {}
    for message in fake.sent:
        per_chat.setdefault(message.chat_id, []).append(message.plain.split("\n")[0])
    assert len(per_chat) == 40
    assert all(len(titles) == 3 and len(set(titles)) == 3 for titles in per_chat.values())


async def test_blocked_user_and_removed_group(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    private = fake.add_private(ann)
    group = fake.add_group(-100800, "G", bot_status="left")
    async with running(tmp_path, fake) as (_, core):
        await _subscribe(core, "10")
        fake.push_my_chat_member(group, ann, "left", "member")
        await fake.wait_sent(1, chat_id=-100800)
        assert (await core.services.store.get_chat("telegram", "-100800")).active
        fake.push_my_chat_member(group, ann, "member", "kicked")
        private.blocked = True
        await add_piece(core, source="demo")
        await fake.wait_until(lambda: any(r[1] == 403 for r in fake.rejected))
        await asyncio.sleep(0.3)
        assert not (await core.services.store.get_chat("telegram", "10")).active
        assert not (await core.services.store.get_chat("telegram", "-100800")).active
        # A late update from the group the bot has left: the reply fails quietly.
        fake.push_command(group, ann, "/help@CommentaryBot")
        fake.push_command(private, ann, "/help")
        await fake.wait_until(lambda: sum(r[1] == 403 for r in fake.rejected) >= 3)


async def test_a_chat_marked_gone_after_a_403_comes_back_when_it_talks_again(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    ann = fake.add_user(10, "Ann")
    private = fake.add_private(ann)
    bea = fake.add_user(11, "Bea")
    group = fake.add_group(-100810, "G", admins=(11,))
    async with running(tmp_path, fake) as (_, core):
        await _subscribe(core, "10")
        await _subscribe(core, "-100810", kind="group")
        # Posting fails with 403 (blocked; kicked) and no membership update arrives.
        private.blocked = True
        group.bot_status = "kicked"
        await add_piece(core, source="demo", title="While away")
        await fake.wait_until(lambda: sum(r[1] == 403 for r in fake.rejected) >= 2)
        for chat_id in ("10", "-100810"):
            await _wait_active(core, chat_id, False)
        # Both talk to the bot again: unblocked, re-added (the update about it was missed).
        private.blocked = False
        group.bot_status = "member"
        fake.push_command(private, ann, "/subscriptions")
        fake.push_command(group, bea, "/subscriptions@CommentaryBot")
        await fake.wait_sent(1, chat_id=10)
        await fake.wait_sent(1, chat_id=-100810)
        for chat_id in ("10", "-100810"):
            await _wait_active(core, chat_id, True)
        await add_piece(core, source="demo", title="Back again")
        await fake.wait_until(
            lambda: all(
                any(m.plain.startswith("Back again") for m in fake.messages(chat_id))
                for chat_id in (10, -100810)
            )
        )
    assert not any(m.plain.startswith("While away") for m in fake.sent)


async def _wait_active(core: Core, chat_id: str, active: bool) -> None:
    for _ in range(200):
        chat = await core.services.store.get_chat("telegram", chat_id)
        if chat is not None and chat.active == active:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"chat {chat_id} never became {'active' if active else 'inactive'}")
