"""/why <url>: every fate a piece can have in a chat, read back from a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import Core
from bot.types import ExtractedPiece, PieceDraft
from tests.factories import add_piece, open_core
from tests.handler_support import OWNERS, chat_of, say

URL = "https://opinion.example/2024/05/the-case-for-trains"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path, commentary_owners=OWNERS) as opened:
        await opened.services.store.add_source("opinion", "https://opinion.example/feed.xml")
        await opened.services.store.add_source("other", "https://other.example/feed.xml")
        yield opened


async def why(core: Core, url: str = URL, **kwargs) -> str:  # type: ignore[no-untyped-def]
    response = await say(core, "why", url, **kwargs)
    assert not response.is_error, response.plain_text()
    return response.plain_text()


async def delivery(core: Core, piece_id: int):  # type: ignore[no-untyped-def]
    return await core.services.store.delivery_for(piece_id, (await chat_of(core)).id)


@pytest.mark.parametrize("args", ["", "https://a.example/x https://b.example/y"])
async def test_wrong_number_of_links(core: Core, args: str) -> None:
    response = await say(core, "why", args)
    assert response.is_error and "Usage: /why <url>" in response.plain_text()


async def test_unknown_url_names_the_source_on_that_site(core: Core) -> None:
    text = await why(core, "https://WWW.Opinion.example/never-seen?utm_source=x#top")
    assert "not fetched https://www.opinion.example/never-seen" in text
    assert "Source opinion is on that site, polled every 30m" in text


async def test_unknown_url_on_an_unknown_site(core: Core) -> None:
    text = await why(core, "nowhere.example/a")
    assert "None of my sources is on nowhere.example" in text and "/addsource" in text


async def test_tracking_and_case_do_not_hide_a_known_piece(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    await add_piece(core, source="opinion", url=URL, title="The case for trains")
    messy = "https://OPINION.example/2024/05/the-case-for-trains?utm_medium=social&fbclid=1#c"
    text = await why(core, messy)
    assert text.startswith("The case for trains")
    assert "Queued to be posted here (via subscription #1 (source opinion))" in text


async def test_chat_without_subscriptions(core: Core) -> None:
    await add_piece(core, source="opinion", url=URL)
    assert "follows nothing" in await why(core)


async def test_no_matching_subscription(core: Core) -> None:
    await say(core, "subscribe", "other")
    await add_piece(core, source="opinion", url=URL, authors=["Ann Lee"])
    text = await why(core)
    assert (
        "No subscription of this chat matches it (it came from source opinion by Ann Lee)" in text
    )


async def test_piece_older_than_the_subscription(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with monkeypatch.context() as patch:  # stored times have whole seconds: make the gap clear
        patch.setattr("storage.pieces.utcnow", lambda: an_hour_ago)
        await add_piece(core, source="opinion", url=URL)
    await say(core, "subscribe", "opinion")
    assert "before subscription #1 (source opinion) was made" in await why(core)


async def test_piece_stored_without_posting(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    await add_piece(core, source="opinion", url=URL, fan_out=False)
    assert "stored without posting" in await why(core)


async def test_filtered_by_a_filter(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    await say(core, "filter", "1 -football")
    piece_id = await add_piece(core, source="opinion", url=URL, text="Football is politics.")
    assert (await delivery(core, piece_id)).state == "filtered"
    text = await why(core)
    assert 'Filtered out by subscription #1 (source opinion): filter -"football" matched' in text


async def test_filtered_by_language(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    await say(core, "settings", "language de")
    await add_piece(core, source="opinion", url=URL, language="en")
    assert "language en is not de" in await why(core)


async def test_sent(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    piece_id = await add_piece(core, source="opinion", url=URL)
    await core.services.store.mark_sent((await delivery(core, piece_id)).id, "m-1")
    assert "Posted here 20" in await why(core)


async def test_failed_says_why(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    piece_id = await add_piece(core, source="opinion", url=URL)
    await core.services.store.mark_failed(
        (await delivery(core, piece_id)).id, "Forbidden: bot was blocked"
    )
    assert "Posting failed after 1 attempt: Forbidden: bot was blocked" in await why(core)


async def test_retry_and_quiet_hours(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    retried = await add_piece(core, source="opinion", url=URL)
    await core.services.store.mark_retry((await delivery(core, retried)).id, "timed out", 120)
    text = await why(core)
    assert "Queued for another try" in text and "attempt 1 failed: timed out" in text
    held = await add_piece(core, source="opinion", url=URL + "-2")
    later = datetime.now(UTC) + timedelta(hours=3)
    await core.services.store.postpone((await delivery(core, held)).id, later, "quiet hours")
    text = await why(core, URL + "-2")
    assert "held until" in text and text.endswith("UTC: quiet hours.")


async def test_digest_mode(core: Core) -> None:
    await say(core, "settings", "mode digest 07:30 Europe/Berlin")
    await say(core, "subscribe", "opinion")
    await add_piece(core, source="opinion", url=URL)
    text = await why(core)
    assert "Held for this chat's digest" in text and "07:30 Europe/Berlin" in text
    assert "/digest" in text


async def test_skipped_for_an_inactive_chat(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    await core.services.store.set_chat_active("console", "chat-1", False, "bot was removed")
    await add_piece(core, source="opinion", url=URL)
    assert "Skipped: chat inactive: bot was removed" in await why(core)


async def test_syndicated_copy_names_the_first_piece(core: Core) -> None:
    await say(core, "subscribe", "opinion")
    first = await add_piece(core, source="opinion", url=URL, title="Trains, again")
    copy = "https://syndicate.example/trains-again"
    draft = PieceDraft(
        url=copy, piece=ExtractedPiece(title="Trains, again", text="x", outlet="Syndicate")
    )
    result = await core.services.store.save_piece(draft, duplicate_of=first)
    assert result.status == "duplicate"
    text = await why(core, copy)
    assert f"syndicated copy of piece #{first} ({URL})" in text
    assert "Queued" in text  # and what happened to the first piece here


async def test_markup_and_rtl_in_the_url_are_echoed_plainly(core: Core) -> None:
    text = await why(core, "https://x.example/<b>مرحبا</b>")
    assert "not fetched" in text and "<b>" in text


def test_next_digest_is_today_or_tomorrow() -> None:
    from bot.types import ChatSettings
    from handlers.registry import load_all

    load_all()  # importing a handler module first would leave the registry half-loaded
    from handlers.why import next_digest

    settings = ChatSettings(mode="digest", digest_time="08:00", timezone="UTC")
    morning = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    assert next_digest(settings, morning) == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert next_digest(settings, morning.replace(hour=9)).day == 2
    assert next_digest(replace(settings, timezone="Bad/Zone"), morning).hour == 8
