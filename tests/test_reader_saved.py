"""Read later: /save (reply or Save button) keeps a piece in the person's own list; /saved
answers privately (a direct message on Telegram, ephemeral on Discord); /unsave.

Storage on both backends, then the terminal chat, Telegram and Discord end to end.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.errors import LimitReached
from tests.factories import add_piece, open_core
from tests.test_discord_adapter import answer, bot, subscribe, text_of
from tests.test_discord_adapter import fake as discord_fake  # noqa: F401
from tests.test_storage_backends import draft
from tests.test_telegram_e2e import _subscribe, running
from tests.test_telegram_e2e import fake as telegram_fake  # noqa: F401


async def test_saved_lists_are_per_person_and_bounded(store) -> None:
    ids = [(await store.save_piece(draft(title=f"Saved {n}"))).piece_id for n in range(3)]
    assert await store.add_saved("telegram", "10", ids[0])
    assert await store.add_saved("telegram", "10", ids[1])
    assert not await store.add_saved("telegram", "10", ids[1])  # once
    assert not await store.add_saved("telegram", "10", 999_999)  # no such piece
    assert await store.add_saved("discord", "10", ids[2])  # another platform, another person
    assert [p.title for p in await store.list_saved("telegram", "10")] == ["Saved 1", "Saved 0"]
    assert await store.count_saved("telegram", "10") == 2
    assert await store.count_saved("telegram", "11") == 0
    with pytest.raises(LimitReached):
        await store.add_saved("telegram", "10", ids[2], limit=2)
    assert not await store.add_saved("telegram", "10", ids[0], limit=2)  # there: no error
    assert await store.remove_saved("telegram", "10", ids[0])
    assert not await store.remove_saved("telegram", "10", ids[0])
    assert [p.id for p in await store.list_saved("telegram", "10")] == [ids[1]]


async def test_terminal_chat_save_saved_unsave(tmp_path: Path) -> None:
    async with open_core(tmp_path) as core:
        first = await add_piece(core, title="Keep this one")
        await add_piece(core, title="And this one")
        out = io.StringIO()
        console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
        await console.chat()
        for line in [
            "/saved",
            "/latest 2",
            "> /save",
            ">m2 /save",
            ">m2 /save",
            "/saved",
            f"/unsave #{first}",
            f"/unsave #{first}",
            "/save",
            "> m99 /save",
        ]:
            await console.answer(line)
    text = out.getvalue()
    assert "Your read-later list is empty" in text
    assert "Saved “And this one” for later" in text and "Saved “Keep this one” for later" in text
    assert "“And this one” is already in your list" in text
    listing = text.split("Your read-later list (2 pieces")[1]
    assert listing.index("And this one") < listing.index("Keep this one")  # last saved first
    assert "Removed “Keep this one” from your list." in text
    assert "! “Keep this one” is not in your list" in text
    assert "! Reply to one of my posts with /save." in text


async def test_telegram_save_button_and_private_saved(tmp_path: Path, telegram_fake) -> None:  # noqa: F811
    fake = telegram_fake
    ann = fake.add_user(20, "Ann")
    group = fake.add_group(-100500, "Readers")
    async with running(tmp_path, fake) as (_, core):
        await _subscribe(core, "-100500", kind="group")
        await add_piece(core, title="Worth a second read", source="demo")
        [post] = await fake.wait_sent(1, chat_id=-100500)
        save = next(b["callback_data"] for b in post.buttons if b["text"] == "Save")
        # The button answers with a popup: nothing is posted in the group.
        popup = await fake.wait_answer(fake.push_callback(ann, post, save))
        assert "Saved “Worth a second read”" in popup["text"]
        assert len(fake.messages(-100500)) == 1
        # /saved in the group: Ann never started the bot, so she is offered the deep link.
        fake.push_command(group, ann, "/saved")
        hint = (await fake.wait_sent(2, chat_id=-100500))[1]
        [button] = hint.buttons
        assert button["url"] == "https://t.me/CommentaryBot?start=saved"
        # She opens it: the private chat starts with /start saved and shows her list.
        private = fake.add_private(ann)
        fake.push_command(private, ann, "/start saved")
        [listing] = await fake.wait_sent(1, chat_id=20)
        assert "Worth a second read" in listing.plain and "1 piece" in listing.plain
        # Now /saved in the group goes to her private chat; the group gets one short line.
        fake.push_command(group, ann, "/saved")
        await fake.wait_sent(2, chat_id=20)
        note = (await fake.wait_sent(3, chat_id=-100500))[2]
        assert "private chat" in note.plain and "Worth" not in note.plain
        # A reply /unsave in the group takes it out (and is answered in the group).
        fake.push_command(group, ann, "/unsave", reply_to=post)
        removed = (await fake.wait_sent(4, chat_id=-100500))[3]
        assert "Removed “Worth a second read”" in removed.plain
        assert await core.services.store.count_saved("telegram", "20") == 0


async def test_discord_save_button_and_ephemeral_saved(tmp_path: Path, discord_fake) -> None:  # noqa: F811
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.channels[0]
    async with bot(tmp_path, fake) as (core, _adapter):
        await subscribe(fake, channel)
        piece_id = await add_piece(core, title="Discord keeps it", source="demo")
        await fake.wait_for(lambda: len(fake.messages(channel["id"])) >= 1)
        post = fake.messages(channel["id"])[0]
        assert f"cb:save:{piece_id}" in post.custom_ids
        message = fake.messages_by_id[post.message_id]
        [saved] = await answer(fake, await fake.press(channel, f"cb:save:{piece_id}", message))
        assert saved.ephemeral and "Saved “Discord keeps it”" in saved.content
        [listing] = await answer(fake, await fake.slash(channel, "saved"))
        assert listing.ephemeral and "Discord keeps it" in text_of([listing])
        assert len(fake.messages(channel["id"])) == 1  # nothing posted for everyone
