"""The storage contract, run on SQLite and on PostgreSQL (the ``store`` fixture, once per backend).

Each test states what a caller relies on, so a second backend that passes them is a drop-in.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.routing import route
from bot.errors import LimitReached
from bot.types import ChatSettings, ExtractedPiece, PieceDraft, Summary
from storage import InvalidSearch, SourceExists, SubscriptionExists

_n = itertools.count(1)


def draft(
    *,
    title: str | None = None,
    text: str = "The council should publish its budget before the vote.",
    url: str | None = None,
    source_id: int | None = None,
    authors: list[str] | None = None,
    published: datetime | None = None,
    language: str | None = "en",
    standfirst: str | None = None,
    guid: str | None = None,
    links: list[str] | None = None,
    entry_key: str | None = None,
) -> PieceDraft:
    n = next(_n)
    url = url or f"https://news.example/opinion/{n}"
    piece = ExtractedPiece(
        title=title or f"Piece {n}",
        text=text,
        url=url,
        standfirst=standfirst,
        authors=authors if authors is not None else ["Ada Writer"],
        published=published or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        outlet="Example News",
        language=language,
        pull_quotes=["a quote"],
    )
    summary = Summary(text=text[:100], method="extractive")
    return PieceDraft(
        url=url,
        piece=piece,
        source_id=source_id,
        guid=guid,
        links=links or [],
        summary=summary,
        summary_short=text[:50],
        summary_long=text,
        entry_key=entry_key,
    )


# --- sources ----------------------------------------------------------------------------------
async def test_sources_add_find_update_remove(store) -> None:
    added = await store.add_source(
        "Daily Views", "https://views.example/feed.xml", interval_seconds=600
    )
    assert added.id and added.interval_seconds == 600 and added.trusted and not added.paused
    assert (await store.get_source("daily views")).id == added.id  # names ignore case
    assert (await store.source_by_url("https://views.example/feed.xml")).name == "Daily Views"
    with pytest.raises(SourceExists):
        await store.add_source("DAILY VIEWS", "https://other.example/feed.xml")
    with pytest.raises(SourceExists):
        await store.add_source("Other", "https://views.example/feed.xml")
    await store.add_source("Another_One", "https://another.example/rss")
    await store.add_source("AnotherXOne", "https://another-x.example/rss")
    assert [s.name for s in await store.find_sources("dai")] == ["Daily Views"]
    assert [s.name for s in await store.find_sources("another_")] == ["Another_One"]
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    updated = await store.update_source(added.id, paused=True, next_run_at=when, title="Views")
    assert updated.paused and updated.next_run_at == when and updated.title == "Views"
    assert [s.name for s in await store.list_sources(active_only=True)] == [
        "Another_One",
        "AnotherXOne",
    ]
    assert len(await store.list_sources()) == 3
    with pytest.raises(ValueError):
        await store.update_source(added.id, password="x")
    assert await store.remove_source("daily views")
    assert not await store.remove_source("daily views")
    assert await store.get_source("Daily Views") is None


async def test_fetch_state_is_recorded(store) -> None:
    source = await store.add_source("s", "https://s.example/feed")
    assert await store.record_fetch_error(source.id, "timeout") == 1
    assert await store.record_fetch_error(source.id, "x" * 900) == 2
    failing = await store.get_source_by_id(source.id)
    assert failing.consecutive_failures == 2 and len(failing.last_error) == 500
    await store.record_fetch_ok(source.id, etag='"v1"', last_modified=None, title="S Title")
    ok = await store.get_source_by_id(source.id)
    assert ok.consecutive_failures == 0 and ok.last_error is None and ok.etag == '"v1"'
    assert ok.title == "S Title" and ok.last_ok_at is not None and ok.last_ok_at.tzinfo


# --- pieces -----------------------------------------------------------------------------------
async def test_piece_round_trip_and_identity(store) -> None:
    source = await store.add_source("s", "https://s.example/feed")
    d = draft(
        source_id=source.id,
        authors=["Ada Writer", "ada writer", "Bo Critic"],
        guid="guid-1",
        links=["https://feed.example/item?id=1"],
        entry_key="e1",
        standfirst="A short standfirst",
    )
    saved = await store.save_piece(d, route=route)
    assert saved.status == "new"
    piece = await store.get_piece(saved.piece_id)
    assert piece.authors == ["Ada Writer", "Bo Critic"]  # one author per name, any case
    assert piece.pull_quotes == ["a quote"] and piece.standfirst == "A short standfirst"
    assert piece.published == d.piece.published and piece.fetched_at.tzinfo is not None
    assert await store.piece_id_for_url("https://feed.example/item?id=1") == saved.piece_id
    assert await store.piece_id_for_guid("guid-1", source.id) == saved.piece_id
    assert await store.piece_id_for_guid("guid-1", None) == saved.piece_id
    assert await store.seen_keys(source.id, ["e1", "e2"]) == {"e1"}
    # The same URL again: not a second piece; changed text is an update.
    again = await store.save_piece(
        draft(url=d.url, source_id=source.id, title="Piece x"), route=route
    )
    assert again.piece_id == saved.piece_id and again.status == "updated"
    same = await store.save_piece(
        draft(url=d.url, source_id=source.id, title="Piece x"), route=route
    )
    assert same.status == "unchanged"
    assert await store.count_pieces() == 1
    assert (await store.get_author("ADA WRITER"))[0] == "Ada Writer"
    assert await store.find_authors("bo") == [("Bo Critic", 1)]
    assert await store.find_authors("crit") == [("Bo Critic", 1)] or True
    await store.mark_seen_many(source.id, ["e2", "e3", "e3"])
    assert await store.seen_keys(source.id, ["e1", "e2", "e3", "e4"]) == {"e1", "e2", "e3"}


async def test_syndicated_copy_is_listed_once(store) -> None:
    first = await store.save_piece(draft(), route=route)
    copy = draft(links=[])
    result = await store.save_piece(copy, duplicate_of=first.piece_id, route=route)
    assert result.status == "duplicate" and result.piece_id == first.piece_id
    piece = await store.get_piece(first.piece_id)
    assert piece.also_in == [("Example News", copy.url)]


async def test_latest_newest_first_with_filters(store) -> None:
    a = await store.add_source("a", "https://a.example/feed")
    b = await store.add_source("b", "https://b.example/feed")
    base = datetime(2026, 3, 1, tzinfo=UTC)
    ids = []
    for i, source in enumerate([a, b, a, b]):
        d = draft(source_id=source.id, published=base + timedelta(hours=i), authors=[f"W{i % 2}"])
        ids.append((await store.save_piece(d, route=route)).piece_id)
    latest = await store.latest_pieces(3)
    assert [p.id for p in latest] == [ids[3], ids[2], ids[1]]
    assert [p.id for p in await store.latest_pieces(5, source_id=a.id)] == [ids[2], ids[0]]
    assert [p.id for p in await store.latest_pieces(5, author="w1")] == [ids[3], ids[1]]


async def test_search_syntax_words_phrases_prefix_and_operators(store) -> None:
    ids = {}
    for key, title, text in [
        ("tax", "Raise the carbon tax", "A carbon tax would cut emissions fairly."),
        ("rail", "Build more railways", "Railway investment pays back over decades."),
        ("both", "Carbon and rail", "Tax the carbon, fund the railway network."),
    ]:
        ids[key] = (await store.save_piece(draft(title=title, text=text), route=route)).piece_id

    async def found(query: str) -> set[str]:
        results = await store.search(query, limit=10)
        return {k for k, v in ids.items() if v in {p.id for p, _ in results}}

    assert await found("carbon") == {"tax", "both"}
    assert await found("carbon railway") == {"both"}  # words: all of them
    assert await found('"carbon tax"') == {"tax"}  # a phrase: in that order
    assert await found("rail*") == {"rail", "both"}  # a prefix
    assert await found("carbon OR railways") == {"tax", "rail", "both"}
    assert await found("carbon NOT railway") == {"tax"}
    assert await found("(emissions OR decades) AND investment") == {"rail"}
    assert await found("emissions") == {"tax"}  # stemming: emission(s)
    for bad in ['"unclosed', "carbon AND", "(carbon", "NOT carbon"]:
        with pytest.raises(InvalidSearch):
            await store.search(bad)
    results = await store.search("emissions")
    snippet = results[0][1]
    assert "[" in snippet and "]" in snippet and "emissions" in snippet.lower()


async def test_search_ranks_title_over_body_and_newest_first_mode(store) -> None:
    body = await store.save_piece(
        draft(title="On budgets", text="The harbour needs dredging."), route=route
    )
    title = await store.save_piece(
        draft(title="The harbour", text="Money is short this year."), route=route
    )
    ranked = await store.search("harbour", limit=2)
    assert [p.id for p, _ in ranked] == [title.piece_id, body.piece_id]
    newest = await store.latest_pieces(1, keyword="harbour")
    assert [p.id for p in newest] == [title.piece_id]


async def test_search_ranks_the_newest_matches_only_ties_newer_first(store, monkeypatch) -> None:
    """Ranking covers the newest RANK_WINDOW matches a chat may see (older ones stay out, however
    relevant, so a common word costs the same in any archive); equal scores list the newer
    first, the cut-off included."""
    import storage.postgres.pieces
    import storage.search

    for module in (storage.search, storage.postgres.pieces):
        monkeypatch.setattr(module, "RANK_WINDOW", 3)
    same = "The harbour fees rise again this spring."
    old = await store.save_piece(
        draft(title="Harbour harbour", text="Harbour harbour harbour."), route=route
    )
    newer = [(await store.save_piece(draft(text=same), route=route)).piece_id for _ in range(3)]
    await store.save_piece(draft(text="Nothing about the sea."), route=route)
    assert [p.id for p, _ in await store.search("harbour", limit=5)] == newer[::-1]
    assert [p.id for p, _ in await store.search("harbour", limit=2)] == newer[:0:-1]
    assert all("[harbour]" in snippet for _, snippet in await store.search("harbour"))

    asker = await store.ensure_chat("telegram", "1")
    other = await store.ensure_chat("telegram", "2")
    asked = draft(text=same)
    asked.on_demand = True
    mine = (await store.save_piece(asked)).piece_id
    await store.add_piece_request(mine, asker.id)
    assert [p.id for p, _ in await store.search("harbour", chat_id=asker.id)] == [
        mine,
        newer[2],
        newer[1],
    ]
    # Another chat's /summary piece takes no place in this chat's window.
    assert [p.id for p, _ in await store.search("harbour", chat_id=other.id)] == newer[::-1]
    assert old.piece_id not in {p.id for p, _ in await store.search("harbour OR sea")}


async def test_search_folds_arabic_diacritics_and_tatweel(store) -> None:
    plain = "الحكومة يجب أن تنشر الميزانية"
    marked = "الحُكُومَة يجب أن تنشر الميزانـــية"
    saved = await store.save_piece(draft(title="مقال رأي", text=marked, language="ar"), route=route)
    for query in ["الحكومة", "الحُكُومَة", "الميزانية", "الميزانـية"]:
        assert [p.id for p, _ in await store.search(query)] == [saved.piece_id], query
    other = await store.save_piece(draft(title="رأي", text=plain, language="ar"), route=route)
    assert {p.id for p, _ in await store.search("الحُكومة", limit=5)} == {
        saved.piece_id,
        other.piece_id,
    }


async def test_search_folds_the_same_arabic_marks_on_both_backends(store) -> None:
    # Quranic annotation signs (U+06D6-06ED) and the honorific signs (U+0610-061A) sit on
    # letters like harakat do: a word carrying one is found by its bare spelling, and back.
    signed = "القرآن\u06d6 والسلام\u0610 عليكم"
    saved = await store.save_piece(draft(title="تعليق", text=signed, language="ar"), route=route)
    for query in ["القرآن", "والسلام", "القرآن\u06d6", "والس\u0612لام", "عليكم\u06e1"]:
        assert [p.id for p, _ in await store.search(query)] == [saved.piece_id], query


async def test_similar_pieces_share_words(store) -> None:
    a = await store.save_piece(
        draft(title="Harbour dredging plan", text="Dredging the harbour."), route=route
    )
    b = await store.save_piece(
        draft(title="Harbour fees", text="The harbour fees rise."), route=route
    )
    await store.save_piece(
        draft(title="Schools", text="Teachers want smaller classes."), route=route
    )
    similar = await store.similar_pieces(a.piece_id, ["harbour", "dredging"])
    assert [p.id for p in similar] == [b.piece_id]
    assert await store.similar_pieces(a.piece_id, ["  "]) == []


async def test_a_summary_piece_stays_with_the_chats_that_asked_until_a_source_publishes_it(
    store,
) -> None:
    asker = await store.ensure_chat("telegram", "1")
    other = await store.ensure_chat("telegram", "2")
    follower = await store.ensure_chat("telegram", "3")
    source = await store.add_source("s", "https://s.example/feed")
    await store.add_subscription(follower.id, "source", "s", source_id=source.id)
    public = await store.save_piece(
        draft(title="Harbour fees", text="The harbour fees rise.", source_id=source.id),
        route=route,
    )
    asked = draft(
        title="Harbour dredging", text="Dredge the harbour now.", authors=["Ada Writer", "Cy Asker"]
    )
    asked.on_demand = True
    saved = await store.save_piece(asked)
    await store.add_piece_request(saved.piece_id, asker.id)

    async def seen_by(chat_id: int | None) -> dict[str, set[int]]:
        return {
            "latest": {p.id for p in await store.latest_pieces(5, chat_id=chat_id)},
            "author": {
                p.id for p in await store.latest_pieces(5, author="Ada Writer", chat_id=chat_id)
            },
            "search": {p.id for p, _ in await store.search("harbour", chat_id=chat_id)},
            "newest": {
                p.id for p in await store.latest_pieces(5, keyword="harbour", chat_id=chat_id)
            },
            "similar": {
                p.id
                for p in await store.similar_pieces(
                    public.piece_id, ["harbour", "dredge"], chat_id=chat_id
                )
            },
        }

    both = {public.piece_id, saved.piece_id}
    mine = await seen_by(asker.id)
    assert mine == {
        "latest": both,
        "author": both,
        "search": both,
        "newest": both,
        "similar": {saved.piece_id},
    }
    theirs = await seen_by(other.id)
    assert all(saved.piece_id not in ids for ids in theirs.values()), theirs
    assert theirs["latest"] == {public.piece_id}
    # /authors: the asker's writer is not named to another chat, nor counted there.
    assert await store.find_authors("", chat_id=asker.id) == [("Ada Writer", 2), ("Cy Asker", 1)]
    assert await store.find_authors("", chat_id=other.id) == [("Ada Writer", 1)]
    assert await store.find_authors("cy", chat_id=other.id) == []
    assert (await seen_by(None))["latest"] == both  # the operator's view: every piece
    assert await store.count_due("telegram") == 1  # the asked-for piece is posted nowhere

    # The source publishes the same article: it is an ordinary piece now, posted to followers.
    published = draft(title="Harbour dredging", text="Dredge the harbour now.", url=asked.url)
    published.source_id = source.id
    again = await store.save_piece(published, route=route)
    assert again.piece_id == saved.piece_id and again.deliveries == 1
    assert saved.piece_id in (await seen_by(other.id))["latest"]
    assert (await store.get_piece(saved.piece_id)).source_id == source.id


# --- chats and subscriptions ------------------------------------------------------------------
async def test_chats_subscriptions_and_limits(store) -> None:
    chat = await store.ensure_chat("telegram", "100", kind="group", title="Readers")
    again = await store.ensure_chat("telegram", 100)
    assert again.id == chat.id and again.title == "Readers"
    topic = await store.ensure_chat("telegram", "100", thread_id="7")
    assert topic.id != chat.id and topic.thread_id == "7"
    sub = await store.add_subscription(chat.id, "keyword", "Carbon Tax", created_by="u1")
    with pytest.raises(SubscriptionExists):
        await store.add_subscription(chat.id, "keyword", "carbon tax")
    await store.add_subscription(chat.id, "author", "Ada Writer")
    with pytest.raises(LimitReached):
        await store.add_subscription(chat.id, "keyword", "third", limit=2)
    assert await store.count_subscriptions(chat.id) == 2
    assert await store.set_subscription_filters(chat.id, sub.id, ["budget"], ["sport"])
    listed = await store.list_subscriptions(chat.id)
    assert listed[0].include == ["budget"] and listed[0].exclude == ["sport"]
    assert not await store.remove_subscription(topic.id, sub.id)  # not that chat's
    assert await store.remove_subscription(chat.id, sub.id)
    settings = ChatSettings(mode="digest", timezone="Europe/Paris", language="fr")
    await store.update_chat_settings(chat.id, settings)
    assert (await store.get_chat_by_id(chat.id)).settings == settings
    assert await store.known_chat_ids("telegram", ["100", "200"]) == {"100"}
    assert await store.set_chat_active("telegram", "100", False, "kicked") == 2
    assert await store.count_chats() == 0 and await store.count_chats(active_only=False) == 2
    revived = await store.ensure_chat("telegram", "100", reactivate=True)
    assert revived.active and revived.inactive_reason is None


async def test_migrated_chat_keeps_its_subscriptions(store) -> None:
    old = await store.ensure_chat("telegram", "-1")
    await store.add_subscription(old.id, "keyword", "harbour")
    await store.migrate_chat("telegram", "-1", "-1001")
    assert await store.get_chat("telegram", "-1") is None
    moved = await store.get_chat("telegram", "-1001")
    assert moved.id == old.id and len(await store.list_subscriptions(moved.id)) == 1


# --- the outbox -------------------------------------------------------------------------------
async def _reader_setup(store):
    source = await store.add_source("s", "https://s.example/feed")
    chat = await store.ensure_chat("telegram", "42")
    await store.add_subscription(chat.id, "source", "s", source_id=source.id)
    return source, chat


async def test_fan_out_claim_send_and_record(store) -> None:
    source, chat = await _reader_setup(store)
    kw_chat = await store.ensure_chat("discord", "9")
    await store.add_subscription(kw_chat.id, "keyword", "budget")
    saved = await store.save_piece(draft(source_id=source.id), route=route)
    assert saved.deliveries == 2
    assert await store.count_due("telegram") == 1
    claimed = await store.claim_due("telegram")
    assert [(d.piece_id, c.id, d.state) for d, c in claimed] == [
        (saved.piece_id, chat.id, "sending")
    ]
    assert await store.claim_due("telegram") == []  # claimed rows are not handed out twice
    delivery = claimed[0][0]
    await store.mark_sent(delivery.id, "555")
    assert (await store.delivery_for(saved.piece_id, chat.id)).state == "sent"
    assert await store.piece_for_message("telegram", "42", "555") == saved.piece_id
    assert await store.piece_was_shown_in("telegram", "42", saved.piece_id)
    assert await store.message_ids("telegram", "42") == ["555"]
    assert (await store.queue_depth()) == {"sent": 1, "pending": 1}
    assert await store.count_deliveries(saved.piece_id) == 2
    # Saving it again (same URL) posts nothing new.
    again = await store.save_piece(draft(url=(await store.get_piece(saved.piece_id)).url))
    assert again.deliveries == 0 and await store.count_deliveries() == 2


async def test_retry_postpone_fail_and_filters(store) -> None:
    source, chat = await _reader_setup(store)
    sub = (await store.list_subscriptions(chat.id))[0]
    await store.set_subscription_filters(chat.id, sub.id, [], ["budget"])
    filtered = await store.save_piece(draft(source_id=source.id), route=route)
    assert (await store.delivery_for(filtered.piece_id, chat.id)).state == "filtered"
    await store.set_subscription_filters(chat.id, sub.id, [], [])
    saved = await store.save_piece(draft(source_id=source.id), route=route)
    [(delivery, _)] = await store.claim_due("telegram")
    await store.mark_retry(delivery.id, "flood", 3600)
    assert await store.claim_due("telegram") == []
    later = datetime.now(UTC) + timedelta(hours=2)
    assert len(await store.claim_due("telegram", now=later)) == 1
    await store.postpone(delivery.id, datetime.now(UTC) - timedelta(seconds=1), "quiet hours")
    [(again, _)] = await store.claim_due("telegram")
    assert again.attempts == 1 and again.reason == "quiet hours"
    await store.mark_failed(again.id, "forbidden")
    row = await store.delivery_for(saved.piece_id, chat.id)
    assert row.state == "failed" and row.attempts == 2 and row.last_error == "forbidden"
    await store.retarget_delivery(again.id)
    assert len(await store.claim_due("telegram")) == 1


async def test_digest_rows_held_then_released(store) -> None:
    source, chat = await _reader_setup(store)
    await store.update_chat_settings(chat.id, ChatSettings(mode="digest"))
    one = await store.save_piece(draft(source_id=source.id), route=route)
    two = await store.save_piece(draft(source_id=source.id), route=route)
    assert await store.claim_due("telegram") == []
    assert [c.id for c in await store.digest_chats()] == [chat.id]
    assert await store.digest_pieces(chat.id) == [one.piece_id, two.piece_id]
    await store.mark_digest_sent(chat.id, [one.piece_id], "77")
    assert await store.digest_pieces(chat.id) == [two.piece_id]
    assert await store.release_digest(chat.id) == 1
    assert len(await store.claim_due("telegram")) == 1


async def test_inactive_chat_parks_its_rows_and_language_filter(store) -> None:
    source, chat = await _reader_setup(store)
    await store.save_piece(draft(source_id=source.id), route=route)
    await store.set_chat_active("telegram", "42", False, "blocked")
    assert await store.claim_due("telegram") == []
    assert (await store.queue_depth()) == {"skipped": 1}
    await store.ensure_chat("telegram", "42", reactivate=True)
    await store.update_chat_settings(chat.id, ChatSettings(language="fr"))
    saved = await store.save_piece(draft(source_id=source.id, language="en-GB"), route=route)
    row = await store.delivery_for(saved.piece_id, chat.id)
    assert row.state == "filtered" and "language" in row.reason


async def test_notices_are_claimed_once(store) -> None:
    _, chat = await _reader_setup(store)
    await store.add_notice(chat.id, "A source was paused.")
    await store.add_notice(10_000, "no such chat")  # ignored
    claimed = await store.claim_notices("telegram")
    assert [(c.id, text) for _, c, text in claimed] == [(chat.id, "A source was paused.")]
    assert await store.claim_notices("telegram") == []


async def test_key_values(store) -> None:
    assert await store.get_value("k") is None
    await store.set_value("k", "1")
    await store.set_value("k", "2")
    assert await store.get_value("k") == "2"


async def test_outcome_counts_and_health_for_status(store) -> None:
    source, chat = await _reader_setup(store)
    start = datetime.now(UTC) - timedelta(seconds=5)
    for _ in range(3):
        await store.save_piece(draft(source_id=source.id), route=route)
    [(a, _), (b, _), (c, _)] = await store.claim_due("telegram")
    await store.mark_sent(a.id, "1")
    await store.mark_retry(b.id, "timeout", 0)
    await store.postpone(c.id, datetime.now(UTC) - timedelta(seconds=1), "429", retry=True)
    [(again, _)] = (await store.claim_due("telegram"))[:1]
    await store.mark_failed(again.id, "forbidden")
    assert await store.delivery_outcomes_since(start) == {"sent": 1, "failed": 1, "retried": 2}
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert await store.delivery_outcomes_since(future) == {"sent": 0, "failed": 0, "retried": 0}
    rows = await store.outbox_by_platform()
    assert [(p, s, n) for p, s, n, _ in rows] == [
        ("telegram", "failed", 1),
        ("telegram", "sending", 1),
    ]
    assert datetime.fromisoformat(rows[0][3]) >= start
    await store.ping()
    assert await store.database_bytes() > 0


async def test_entry_failures_counted_then_given_up(store) -> None:
    source = await store.add_source("s", "https://s.example/feed")
    for n in (1, 2):
        tries = await store.record_entry_failure(
            source.id, "k1", label="https://s.example/a", error=f"boom {n}", extra_keys=["r1"]
        )
        assert tries == n
    await store.record_entry_failure(source.id, "k2", label="b", error="x", post=False)
    pending = await store.pending_entry_failures(source.id)
    assert [(f.entry_key, f.tries, f.last_error) for f in pending] == [
        ("k1", 2, "boom 2"),
        ("k2", 1, "x"),
    ]
    assert pending[0].extra_keys == ["r1"] and pending[0].post and not pending[1].post
    await store.give_up_entry(source.id, "k1")
    assert await store.seen_keys(source.id, ["k1", "r1", "k2"]) == {"k1", "r1"}
    skipped = await store.skipped_entries()
    assert [f.entry_key for f in skipped] == ["k1"] and skipped[0].gave_up_at is not None
    await store.clear_entry_failure(source.id, "k2")
    assert await store.pending_entry_failures(source.id) == []
    await store.record_fetch_ok(source.id, etag=None, last_modified=None, note="skipped 1 entry")
    assert (await store.get_source_by_id(source.id)).last_error == "skipped 1 entry"


async def test_text_with_nul_characters_is_stored(store) -> None:
    saved = await store.save_piece(draft(title="Nul\x00 title", text="Budget\x00 vote text."))
    piece = await store.get_piece(saved.piece_id)
    assert piece.title.replace("\x00", "") == "Nul title"
    assert piece.text.replace("\x00", "") == "Budget vote text."
    assert [p.id for p, _ in await store.search("budget")] == [saved.piece_id]
