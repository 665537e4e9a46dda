"""Corrections in place: a piece that changes at its source has its recent posts edited (or
posted again, per chat), marked "Updated HH:MM"; typo-level edits change nothing.

The rule, storage on both backends, then a real feed edited between two polls, through the
terminal chat, Telegram and Discord.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.delivery.corrections import change_reason, changed
from bot.types import Piece
from tests.httpserver import LocalHTTPServer, etag_resource
from tests.test_discord_adapter import bot, subscribe
from tests.test_discord_adapter import fake as discord_fake  # noqa: F401
from tests.test_ingest_support import item, rss
from tests.test_storage_backends import draft
from tests.test_telegram_e2e import fake as telegram_fake  # noqa: F401
from tests.test_telegram_e2e import running


# --- what counts as a change --------------------------------------------------------------------
def test_words_count_typos_and_punctuation_do_not() -> None:
    assert not changed("The goverment must act", "The government must act")
    assert not changed("Teh council’s plan", "The council's plan")
    assert not changed("Why we must act now", "Why we must act now!")
    assert not changed("Die Regierung muss handlen", "Die Regierung muss handeln", "de")
    assert changed("Costs rose by a million", "Costs rose by a billion")  # both real words
    assert changed("Costs rose by 1.5%", "Costs rose by 15%")  # numbers are facts
    assert changed("Why we must act", "Why we should act")
    assert changed("Why we must act", "Why we must act today")
    assert changed(None, "A title")


def test_change_reason_names_what_changed() -> None:
    piece = Piece(id=1, url="u", title="New title", text="", summary="Same summary.")
    assert change_reason(piece, "Old title", "Same summary.") == "the title changed"
    assert change_reason(piece, "New titel", "Same sumary.") is None
    assert change_reason(piece, "New title", "Another summary.") == "the summary changed"
    assert change_reason(piece, "Old", "Other") == "the title and the summary changed"


# --- storage ------------------------------------------------------------------------------------
async def test_corrections_for_recent_posts_only(store) -> None:
    chat = await store.ensure_chat("telegram", "10")
    other = await store.ensure_chat("telegram", "11")
    piece_id = (await store.save_piece(draft())).piece_id
    now = datetime.now(UTC)
    for target in (chat, other):
        sub = await store.add_subscription(target.id, "keyword", "budget")
        assert await store.queue_backfill(target.id, sub.id, [piece_id]) == 1
    claimed = await store.claim_due("telegram")
    await store.mark_sent(claimed[0][0].id, "501")
    await store.mark_sent(claimed[1][0].id, "601")
    # A digest that listed the piece is not the piece's own post: never edited.
    digest_piece = (await store.save_piece(draft())).piece_id
    assert await store.queue_corrections(digest_piece, "the title changed", now) == 0

    assert (
        await store.queue_corrections(piece_id, "the title changed", now + timedelta(hours=1)) == 0
    )
    assert (
        await store.queue_corrections(piece_id, "the title changed", now - timedelta(hours=48)) == 2
    )
    # Changed again before the first was sent: the waiting rows take the newer reason.
    assert (
        await store.queue_corrections(piece_id, "the summary changed", now - timedelta(hours=48))
        == 2
    )
    [waiting] = await store.corrections_for(piece_id, chat.id)
    assert (waiting.state, waiting.reason, waiting.message_id) == (
        "pending",
        "the summary changed",
        "501",
    )

    claimed = await store.claim_corrections("telegram")
    assert [(c.message_id, ch.id) for c, ch in claimed] == [("501", chat.id), ("601", other.id)]
    assert await store.claim_corrections("telegram") == []  # claimed once
    first, second = claimed[0][0], claimed[1][0]
    await store.finish_correction(first.id)
    await store.finish_correction(second.id, error="flood", retry_in=0)
    [again] = await store.claim_corrections("telegram")
    assert again[0].id == second.id and again[0].attempts == 1
    await store.finish_correction(second.id, error="message to edit not found")
    assert [c.state for c in await store.corrections_for(piece_id, chat.id)] == ["done"]
    [failed] = await store.corrections_for(piece_id, other.id)
    assert failed.state == "failed" and failed.last_error == "message to edit not found"
    # A restart puts rows left in flight back in the queue.
    await store.queue_corrections(piece_id, "the title changed", now - timedelta(hours=48))
    assert len(await store.claim_corrections("telegram")) == 2
    assert await store.reset_corrections_in_flight("telegram") == 2
    assert len(await store.claim_corrections("telegram")) == 2


# --- end to end: a feed edits its entry -----------------------------------------------------
def _feeds(base: str) -> tuple[str, str, str]:
    """The feed before, after a typo fix, and after a real change of the title."""
    original = item(base, 1, title="Teh council must publish its budget")
    typo = dataclasses.replace(original, title="The council must publish its budget")
    retitled = dataclasses.replace(
        original,
        title="The council must publish its budget before the vote",
        # The opening and the close rewritten: the summary changes whichever sentences it keeps.
        body=[
            "The council must publish its draft budget a full month before the vote, not the "
            "night before, so that residents can read it.",
            *original.body[1:-1],
            "Correction: an earlier version misstated the vote's date.",
        ],
    )
    return rss([original]), rss([typo]), rss([retitled])


async def _poll_through_edits(core, server: LocalHTTPServer, flush) -> None:  # type: ignore[no-untyped-def]
    """Post the piece, fix a typo (nothing happens), then change the title (a correction)."""
    original, typo, retitled = _feeds(server.base)
    server.add("/feed.xml", handler=etag_resource(original, '"1"'))
    await core.poll_now("views")
    await flush()
    server.add("/feed.xml", handler=etag_resource(typo, '"2"'))
    [report] = await core.poll_now("views")
    assert report.updated == 1
    await flush()
    server.add("/feed.xml", handler=etag_resource(retitled, '"3"'))
    [report] = await core.poll_now("views")
    assert report.updated == 1
    await flush()


async def _add_views(core, server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    # Marked polled so the first round posts (a brand-new source's first round only stores).
    source = await core.services.store.add_source("views", server.url("/feed.xml"))
    await core.services.store.update_source(source.id, first_poll_done=True)


async def test_terminal_chat_shows_the_post_again_edited(tmp_path: Path) -> None:
    from tests.factories import open_core

    async with LocalHTTPServer() as server, open_core(tmp_path) as core:
        await _add_views(core, server)
        out = io.StringIO()
        console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
        await console.chat()
        worker = core.start_delivery(console.sender)
        assert worker is not None
        await console.answer("/subscribe views")

        async def flush() -> None:
            await worker.flush()
            await worker.run_once()

        await _poll_through_edits(core, server, flush)
        await console.answer(f"/why {server.base}/opinion/2024/05/piece-number-1-on-civic-life")
    text = out.getvalue()
    assert "[m2] Teh council must publish its budget" in text
    assert text.count(", edited]") == 1  # the typo fix changed nothing
    assert "(reply with: >m2 /more" in text.split("[m2, edited]")[1]
    edited = text.split("[m2, edited] ")[1]
    assert edited.startswith("The council must publish its budget before the vote")
    assert "Updated " in edited and "the title and the summary changed at the source" in edited
    assert "the title and the summary changed at the source; the post here was edited" in text


async def test_telegram_edits_the_post_in_place(tmp_path: Path, telegram_fake) -> None:  # noqa: F811
    fake = telegram_fake
    ann = fake.add_user(10, "Ann")
    chat = fake.add_private(ann)
    async with LocalHTTPServer() as server, running(tmp_path, fake) as (_, core):
        await _add_views(core, server)
        fake.push_command(chat, ann, "/subscribe views")
        await fake.wait_sent(1, chat_id=10)

        async def flush() -> None:
            pass

        original, typo, retitled = _feeds(server.base)
        server.add("/feed.xml", handler=etag_resource(original, '"1"'))
        await core.poll_now("views")
        post = (await fake.wait_sent(2, chat_id=10))[1]
        assert post.plain.startswith("Teh council")
        server.add("/feed.xml", handler=etag_resource(typo, '"2"'))
        await core.poll_now("views")
        server.add("/feed.xml", handler=etag_resource(retitled, '"3"'))
        await core.poll_now("views")
        await fake.wait_until(lambda: post.edits == 1)
        fake.push_command(
            chat, ann, f"/why {server.base}/opinion/2024/05/piece-number-1-on-civic-life"
        )
        why = (await fake.wait_sent(3, chat_id=10))[2]
        # The chat may ask for a new post instead; the next change is posted again.
        fake.push_command(chat, ann, "/settings corrections repost")
        await fake.wait_sent(4, chat_id=10)
        again = dataclasses.replace(item(server.base, 1), title="A council that hides its budget")
        server.add("/feed.xml", handler=etag_resource(rss([again]), '"4"'))
        await core.poll_now("views")
        reposted = (await fake.wait_sent(5, chat_id=10))[4]
    assert post.plain.startswith("The council must publish its budget before the vote")
    assert "Updated " in post.plain and "at the source" in post.plain
    assert any(b["text"] == "More" for b in post.buttons)  # the buttons stay
    assert len(fake.messages(10)) == 5 and post.edits == 1  # no second post, one edit
    assert "the title and the summary changed at the source; the post here was edited" in why.plain
    assert (
        reposted.plain.startswith("A council that hides its budget") and "Updated" in reposted.plain
    )
    assert not [r for r in fake.rejected if r[1] != 429]


async def test_discord_edits_the_post_in_place(tmp_path: Path, discord_fake) -> None:  # noqa: F811
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with LocalHTTPServer() as server, bot(tmp_path, fake) as (core, _adapter):
        await _add_views(core, server)
        await subscribe(fake, channel, "views")
        original, typo, retitled = _feeds(server.base)
        server.add("/feed.xml", handler=etag_resource(original, '"1"'))
        await core.poll_now("views")
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 1)
        [post] = fake.messages(channel["id"])
        server.add("/feed.xml", handler=etag_resource(typo, '"2"'))
        await core.poll_now("views")
        server.add("/feed.xml", handler=etag_resource(retitled, '"3"'))
        await core.poll_now("views")
        await fake.wait_for(lambda: any(r.kind == "edit" for r in fake.recorded))
        [edit] = [r for r in fake.recorded if r.kind == "edit"]
        stored = fake.messages_by_id[post.message_id]
    assert edit.message_id == post.message_id
    assert stored["embeds"][0]["title"] == "The council must publish its budget before the vote"
    assert "Updated " in stored["content"] and "at the source" in stored["content"]
    assert len(fake.messages(channel["id"])) == 1
