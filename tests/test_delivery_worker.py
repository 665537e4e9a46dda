"""The delivery outbox worker with a recording platform: pacing, errors, quiet hours, digests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.delivery.errors import ChatGone, ChatMigrated, DeliveryError, PermanentError, RetryLater
from bot.delivery.pacing import Pacer, digest_due, quiet_until
from bot.delivery.sender import PlatformLimits
from bot.delivery.worker import DeliveryWorker
from bot.messages import Reply
from bot.types import Chat, ChatSettings
from tests.factories import add_piece


class RecordingSender:
    """A platform that records posts and can be told to fail the next sends."""

    def __init__(self, limits: PlatformLimits | None = None, *, platform: str = "fake") -> None:
        self.platform = platform
        self.limits = limits or PlatformLimits(1000.0, 1000.0, 60000.0)
        self.posts: list[tuple[str, Reply]] = []
        self.failures: list[Exception] = []
        self.times: list[float] = []

    async def send_post(self, chat: Chat, post: Reply) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((chat.platform_chat_id, post))
        self.times.append(asyncio.get_running_loop().time())
        return f"msg-{len(self.posts)}"


async def subscribe_chats(core, count: int, *, kind: str = "private", source: str = "demo"):
    found = await core.services.store.get_source(source)
    if found is None:
        found = await core.services.store.add_source(source, f"https://{source}.example/feed.xml")
    chats = []
    for i in range(count):
        chat = await core.services.store.ensure_chat("fake", f"chat-{i}", kind=kind)
        await core.services.store.add_subscription(chat.id, "source", source, source_id=found.id)
        chats.append(chat)
    return chats


async def run_until_idle(worker: DeliveryWorker, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not await worker.run_once():
            break
    await asyncio.gather(*worker._in_flight)  # noqa: SLF001 - wait for the sends started


async def test_every_chat_gets_the_piece_once_and_ids_are_stored(core) -> None:
    await subscribe_chats(core, 25)
    sender = RecordingSender()
    piece_id = await add_piece(core, title="One piece")
    worker = DeliveryWorker(core.services.store, sender)
    await run_until_idle(worker)
    await run_until_idle(worker)
    assert sorted(chat for chat, _ in sender.posts) == sorted(f"chat-{i}" for i in range(25))
    assert await core.services.store.count_deliveries(piece_id, "sent") == 25
    assert await core.services.store.piece_for_message("fake", "chat-3", "msg-1") in (
        piece_id,
        None,
    )
    sent = [
        await core.services.store.piece_for_message("fake", f"chat-{i}", f"msg-{n}")
        for i in range(25)
        for n in range(1, 26)
    ]
    assert sent.count(piece_id) == 25


async def test_global_pacing_spaces_sends() -> None:
    pacer = Pacer(
        PlatformLimits(global_per_second=10, per_chat_per_second=1, per_group_per_minute=20),
        clock=lambda: 0.0,
    )
    chats = [Chat(id=i, platform="x", platform_chat_id=str(i)) for i in range(5)]
    waits = [pacer.reserve(c) for c in chats]
    assert waits == [0.0, 0.1, 0.2, 0.30000000000000004, 0.4] or [round(w, 3) for w in waits] == [
        0.0,
        0.1,
        0.2,
        0.3,
        0.4,
    ]
    group = Chat(id=9, platform="x", platform_chat_id="g", kind="group")
    assert pacer.chat_gap(group) == 3.0  # 20 per minute
    topic = Chat(id=10, platform="x", platform_chat_id="g", kind="thread", thread_id="7")
    pacer.reserve(group)
    assert pacer.ready_at(topic) >= 3.0  # topics share their group's limit


async def test_chat_gone_marks_inactive_and_keeps_subscription(core) -> None:
    chats = await subscribe_chats(core, 1)
    sender = RecordingSender()
    sender.failures = [ChatGone("bot was blocked by the user")]
    await add_piece(core)
    worker = DeliveryWorker(core.services.store, sender)
    await run_until_idle(worker)
    chat = await core.services.store.get_chat_by_id(chats[0].id)
    assert not chat.active and "blocked" in chat.inactive_reason
    assert len(await core.services.store.list_subscriptions(chat.id)) == 1
    # Later pieces are not queued for the gone chat; coming back resumes.
    second = await add_piece(core)
    assert (await core.services.store.delivery_for(second, chat.id)).state == "skipped"
    await core.chat_seen("fake", "chat-0", "private")
    third = await add_piece(core)
    await run_until_idle(worker)
    assert (await core.services.store.delivery_for(third, chat.id)).state == "sent"


async def test_migrated_chat_is_retried_at_its_new_id(core) -> None:
    await subscribe_chats(core, 1, kind="group")
    sender = RecordingSender()
    sender.failures = [ChatMigrated("-100777")]
    await add_piece(core)
    worker = DeliveryWorker(core.services.store, sender)
    await run_until_idle(worker)
    await run_until_idle(worker)
    assert [chat for chat, _ in sender.posts] == ["-100777"]


async def test_retry_later_and_errors_postpone_without_losing(core) -> None:
    chats = await subscribe_chats(core, 1)
    sender = RecordingSender()
    sender.failures = [RetryLater(30)]
    piece_id = await add_piece(core)
    worker = DeliveryWorker(core.services.store, sender)
    await run_until_idle(worker)
    delivery = await core.services.store.delivery_for(piece_id, chats[0].id)
    assert delivery.state == "pending" and delivery.next_attempt_at > datetime.now(UTC)
    assert delivery.attempts == 0  # a platform's wait is not a failed attempt
    # The platform's wait holds every send of this worker back; a fresh worker (a restart)
    # meets a network error instead.
    sender.failures = [DeliveryError("network down")]
    await core.services.store.postpone(delivery.id, datetime.now(UTC), "test")
    await run_until_idle(DeliveryWorker(core.services.store, sender))
    delivery = await core.services.store.delivery_for(piece_id, chats[0].id)
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error == "network down"


async def test_permanent_error_fails_the_delivery(core) -> None:
    chats = await subscribe_chats(core, 1)
    sender = RecordingSender()
    sender.failures = [PermanentError("message rejected")]
    piece_id = await add_piece(core)
    await run_until_idle(DeliveryWorker(core.services.store, sender))
    delivery = await core.services.store.delivery_for(piece_id, chats[0].id)
    assert delivery.state == "failed" and delivery.last_error == "message rejected"


async def test_restart_resends_only_what_was_in_flight(core) -> None:
    await subscribe_chats(core, 3)
    piece_id = await add_piece(core)
    claimed = await core.services.store.claim_due("fake", limit=1)  # a crash right after claiming
    assert len(claimed) == 1
    sender = RecordingSender()
    worker = DeliveryWorker(core.services.store, sender)
    await core.services.store.reset_in_flight("fake")
    await run_until_idle(worker)
    assert len(sender.posts) == 3
    assert await core.services.store.count_deliveries(piece_id, "sent") == 3


async def test_quiet_hours_delay_never_drop(core) -> None:
    chats = await subscribe_chats(core, 1)
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    chat = chats[0]
    chat.settings.quiet_start, chat.settings.quiet_end = start, end
    await core.services.store.update_chat_settings(chat.id, chat.settings)
    piece_id = await add_piece(core)
    sender = RecordingSender()
    await run_until_idle(DeliveryWorker(core.services.store, sender))
    assert sender.posts == []
    delivery = await core.services.store.delivery_for(piece_id, chat.id)
    assert delivery.state == "pending" and delivery.next_attempt_at > now
    assert quiet_until(chat.settings, now) is not None
    assert (
        quiet_until(
            ChatSettings(quiet_start="22:00", quiet_end="07:00"),
            datetime(2026, 1, 1, 12, tzinfo=UTC),
        )
        is None
    )


async def test_digest_sends_one_message_at_its_time(core) -> None:
    chats = await subscribe_chats(core, 1)
    chat = chats[0]
    chat.settings.mode = "digest"
    chat.settings.digest_time = "00:00"  # always due today
    await core.services.store.update_chat_settings(chat.id, chat.settings)
    for n in range(3):
        await add_piece(core, title=f"Digest piece {n}")
    sender = RecordingSender()
    worker = DeliveryWorker(core.services.store, sender)
    await run_until_idle(worker)
    assert len(sender.posts) == 1
    text = sender.posts[0][1].text
    assert all(f"Digest piece {n}" in text for n in range(3))
    await run_until_idle(worker)
    assert len(sender.posts) == 1  # once a day
    assert digest_due(chat.settings, datetime.now(UTC).date().isoformat()) is None
