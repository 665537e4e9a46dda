"""Reactions that teach: 👍/👎 (Telegram reactions, Discord buttons, /like and /dislike
replies everywhere) record the chat's taste; /settings relevance on holds back pieces clearly
closer to what the chat disliked, listed in the digest or a daily note, never dropped.

The rule, storage on both backends, then the terminal chat, Telegram and Discord end to end.
"""

from __future__ import annotations

import io
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.adapters.telegram.reactions import vote_change
from bot.delivery.relevance import compare
from bot.types import Piece
from tests.factories import add_piece, open_core
from tests.test_discord_adapter import answer, bot, subscribe
from tests.test_discord_adapter import fake as discord_fake  # noqa: F401
from tests.test_storage_backends import draft
from tests.test_telegram_e2e import _subscribe, running
from tests.test_telegram_e2e import fake as telegram_fake  # noqa: F401

GARDENS = (
    "Community gardens need more allotments, compost, seedlings and volunteers. Tomatoes, "
    "beans and orchards thrive where councils lend land to growers and beekeepers."
)
FOOTBALL = (
    "The football league should cap transfer fees. Strikers, goalkeepers and managers earn "
    "wages that ruin clubs, stadiums and supporters' season tickets."
)


def piece(n: int, topic: str) -> Piece:
    return Piece(id=n, url=f"https://x.example/{n}", title=f"Piece {n}", text=f"{topic} " * 3)


# --- the rule -----------------------------------------------------------------------------------
def test_reaction_changes_become_votes() -> None:
    assert vote_change(set(), {1}) == 1
    assert vote_change({1}, {-1}) == -1
    assert vote_change({1}, set()) == 0  # taken back
    assert vote_change({1}, {1}) is None  # another emoji came or went
    assert vote_change({1, -1}, {-1}) == -1


def test_held_back_only_when_clearly_closer_to_disliked() -> None:
    liked = [piece(1, GARDENS), piece(2, GARDENS + " Hedges and ponds.")]
    disliked = [piece(3, FOOTBALL), piece(4, FOOTBALL + " Referees too.")]
    votes = 5
    assert compare(piece(9, FOOTBALL + " Penalties."), liked, disliked, votes).hold
    assert not compare(piece(9, GARDENS + " Mulch."), liked, disliked, votes).hold
    # Unrelated to both: not "clearly closer" to either.
    assert not compare(piece(9, "Tax reform for pensions and savings."), liked, disliked, 5).hold
    # Too few votes to mean anything.
    assert not compare(piece(9, FOOTBALL), liked, disliked, 4).hold
    verdict = compare(piece(9, FOOTBALL), [], disliked, votes)  # only dislikes so far
    assert verdict.hold and "from 5 votes" in verdict.reason


# --- storage ------------------------------------------------------------------------------------
async def test_votes_one_per_member_and_held_pieces(store) -> None:
    chat = await store.ensure_chat("discord", "c1")
    other = await store.ensure_chat("discord", "c2")
    first = (await store.save_piece(draft())).piece_id
    second = (await store.save_piece(draft())).piece_id
    await store.record_vote(chat.id, first, "ann", 1)
    await store.record_vote(chat.id, first, "ann", -1)  # changed her mind: still one vote
    await store.record_vote(chat.id, first, "bo", -1)
    await store.record_vote(chat.id, second, "ann", 1)
    await store.record_vote(chat.id, 999_999, "ann", 1)  # no such piece: ignored
    await store.record_vote(other.id, first, "ann", 1)  # another chat's taste
    assert await store.piece_votes(chat.id, first) == (0, 2)
    assert await store.chat_taste(chat.id) == (3, [(second, 1), (first, -2)])
    await store.record_vote(chat.id, second, "ann", 0)
    assert await store.chat_taste(chat.id) == (2, [(first, -2)])

    sub = await store.add_subscription(chat.id, "keyword", "budget")
    assert await store.queue_backfill(chat.id, sub.id, [first, second]) == 2
    await store.hold_back(chat.id, [(first, "closer to disliked")], noted=False)
    assert await store.held_pieces(chat.id) == [(first, "closer to disliked")]
    assert [c.id for c in await store.held_chats("discord")] == [chat.id]
    assert [d.piece_id for d, _ in await store.claim_due("discord")] == [second]  # not the held
    await store.hold_back(chat.id, [(first, "closer to disliked")], noted=True)
    assert await store.held_pieces(chat.id) == [] and await store.held_chats("discord") == []
    assert (await store.delivery_for(first, chat.id)).state == "held_noted"


