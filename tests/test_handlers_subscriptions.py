"""/subscribe, /unsubscribe, /subscriptions and /filter through the router, on a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Core
from handlers.limits import MAX_SUBSCRIPTIONS_KEY
from tests.factories import add_piece, open_core
from tests.handler_support import OWNERS, chat_of, say


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path, commentary_owners=OWNERS) as opened:
        await opened.services.store.add_source("guardian", "https://guardian.example/feed.xml")
        await opened.services.store.add_source("spectator", "https://spectator.example/feed.xml")
        yield opened


async def subs_of(core: Core, chat: str = "chat-1"):  # type: ignore[no-untyped-def]
    return await core.services.store.list_subscriptions((await chat_of(core, chat)).id)


# --- /subscribe --------------------------------------------------------------------------------
async def test_subscribe_to_a_source_by_name_in_any_case(core: Core) -> None:
    response = await say(core, "subscribe", "GUARDIAN")
    assert not response.is_error
    assert "Subscribed: #1 source guardian" in response.plain_text()
    (sub,) = await subs_of(core)
    source = await core.services.store.get_source("guardian")
    assert (sub.kind, sub.target, sub.source_id) == ("source", "guardian", source.id)
    assert sub.created_by == "console:user-1"


async def test_subscribe_by_feed_title(core: Core) -> None:
    source = await core.services.store.get_source("spectator")
    await core.services.store.update_source(source.id, title="The Spectator")
    response = await say(core, "subscribe", "source the spectator")
    assert "source spectator" in response.plain_text()


async def test_unknown_source_hints_close_names(core: Core) -> None:
    response = await say(core, "subscribe", "guardain")
    assert response.is_error
    text = response.plain_text()
    assert "'guardian'" in text and "/sources" in text
    assert await subs_of(core) == []


async def test_subscribe_author_uses_the_stored_spelling(core: Core) -> None:
    await add_piece(core, source="guardian", authors=["Jane Doe"])
    response = await say(core, "subscribe", "author jane   doe")
    assert "author Jane Doe" in response.plain_text()
    (sub,) = await subs_of(core)
    assert (sub.kind, sub.target) == ("author", "Jane Doe")


async def test_unknown_author_hints_close_names(core: Core) -> None:
    await add_piece(core, source="guardian", authors=["Jane Doe"])
    response = await say(core, "subscribe", "author Jane Do")
    assert response.is_error
    assert "'Jane Doe'" in response.plain_text() and "/authors" in response.plain_text()


async def test_subscribe_keyword_query_is_stored_canonically(core: Core) -> None:
    response = await say(core, "subscribe", 'keyword  climate "carbon  tax" -football')
    assert not response.is_error, response.plain_text()
    (sub,) = await subs_of(core)
    assert (sub.kind, sub.target) == ("keyword", 'climate "carbon tax" -football')
    # The same query typed differently is the same subscription.
    again = await say(core, "subscribe", 'keyword CLIMATE "carbon  tax" -football')
    assert "already follows" in again.plain_text() and "#1" in again.plain_text()
    assert len(await subs_of(core)) == 1


async def test_keyword_query_needs_an_include_term(core: Core) -> None:
    response = await say(core, "subscribe", "keyword -football -cricket")
    assert response.is_error
    assert "Usage: /subscribe" in response.plain_text()
    assert await subs_of(core) == []


@pytest.mark.parametrize("args", ["", "   ", "author", "keyword"])
async def test_missing_arguments_get_usage(core: Core, args: str) -> None:
    response = await say(core, "subscribe", args)
    assert response.is_error
    assert "Usage: /subscribe <source> | author <name> | keyword <words>" in response.plain_text()


async def test_too_many_keyword_terms(core: Core) -> None:
    words = " ".join(f"w{i}" for i in range(11))
    response = await say(core, "subscribe", f"keyword {words}")
    assert response.is_error and "at most 10" in response.plain_text()


async def test_four_thousand_characters_are_refused_before_the_handler(core: Core) -> None:
    response = await say(core, "subscribe", "keyword " + "x" * 4000)
    assert response.is_error and "too long" in response.plain_text()
    assert await subs_of(core) == []


async def test_long_single_term_is_refused(core: Core) -> None:
    response = await say(core, "subscribe", "keyword " + "y" * 500)
    assert response.is_error and "at most 100 characters" in response.plain_text()


async def test_unicode_rtl_and_markup_are_stored_and_echoed_as_plain_text(core: Core) -> None:
    hebrew = "שלום עולם"
    response = await say(core, "subscribe", f'keyword "{hebrew}" <b>bold</b> *a_b*')
    assert not response.is_error, response.plain_text()
    assert f'"{hebrew}" <b>bold</b> *a_b*' in response.plain_text()
    (sub,) = await subs_of(core)
    assert sub.target == f'"{hebrew}" <b>bold</b> *a_b*'
    listed = await say(core, "subscriptions")
    assert "<b>bold</b>" in listed.plain_text()
    # An unknown source with markup in its name is echoed, never interpreted.
    unknown = await say(core, "subscribe", "<script>alert(1)</script>")
    assert "<script>alert(1)</script>" in unknown.plain_text()


async def test_arabic_author_name(core: Core) -> None:
    await add_piece(core, source="guardian", authors=["نادية حسن"])
    response = await say(core, "subscribe", "author نادية حسن")
    assert "author نادية حسن" in response.plain_text()


async def test_non_admin_in_a_group_is_refused(core: Core) -> None:
    response = await say(core, "subscribe", "guardian", kind="group", admin=False)
    assert response.is_error and "administrators" in response.plain_text()
    assert await core.services.store.count_subscriptions() == 0
    # The bot's owners may act in any chat.
    ok = await say(core, "subscribe", "guardian", kind="group", admin=False, user="owner-1")
    assert not ok.is_error


async def test_per_chat_limit_from_kv(core: Core) -> None:
    await core.services.store.set_value(MAX_SUBSCRIPTIONS_KEY, "2")
    assert not (await say(core, "subscribe", "guardian")).is_error
    assert not (await say(core, "subscribe", "spectator")).is_error
    refused = await say(core, "subscribe", "keyword budget")
    assert refused.is_error and "2 subscriptions" in refused.plain_text()
    assert len(await subs_of(core)) == 2
    # Another chat has its own allowance.
    assert not (await say(core, "subscribe", "keyword budget", chat="chat-2")).is_error


async def test_per_chat_limit_default_from_settings(tmp_path: Path) -> None:
    async with open_core(tmp_path, commentary_max_subscriptions_per_chat=1) as core:
        await core.services.store.add_source("guardian", "https://guardian.example/feed.xml")
        assert not (await say(core, "subscribe", "guardian")).is_error
        assert (await say(core, "subscribe", "keyword x")).is_error


# --- /subscriptions ----------------------------------------------------------------------------
async def test_subscriptions_lists_ids_and_filters_for_anyone(core: Core) -> None:
    await say(core, "subscribe", "guardian", kind="group", admin=True)
    await say(core, "filter", '1 -football +"climate policy"', kind="group", admin=True)
    response = await say(core, "subscriptions", kind="group", admin=False)
    assert not response.is_error
    text = response.plain_text()
    assert '#1 source guardian — only with +"climate policy"; never with -football' in text
    assert "/unsubscribe <id>" in text


async def test_subscriptions_when_empty(core: Core) -> None:
    response = await say(core, "subscriptions")
    assert "follows nothing" in response.plain_text()


async def test_subscriptions_marks_paused_sources(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    source = await core.services.store.get_source("guardian")
    await core.services.store.update_source(source.id, paused=True)
    assert "(source paused)" in (await say(core, "subscriptions")).plain_text()


# --- /unsubscribe ------------------------------------------------------------------------------
async def test_unsubscribe_by_id_with_or_without_hash(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    await say(core, "subscribe", "spectator")
    assert "Unsubscribed: #1" in (await say(core, "unsubscribe", "#1")).plain_text()
    assert "Unsubscribed: #2" in (await say(core, "unsubscribe", "2")).plain_text()
    assert await subs_of(core) == []


async def test_unsubscribe_by_source_author_and_keyword(core: Core) -> None:
    await add_piece(core, source="guardian", authors=["Jane Doe"])
    await say(core, "subscribe", "guardian")
    await say(core, "subscribe", "author Jane Doe")
    await say(core, "subscribe", 'keyword "carbon tax" -football')
    assert not (await say(core, "unsubscribe", "Guardian")).is_error
    assert not (await say(core, "unsubscribe", "author jane doe")).is_error
    assert not (await say(core, "unsubscribe", 'keyword  "Carbon tax"  -football')).is_error
    assert await subs_of(core) == []


async def test_unsubscribe_ambiguous_asks_for_the_id(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    await say(core, "subscribe", "keyword guardian")
    response = await say(core, "unsubscribe", "guardian")
    assert response.is_error and "#1 (source)" in response.plain_text()
    assert len(await subs_of(core)) == 2
    assert not (await say(core, "unsubscribe", "keyword guardian")).is_error


async def test_unsubscribe_unknown_and_other_chats(core: Core) -> None:
    await say(core, "subscribe", "guardian", chat="chat-2")
    response = await say(core, "unsubscribe", "1")  # chat-2's subscription, not ours
    assert response.is_error and "no subscription #1" in response.plain_text()
    assert len(await subs_of(core, "chat-2")) == 1
    assert (await say(core, "unsubscribe", "nothing-like-it")).is_error
    missing = await say(core, "unsubscribe", "")
    assert missing.is_error and "Usage: /unsubscribe" in missing.plain_text()


async def test_unsubscribe_needs_admin_in_a_group(core: Core) -> None:
    await say(core, "subscribe", "guardian", kind="group", admin=True)
    response = await say(core, "unsubscribe", "1", kind="group", admin=False)
    assert response.is_error
    assert len(await core.services.store.list_subscriptions((await chat_of(core)).id)) == 1


# --- /filter -----------------------------------------------------------------------------------
async def test_filter_adds_shows_and_clears(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    response = await say(core, "filter", '1 -football +"climate policy" brexit')
    assert not response.is_error, response.plain_text()
    (sub,) = await subs_of(core)
    assert sub.include == ["climate policy", "brexit"]
    assert sub.exclude == ["football"]
    # Adding the opposite of an earlier term replaces it; repeats are not doubled.
    await say(core, "filter", "#1 +football -brexit +CLIMATE +climate")
    (sub,) = await subs_of(core)
    assert sub.include == ["climate policy", "football", "CLIMATE"]
    assert sub.exclude == ["brexit"]
    shown = await say(core, "filter", "1")
    assert '+"climate policy" +football' in shown.plain_text()
    cleared = await say(core, "filter", "1 clear")
    assert "removed" in cleared.plain_text()
    (sub,) = await subs_of(core)
    assert (sub.include, sub.exclude) == ([], [])


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("", "Name a subscription id"),
        ("abc -x", "is not a subscription id"),
        ("99 -x", "no subscription #99"),
        ('1 "" + -', "Give words"),
        ("1 +brexit -Brexit", "both required and excluded"),
    ],
)
async def test_filter_bad_arguments(core: Core, args: str, hint: str) -> None:
    await say(core, "subscribe", "guardian")
    response = await say(core, "filter", args)
    assert response.is_error
    assert hint in response.plain_text() and "Usage: /filter" in response.plain_text()


async def test_filter_on_another_chats_subscription_is_refused(core: Core) -> None:
    await say(core, "subscribe", "guardian", chat="chat-2")
    response = await say(core, "filter", "1 -football")
    assert response.is_error
    (sub,) = await subs_of(core, "chat-2")
    assert sub.exclude == []


async def test_filter_term_limit(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    terms = " ".join(f"-w{i}" for i in range(21))
    response = await say(core, "filter", f"1 {terms}")
    assert response.is_error and "at most 20" in response.plain_text()


async def test_filter_decides_a_delivery(core: Core) -> None:
    await say(core, "subscribe", "guardian")
    await say(core, "filter", '1 -football +"climate"')
    chat = await chat_of(core)
    kept = await add_piece(core, source="guardian", text="The climate bill is overdue.")
    dropped = await add_piece(core, source="guardian", text="Climate and football, again.")
    missing = await add_piece(core, source="guardian", text="Taxes should rise.")
    assert (await core.services.store.delivery_for(kept, chat.id)).state == "pending"
    out = await core.services.store.delivery_for(dropped, chat.id)
    assert (out.state, out.reason) == ("filtered", 'filter -"football" matched')
    out = await core.services.store.delivery_for(missing, chat.id)
    assert (out.state, out.reason) == ("filtered", 'filter +"climate" not found')


async def test_unknown_command(core: Core) -> None:
    response = await say(core, "subscrib", "guardian")
    assert response.is_error and "Unknown command /subscrib" in response.plain_text()


async def test_subscribing_where_the_bot_still_may_not_post_says_posting_is_paused(core) -> None:
    from bot.messages import Request
    from handlers.router import dispatch

    await core.services.store.add_source("paused-demo", "https://paused.example/feed.xml")
    await core.services.store.ensure_chat("discord", "500", kind="group")
    await core.chat_gone("discord", "500", "missing permissions")
    # Discord answers a command even where the bot may not post; the adapter says so.
    request = Request(
        platform="discord",
        chat_id="500",
        user_id="7",
        command="subscribe",
        args="paused-demo",
        chat_kind="group",
        is_chat_admin=True,
        can_post=False,
    )
    text = (await dispatch(request, core.services)).plain_text()
    assert "Subscribed" in text and "paused" in text and "missing permissions" in text
    assert not (await core.services.store.get_chat("discord", "500")).active


async def test_a_chat_marked_gone_that_talks_again_is_active_again(core) -> None:
    from bot.messages import Request
    from handlers.router import dispatch

    await core.services.store.add_source("back-demo", "https://back.example/feed.xml")
    await core.services.store.ensure_chat("telegram", "-100501", kind="group")
    await core.services.store.ensure_chat("telegram", "-100501", kind="thread", thread_id="9")
    await core.chat_gone("telegram", "-100501", "bot was kicked")
    request = Request(
        platform="telegram",
        chat_id="-100501",
        user_id="7",
        command="subscribe",
        args="back-demo",
        chat_kind="group",
        is_chat_admin=True,
    )
    text = (await dispatch(request, core.services)).plain_text()
    assert "Subscribed" in text and "paused" not in text
    for thread in (None, "9"):  # every topic of the chat: the bot is back in all of it
        chat = await core.services.store.get_chat("telegram", "-100501", thread)
        assert chat.active and chat.inactive_reason is None
