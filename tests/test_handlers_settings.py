"""/settings (read by anyone, changed by admins) and /digest on a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Core
from bot.delivery.errors import DeliveryError
from bot.delivery.worker import DeliveryWorker
from tests.factories import add_piece, open_core
from tests.handler_support import OWNERS, chat_of, say
from tests.test_delivery_worker import RecordingSender


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path, commentary_owners=OWNERS) as opened:
        await opened.services.store.add_source("opinion", "https://opinion.example/feed.xml")
        yield opened


async def settings_of(core: Core, chat: str = "chat-1"):  # type: ignore[no-untyped-def]
    return (await chat_of(core, chat)).settings


async def test_show_defaults(core: Core) -> None:
    text = (await say(core, "settings")).plain_text()
    assert "mode: instant" in text and "time zone: UTC" in text
    assert "length: standard" in text and "quiet hours: off" in text
    assert "language: any" in text and "link previews: off" in text


async def test_anyone_reads_only_admins_change(core: Core) -> None:
    shown = await say(core, "settings", kind="group", admin=False)
    assert not shown.is_error and "mode: instant" in shown.plain_text()
    refused = await say(core, "settings", "length short", kind="group", admin=False)
    assert refused.is_error and "administrators" in refused.plain_text()
    assert (await settings_of(core)).length == "standard"
    done = await say(core, "settings", "length short", kind="group", admin=False, user="owner-1")
    assert not done.is_error
    assert (await settings_of(core)).length == "short"


async def test_digest_mode_with_time_and_zone(core: Core) -> None:
    response = await say(core, "settings", "mode digest 7:30 europe/berlin")
    assert "daily digest at 07:30 Europe/Berlin" in response.plain_text()
    s = await settings_of(core)
    assert (s.mode, s.digest_time, s.timezone) == ("digest", "07:30", "Europe/Berlin")
    # Either order; unspecified parts are kept.
    await say(core, "settings", "mode digest America/New_York")
    s = await settings_of(core)
    assert (s.digest_time, s.timezone) == ("07:30", "America/New_York")
    await say(core, "settings", "mode instant")
    assert (await settings_of(core)).mode == "instant"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("mode", "Mode is instant or digest"),
        ("mode weekly", "Mode is instant or digest"),
        ("mode instant 08:00", "Instant mode takes no time"),
        ("mode digest 25:00", "is not a time"),
        ("mode digest 08:61", "is not a time"),
        ("mode digest Mars/Olympus", "is not a time zone"),
        ("mode digest ../../etc/passwd", "is not a time zone"),
        ("mode digest 08:00 UTC extra", "at most a time and a time zone"),
        ("length huge", "Length is one of: short, standard, long"),
        ("length", "Length is one of"),
        ("quiet 22:00", "HH:MM-HH:MM or off"),
        ("quiet 22:00-22:00", "different start and end"),
        ("quiet 22:00-24:00", "is not a time"),
        ("language english", "two-letter code"),
        ("language de fr", "two-letter code"),
        ("previews maybe", "Previews is one of: on, off"),
        ("colour blue", "no setting 'colour'"),
        ("<b>x</b> y", "no setting '<b>x</b>'"),
    ],
)
async def test_bad_values(core: Core, args: str, hint: str) -> None:
    before = await settings_of(core)
    response = await say(core, "settings", args)
    assert response.is_error
    assert hint in response.plain_text() and "Usage: /settings" in response.plain_text()
    assert await settings_of(core) == before


async def test_quiet_language_previews_length(core: Core) -> None:
    assert (
        "Quiet hours 22:00-07:00" in (await say(core, "settings", "quiet 22:00-7:00")).plain_text()
    )
    await say(core, "settings", "language DE")
    await say(core, "settings", "previews on")
    await say(core, "settings", "length long")
    await say(core, "settings", "timezone asia/tokyo")
    s = await settings_of(core)
    assert (s.quiet_start, s.quiet_end, s.language, s.link_previews, s.length, s.timezone) == (
        "22:00",
        "07:00",
        "de",
        True,
        "long",
        "Asia/Tokyo",
    )
    await say(core, "settings", "quiet off")
    await say(core, "settings", "language any")
    s = await settings_of(core)
    assert (s.quiet_start, s.quiet_end, s.language) == (None, None, None)


async def test_settings_are_per_chat(core: Core) -> None:
    await say(core, "settings", "length short", chat="chat-2")
    assert (await settings_of(core)).length == "standard"
    assert (await settings_of(core, "chat-2")).length == "short"


async def test_four_thousand_characters(core: Core) -> None:
    response = await say(core, "settings", "mode digest " + "Z" * 4000)
    assert response.is_error and "too long" in response.plain_text()


# --- /digest -----------------------------------------------------------------------------------
async def test_digest_is_posted_by_the_worker_and_marked_sent_after(core: Core) -> None:
    await say(core, "settings", "mode digest 08:00")
    await say(core, "subscribe", "opinion")
    ids = [await add_piece(core, source="opinion", title=f"Piece {i}") for i in range(3)]
    chat = await chat_of(core)
    assert await core.services.store.digest_pieces(chat.id) == ids
    response = await say(core, "digest")
    assert response.plain_text() == "Sending this chat's digest now: 3 pieces."
    # Nothing is marked sent before the post went out.
    assert await core.services.store.digest_pieces(chat.id) == ids
    sender = RecordingSender(platform="console")
    await DeliveryWorker(core.services.store, sender).run_once()
    [(chat_id, post)] = sender.posts
    assert chat_id == "chat-1" and post.text.startswith("Your digest: 3 pieces")
    assert all(f"Piece {i}" in post.text for i in range(3))  # the daily digest's rendering
    assert await core.services.store.digest_pieces(chat.id) == []
    states = {(await core.services.store.delivery_for(i, chat.id)).state for i in ids}
    assert states == {"sent"}
    again = await say(core, "digest")
    assert "Nothing is waiting" in again.plain_text()


async def test_digest_that_fails_to_post_stays_held(core: Core) -> None:
    await say(core, "settings", "mode digest 08:00")
    await say(core, "subscribe", "opinion")
    ids = [await add_piece(core, source="opinion") for _ in range(2)]
    chat = await chat_of(core)
    await say(core, "digest")
    sender = RecordingSender(platform="console")
    sender.failures.append(DeliveryError("network down"))
    worker = DeliveryWorker(core.services.store, sender)
    await worker.run_once()
    assert sender.posts == [] and await core.services.store.digest_pieces(chat.id) == ids
    await worker.run_once()  # asked for, so the next round tries again
    assert len(sender.posts) == 1 and await core.services.store.digest_pieces(chat.id) == []


async def test_digest_when_instant(core: Core) -> None:
    response = await say(core, "digest")
    assert (
        "Nothing is waiting" in response.plain_text() and "as they arrive" in response.plain_text()
    )


async def test_digest_needs_admin_in_a_group(core: Core) -> None:
    await say(core, "settings", "mode digest", kind="group", admin=True)
    await say(core, "subscribe", "opinion", kind="group", admin=True)
    await add_piece(core, source="opinion")
    refused = await say(core, "digest", kind="group", admin=False)
    assert refused.is_error
    assert len(await core.services.store.digest_pieces((await chat_of(core)).id)) == 1


async def test_switching_to_instant_releases_held_pieces(core: Core) -> None:
    await say(core, "settings", "mode digest")
    await say(core, "subscribe", "opinion")
    piece_id = await add_piece(core, source="opinion")
    response = await say(core, "settings", "mode instant")
    assert "The 1 held piece will be posted now" in response.plain_text()
    chat = await chat_of(core)
    assert (await core.services.store.delivery_for(piece_id, chat.id)).state == "pending"