# --- end to end -----------------------------------------------------------------------------------
async def test_terminal_chat_learns_and_lists_what_it_held_back(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        out = io.StringIO()
        console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
        await console.chat()
        worker = core.start_delivery(console.sender)
        assert worker is not None
        await core.services.store.add_source("views", "https://views.example/feed.xml")
        # The daily held-back note comes at the chat's digest time: midnight, so it is due.
        for line in ["/subscribe views", "/settings relevance on", "/settings mode instant"]:
            await console.answer(line)
        chat = await core.services.store.get_chat("console", "terminal")
        assert chat is not None
        chat.settings.digest_time = "00:00"
        await core.services.store.update_chat_settings(chat.id, chat.settings)
        topics = [GARDENS, GARDENS, FOOTBALL, FOOTBALL, FOOTBALL]
        for n, topic in enumerate(topics):
            await add_piece(core, title=f"Voted {n}", text=topic, source="views")
            await worker.flush()
            await console.answer("> /like" if topic == GARDENS else "> /dislike")
        held = await add_piece(core, title="More transfer fees", text=FOOTBALL, source="views")
        await add_piece(core, title="More allotments", text=GARDENS, source="views")
        await worker.flush()
        await worker.run_once()  # the held-back note (if the worker's loop has not sent it)
        await console.answer(f"/why {(await core.services.store.get_piece(held)).url}")
    text = out.getvalue()
    assert "👍 noted for “Voted 0”" in text and "👎 noted for “Voted 4”" in text
    assert "Relevance starts after 5 votes; this chat has 4." in text
    assert "] More allotments" in text  # posted
    assert "] More transfer fees\n" not in text  # held back (no post) ...
    assert "Not posted (subscription #1 (source views)): held back: closer to the pieces" in text
    assert "from 5 votes; it was listed here." in text
    note = text.split("Held back: 1 piece")[1]
    assert "More transfer fees" in note  # ... and listed, never dropped


async def test_telegram_reactions_vote_where_telegram_tells_the_bot(
    tmp_path: Path,
    telegram_fake,  # noqa: F811
) -> None:
    fake = telegram_fake
    ann = fake.add_user(10, "Ann")
    private = fake.add_private(ann)
    group = fake.add_group(-100700, "Readers", admins=(10,))
    async with running(tmp_path, fake) as (_, core):
        await fake.wait_until(lambda: fake.allowed_updates is not None)
        assert "message_reaction" in (fake.allowed_updates or [])
        await _subscribe(core, "10")
        await _subscribe(core, "-100700", kind="group")
        piece_id = await add_piece(core, title="React to me", source="demo")
        [post] = await fake.wait_sent(1, chat_id=10)
        [group_post] = await fake.wait_sent(1, chat_id=-100700)
        assert not {"👍", "👎"} & {b["text"] for b in post.buttons}  # reactions, not buttons
        store = core.services.store
        chat = await store.get_chat("telegram", "10")
        assert fake.push_reaction(private, ann, post, [], ["👍"])
        await _until(lambda: store.piece_votes(chat.id, piece_id), (1, 0))
        assert fake.push_reaction(private, ann, post, ["👍"], ["👎", "🔥"])
        await _until(lambda: store.piece_votes(chat.id, piece_id), (0, 1))
        assert fake.push_reaction(private, ann, post, ["👎", "🔥"], ["🔥"])
        await _until(lambda: store.piece_votes(chat.id, piece_id), (0, 0))
        # In a group where the bot is no admin Telegram sends no reactions: the post has
        # 👍/👎 buttons there (answered with a popup), and /like works too.
        assert not fake.push_reaction(group, ann, group_post, [], ["👍"])
        dislike = next(b["callback_data"] for b in group_post.buttons if b["text"] == "👎")
        popup = await fake.wait_answer(fake.push_callback(ann, group_post, dislike))
        assert "👎 noted for “React to me” (here: 0 👍, 1 👎)" in popup["text"]
        fake.push_command(group, ann, "/like", reply_to=group_post)
        [_, reply] = await fake.wait_sent(2, chat_id=-100700)
        assert "👍 noted for “React to me” (here: 1 👍, 0 👎)" in reply.plain  # her vote changed
        assert len(fake.messages(10)) == 1  # reactions are answered by nothing


async def _until(read, expected, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    for _ in range(tries):
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    assert await read() == expected


async def test_discord_vote_buttons(tmp_path: Path, discord_fake) -> None:  # noqa: F811
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        piece_id = await add_piece(core, title="Vote here", source="demo")
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 1)
        post = fake.messages(channel["id"])[0]
        assert {f"cb:like:{piece_id}", f"cb:dislike:{piece_id}"} <= set(post.custom_ids)
        message = fake.messages_by_id[post.message_id]
        other = fake.user("bo")
        [first] = await answer(fake, await fake.press(channel, f"cb:like:{piece_id}", message))
        [second] = await answer(
            fake, await fake.press(channel, f"cb:dislike:{piece_id}", message, user=other)
        )
        chat = await core.services.store.get_chat("discord", channel["id"])
        votes = await core.services.store.piece_votes(chat.id, piece_id)
    assert first.ephemeral and "👍 noted for “Vote here” (here: 1 👍, 0 👎)" in first.content
    assert second.ephemeral and "(here: 1 👍, 1 👎)" in second.content
    assert votes == (1, 1)


async def test_digest_lists_what_relevance_held_back(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        store = core.services.store
        await store.add_source("views", "https://views.example/feed.xml")
        out = io.StringIO()
        console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
        await console.chat()
        worker = core.start_delivery(console.sender)
        assert worker is not None
        await console.answer("/subscribe views")
        for n, topic in enumerate([GARDENS, GARDENS, FOOTBALL, FOOTBALL, FOOTBALL]):
            await add_piece(core, title=f"Voted {n}", text=topic, source="views")
            await worker.flush()
            await console.answer("> /like" if topic == GARDENS else "> /dislike")
        for line in ["/settings relevance on", "/settings mode digest 23:59"]:
            await console.answer(line)
        await add_piece(core, title="Held transfer fees", text=FOOTBALL, source="views")
        await add_piece(core, title="Kept allotments", text=GARDENS, source="views")
        await console.answer("/digest")
        await worker.flush()
        await worker.run_once()
        chat = await store.get_chat("console", "terminal")
        assert chat is not None
        held = await store.latest_pieces(2, source_id=(await store.get_source("views")).id)
        states = {p.title: (await store.delivery_for(p.id, chat.id)).state for p in held}
    text = out.getvalue()
    digest = text.split("Your digest: 1 piece")[1]
    assert "Kept allotments" in digest
    assert "Held back: 1 piece" in digest and "Held transfer fees" in digest.split("Held back")[1]
    assert states == {"Kept allotments": "sent", "Held transfer fees": "held_noted"}
