"""The Telegram adapter's translation: real python-telegram-bot against the fake Bot API.

These tests run the adapter over a recording core (the core's contract, nothing more), so
each one can say exactly which Request an update became and what the chat saw.
End-to-end runs with the real core are in test_telegram_e2e.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.telegram import TelegramAdapter, file_base_url, parse_command
from bot.config import Settings
from bot.delivery.errors import ChatGone, ChatMigrated, PermanentError, RetryLater
from bot.messages import Action, PieceCard, Reply, Request, Response
from bot.types import Chat, ChatSettings
from handlers.registry import command_table
from tests.fakes.telegram_api import FakeLimits, FakeTelegramAPI

TOKEN = "987654:AAE-recognisable-SECRET-token_xyz"
BOT_ID = 987654


class RecordingCore:
    """Implements the parts of the core contract the adapter calls, and records them."""

    receives_updates = True  # this process answers commands (run --role all or chat)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.requests: list[Request] = []
        self.recorded: list[tuple[str, str, list[tuple[str, int | None]]]] = []
        self.seen: list[tuple[str, str, str]] = []
        self.gone: list[tuple[str, str, str]] = []
        self.migrated: list[tuple[str, str, str]] = []
        self.delivery: list[Any] = []
        self.responses: dict[str, Response] = {}

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        if request.command == "boom":
            raise RuntimeError("handler exploded")
        if request.piece_id == 404:
            return Response.error("That piece is gone.")
        if request.command in self.responses:
            return self.responses[request.command]
        return Response.text(f"ok /{request.command} {request.args}".strip())

    async def chat_settings(self, platform: str, chat_id: str, thread_id=None):
        from bot.types import ChatSettings

        return ChatSettings()

    async def record_messages(self, platform: str, chat_id: str, sent: list) -> None:
        self.recorded.append((platform, chat_id, list(sent)))

    async def chat_seen(self, platform, chat_id, kind, title=None, thread_id=None) -> None:
        self.seen.append((platform, chat_id, kind))

    async def chat_gone(self, platform: str, chat_id: str, reason: str) -> None:
        self.gone.append((platform, chat_id, reason))

    async def chat_migrated(self, platform: str, old: str, new: str) -> None:
        self.migrated.append((platform, old, new))

    def start_delivery(self, sender: Any) -> None:
        self.delivery.append(sender)

    async def stop_delivery(self, platform: str) -> None:
        self.delivery.append(("stopped", platform))

    async def wait_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} requests, got {self.requests}")
            await asyncio.sleep(0.01)
        return self.requests


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(TOKEN, bot_username="CommentaryBot") as server:
        yield server


@asynccontextmanager
async def running(
    fake: FakeTelegramAPI, **overrides: Any
) -> AsyncIterator[tuple[TelegramAdapter, RecordingCore]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_base_url=fake.base_url,
        **overrides,
    )
    core = RecordingCore(settings)
    adapter = TelegramAdapter(core, command_table(), poll_timeout=0.5)  # type: ignore[arg-type]
    await adapter.start()
    try:
        yield adapter, core
    finally:
        await adapter.stop()


async def test_start_registers_commands_and_delivery(fake: FakeTelegramAPI) -> None:
    async with running(fake, commentary_owners="telegram:42") as (adapter, core):
        assert core.delivery == [adapter.sender]
        assert adapter.bot_username == "CommentaryBot"
        everyone = fake.commands_for("default")
        admins = fake.commands_for("all_chat_administrators")
        assert "help" in everyone and "latest" in everyone
        assert set(everyone) < set(admins)  # admins also get the admin commands
        assert "follow" in admins and "follow" not in everyone
        assert fake.commands_for("chat")  # the owner's private chat gets the full menu
    assert core.delivery[-1] == ("stopped", "telegram")


async def test_private_command_becomes_request_and_reply(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann", "ann")
    chat = fake.add_private(ann)
    async with running(fake) as (_, core):
        fake.push_command(chat, ann, "/latest  Some Outlet ")
        [sent] = await fake.wait_sent(1, chat_id=10)
        [request] = core.requests
    assert (request.command, request.args, request.chat_kind) == (
        "latest",
        "Some Outlet",
        "private",
    )
    assert request.chat_id == "10" and request.user_id == "10" and request.is_chat_admin
    assert sent.plain == "ok /latest Some Outlet" and sent.parse_mode == "HTML"
    assert sent.link_preview_options == {"is_disabled": True}
    assert core.recorded == [("telegram", "10", [(str(sent.message_id), None)])]


async def test_group_commands_addressed_and_for_other_bots(fake: FakeTelegramAPI) -> None:
    bob = fake.add_user(11, "Bob")
    group = fake.add_group(-100200, "Readers")
    async with running(fake) as (_, core):
        fake.push_command(group, bob, "/latest@OtherBot x")  # another bot's: ignored
        fake.push_command(group, bob, "/weather")  # unknown, unaddressed: another bot's
        fake.push_command(group, bob, "/LATEST@commentarybot y")
        await fake.wait_sent(1, chat_id=-100200)
        await asyncio.sleep(0.1)
        assert [(r.command, r.args) for r in core.requests] == [("latest", "y")]
        assert core.requests[0].chat_kind == "group" and not core.requests[0].is_chat_admin


async def test_forum_topic_keeps_thread_and_plain_reply_threads_do_not(
    fake: FakeTelegramAPI,
) -> None:
    bob = fake.add_user(11, "Bob")
    forum = fake.add_group(-100300, "Forum", forum=True)
    group = fake.add_group(-100301, "Plain")
    async with running(fake) as (_, core):
        fake.push_command(forum, bob, "/help", thread_id=77)
        fake.push_command(group, bob, "/help", extra={"message_thread_id": 5})
        await fake.wait_sent(1, chat_id=-100300)
        await fake.wait_sent(1, chat_id=-100301)
    by_chat = {r.chat_id: r for r in core.requests}
    assert by_chat["-100300"].thread_id == "77" and by_chat["-100300"].chat_kind == "thread"
    assert by_chat["-100301"].thread_id is None
    assert fake.messages(-100300)[0].thread_id == 77
    assert fake.messages(-100301)[0].thread_id is None


async def test_admin_checks_cached_and_anonymous_admins(fake: FakeTelegramAPI) -> None:
    admin, member = fake.add_user(20, "Admin"), fake.add_user(21, "Member")
    group = fake.add_group(-100400, "G", admins=(20,))
    async with running(fake) as (_, core):
        fake.push_command(group, admin, "/follow")
        fake.push_command(group, member, "/follow")
        fake.push_command(group, None, "/follow", sender_chat=group)  # anonymous admin
        await core.wait_requests(3)
    assert [r.is_chat_admin for r in core.requests] == [True, False, True]
    calls = [m for m, _ in fake.calls if m == "getChatAdministrators"]
    assert len(calls) == 1  # cached


async def test_reply_command_carries_replied_message_id(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    group = fake.add_group(-100500, "G")
    async with running(fake) as (adapter, core):
        post = Reply(card=PieceCard(5, "Title", "https://e.com/p"), piece_id=5)
        chat = Chat(1, "telegram", "-100500", kind="group")
        message_id = await adapter.sender.send_post(chat, post)
        [sent] = fake.messages(-100500)
        fake.push_command(group, ann, "/more", reply_to=sent)
        await core.wait_requests(1)
    assert core.requests[0].reply_to_message_id == message_id == str(sent.message_id)


async def test_callback_buttons_answered_and_forgeries_refused(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    fake.add_private(ann)
    async with running(fake) as (adapter, core):
        post = Reply(
            card=PieceCard(5, "T", "https://e.com/p", summary="S."),
            actions=[Action("More", "more", 5), Action("Gone", "more", 404)],
            piece_id=5,
        )
        await adapter.sender.send_post(Chat(1, "telegram", "10"), post)
        [sent] = fake.messages(10)
        assert [b["callback_data"] for b in sent.buttons] == ["a:more:5", "a:more:404"]
        good = fake.push_callback(ann, sent, "a:more:5")
        stale = fake.push_callback(ann, sent, "a:more:404")
        forged = fake.push_callback(ann, sent, "a:more:6")  # not a button of this message
        junk = fake.push_callback(ann, sent, "rm -rf /")
        answers = [await fake.wait_answer(q) for q in (good, stale, forged, junk)]
        await fake.wait_sent(2, chat_id=10)
    assert answers[0].get("text") is None
    assert answers[1]["text"] == "That piece is gone."
    assert answers[2]["text"] == answers[3]["text"] == "This button no longer works."
    # Button presses name their piece and the post they came from.
    assert [(r.command, r.piece_id, r.reply_to_message_id) for r in core.requests] == [
        ("more", 5, str(sent.message_id)),
        ("more", 404, str(sent.message_id)),
    ]
    assert fake.messages(10)[1].reply_to_message_id == sent.message_id


async def test_channel_post_is_admin_and_replies_in_channel(fake: FakeTelegramAPI) -> None:
    channel = fake.add_channel(-100600, "Chan", "chan")
    async with running(fake) as (_, core):
        fake.push_channel_post(channel, "/subscribe@CommentaryBot demo")
        [sent] = await fake.wait_sent(1, chat_id=-100600)
    [request] = core.requests
    assert request.chat_kind == "channel" and request.is_chat_admin and request.user_id == ""
    assert sent.plain == "ok /subscribe demo"


async def test_private_command_for_a_channel(fake: FakeTelegramAPI) -> None:
    ann, eve = fake.add_user(10, "Ann"), fake.add_user(13, "Eve")
    ann_chat, eve_chat = fake.add_private(ann), fake.add_private(eve)
    fake.add_channel(-100700, "News", "newschan", admins=(10,))
    fake.add_channel(-100701, "NoRights", "norights", admins=(10,), bot_status="member")
    async with running(fake) as (_, core):
        fake.push_command(ann_chat, ann, "/follow @newschan Jane Doe")
        fake.push_command(eve_chat, eve, "/follow @newschan Jane Doe")
        fake.push_command(ann_chat, ann, "/follow @norights x")
        fake.push_command(ann_chat, ann, "/follow @nosuchchannel x")
        await fake.wait_sent(3, chat_id=10)
        await fake.wait_sent(1, chat_id=13)
    [request] = core.requests
    assert (request.chat_id, request.chat_kind, request.args) == ("-100700", "channel", "Jane Doe")
    assert request.is_chat_admin and request.user_id == "10"
    assert ("telegram", "-100700", "channel") in core.seen
    texts = [m.plain for m in fake.messages(10)]
    assert texts[0] == "ok /follow Jane Doe"
    assert "administrator of @norights" in texts[1]
    assert "can't find @nosuchchannel" in texts[2]
    assert "Only administrators of @newschan" in fake.messages(13)[0].plain
    assert not fake.messages(-100700)  # answers go to the private chat


async def test_my_chat_member_added_removed_blocked(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    private = fake.add_private(ann)
    group = fake.add_group(-100800, "G", bot_status="left")
    channel = fake.add_channel(-100801, "C", "cc", bot_status="left")
    fake.add_private(ann)
    async with running(fake) as (_, core):
        fake.push_my_chat_member(group, ann, "left", "member")
        await fake.wait_sent(1, chat_id=-100800)
        fake.push_my_chat_member(channel, ann, "left", "administrator")
        await fake.wait_sent(1, chat_id=10)  # the channel greeting goes to whoever added us
        fake.push_my_chat_member(channel, ann, "administrator", "administrator",
                                 can_post_messages=False)  # fmt: skip
        fake.push_my_chat_member(group, ann, "member", "kicked")
        fake.push_my_chat_member(private, ann, "member", "kicked")
        await fake.wait_until(lambda: len(core.gone) == 3)
    assert core.seen == [("telegram", "-100800", "group"), ("telegram", "-100801", "channel")]
    assert [g[1] for g in core.gone] == ["-100801", "-100800", "10"]
    assert "/subscribe" in fake.messages(-100800)[0].plain
    assert not fake.messages(-100801)


async def test_bad_input_never_crashes(fake: FakeTelegramAPI, caplog: Any) -> None:
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    group = fake.add_group(-100900, "G")
    async with running(fake) as (_, core):
        fake.push_update("message", fake.make_message(chat, ann, extra={"sticker": {
            "file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1, "height": 1,
            "is_animated": False, "is_video": False}}))  # fmt: skip
        fake.push_update("message", fake.make_message(group, ann, "just chatting"))
        fake.push_update("edited_message", fake.make_message(chat, ann, "/latest edited"))
        fake.push_command(chat, ann, "/boom")
        fake.push_command(chat, ann, "/latest " + "x" * 100_000)
        fake.push_update(
            "message", {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "weird"}}
        )
        fake.push_command(chat, ann, "/help")
        await fake.wait_until(lambda: len(core.requests) == 3)
        await fake.wait_sent(4, chat_id=10)
    texts = [m.plain for m in fake.messages(10)]
    assert texts[0] == "I only understand commands here. Send /help to see them."
    assert "went wrong" in texts[1]
    assert len(core.requests[1].args) <= 4000
    assert texts[-1] == "ok /help"
    assert not fake.messages(-100900)


async def test_sender_maps_errors(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    blocked = fake.add_private(ann)
    blocked.blocked = True
    old = fake.add_group(-5, "Old", supergroup=False)
    old.migrated_to = -1005
    fake.add_group(-100901, "G")
    post = Reply(text="hello", piece_id=1)
    async with running(fake) as (adapter, _):
        with pytest.raises(ChatGone):
            await adapter.sender.send_post(Chat(1, "telegram", "10"), post)
        with pytest.raises(ChatMigrated) as migrated:
            await adapter.sender.send_post(Chat(2, "telegram", "-5", kind="group"), post)
        assert migrated.value.new_chat_id == "-1005"
        with pytest.raises(ChatGone):
            await adapter.sender.send_post(Chat(3, "telegram", "-4242", kind="group"), post)
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
        with pytest.raises(RetryLater) as later:
            await adapter.sender.send_post(Chat(4, "telegram", "-100901", kind="group"), post)
        assert later.value.seconds == 7
        fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities: oops")
        await adapter.sender.send_post(Chat(4, "telegram", "-100901", kind="group"), post)
        assert fake.messages(-100901)[-1].parse_mode is None  # resent as plain text once
        fake.fail_next("sendMessage", 400, "Bad Request: something else")
        with pytest.raises(PermanentError):
            await adapter.sender.send_post(Chat(4, "telegram", "-100901", kind="group"), post)


async def test_real_rate_limit_is_a_retry_later(fake: FakeTelegramAPI) -> None:
    fake.limits = FakeLimits(per_chat_burst=1)
    group = fake.add_group(-100902, "G")
    async with running(fake) as (adapter, _):
        chat = Chat(1, "telegram", str(group.id), kind="group")
        await adapter.sender.send_post(chat, Reply(text="one"))
        with pytest.raises(RetryLater):
            await adapter.sender.send_post(chat, Reply(text="two"))
    assert fake.rejected[-1][1] == 429


async def test_long_post_split_and_link_previews(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    fake.add_private(ann)
    fake.limits = FakeLimits(enabled=False)
    text = "\n\n".join("A fairly long sentence in a paragraph. " * 30 for _ in range(12))
    async with running(fake) as (adapter, core):
        chat = Chat(1, "telegram", "10", settings=ChatSettings(link_previews=True))
        first = await adapter.sender.send_post(chat, Reply(text=text, kind="long", piece_id=9))
        card = Reply(card=PieceCard(9, "T", "https://e.com/x"), piece_id=9)
        await adapter.sender.send_post(chat, card)
    sent = fake.messages(10)
    assert len(sent) >= 3 and first == str(sent[0].message_id)
    assert all(len(m.plain) <= 4096 for m in sent)
    assert core.recorded[0][2] == [(str(m.message_id), 9) for m in sent[1:-1]]
    assert sent[-1].link_preview_options == {"is_disabled": False, "url": "https://e.com/x"}


async def test_token_never_logged_or_sent(fake: FakeTelegramAPI, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with running(fake) as (adapter, core):
        fake.push_command(chat, ann, "/help")
        fake.push_command(chat, ann, "/boom")
        await fake.wait_sent(2, chat_id=10)
        fake.fail_next("sendMessage", 502, f"Bad Gateway for /bot{TOKEN}/sendMessage")
        with pytest.raises(Exception):  # noqa: B017 - any delivery error will do
            await adapter.sender.send_post(Chat(1, "telegram", "10"), Reply(text="x"))
    assert caplog.records  # DEBUG logging really was on
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in caplog.text
    assert all(TOKEN not in m.text for m in fake.sent)


async def test_webhook_mode(fake: FakeTelegramAPI) -> None:
    import aiohttp

    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    port = _free_port()
    async with running(
        fake,
        telegram_webhook_url="https://bot.example/tg/hook",
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
        telegram_webhook_secret=SecretStr("hook-secret"),
    ) as (_, core):
        assert fake.webhook is not None and fake.webhook["url"] == "https://bot.example/tg/hook"
        assert fake.webhook["secret_token"] == "hook-secret"
        update = {"update_id": 1, "message": fake.make_message(chat, ann, "/help")}
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/tg/hook"
            async with session.post(url, json=update) as bad:
                assert bad.status == 403  # no secret header: refused
            headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
            async with session.post(url, json=update, headers=headers) as ok:
                assert ok.status == 200
        await fake.wait_sent(1, chat_id=10)
    assert [r.command for r in core.requests] == ["help"]


def test_helpers() -> None:
    assert file_base_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("https://api.example/tg/bot") == "https://api.example/tg/file/bot"
    assert parse_command("/latest@CommentaryBot a b", "commentarybot") == ("latest", "a b", True)
    assert parse_command("/latest@Other", "commentarybot") is None
    assert parse_command("/latest\nmore", "commentarybot") == ("latest", "more", False)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_group_upgrade_migrates_chat(fake: FakeTelegramAPI) -> None:
    ann = fake.add_user(10, "Ann")
    old = fake.add_group(-77, "Old", supergroup=False)
    async with running(fake) as (_, core):
        fake.push_update(
            "message", fake.make_message(old, ann, extra={"migrate_to_chat_id": -10077})
        )
        await fake.wait_until(lambda: bool(core.migrated))
    assert core.migrated == [("telegram", "-77", "-10077")]
