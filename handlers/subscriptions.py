"""What a chat follows: /subscribe, /unsubscribe, /subscriptions and /filter."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.errors import InvalidSearch, LimitReached, PlaceError, SubscriptionExists, UsageError
from bot.matching import normalize, parse_terms
from bot.messages import Request, Response
from bot.types import Chat, Subscription, SubscriptionKind
from handlers.common import current_chat, plural
from handlers.limits import max_subscriptions
from handlers.lookup import author_hint, clip, find_author, find_source, source_hint
from handlers.registry import Option, command

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

KINDS = ("source", "author", "keyword")
# Every keyword subscription is checked against every new piece, so queries stay small.
MAX_KEYWORD_TERMS = 10
MAX_FILTER_TERMS = 20
MAX_TERM_CHARS = 100
MAX_LAST = 10  # `/subscribe ... last N`: at most this many earlier pieces at once
_ID = re.compile(r"#?(\d{1,12})")


def format_term(term: str, sign: str = "") -> str:
    """A term as people type it: ``-word`` or ``+"a phrase"``."""
    return f'{sign}"{term}"' if " " in term.strip() else f"{sign}{term}"


def keyword_query(include: list[str], exclude: list[str]) -> str:
    """The canonical text of a keyword query (stored as the subscription's target)."""
    return " ".join([format_term(t) for t in include] + [format_term(t, "-") for t in exclude])


def describe(sub: Subscription) -> str:
    """``#3 author Jane Doe — only with +x; never with -"y z"``."""
    line = f"#{sub.id} {sub.kind} {sub.target}"
    filters = describe_filters(sub)
    return f"{line} — {filters}" if filters else line


def describe_filters(sub: Subscription) -> str:
    parts = []
    if sub.include:
        parts.append("only with " + " ".join(format_term(t, "+") for t in sub.include))
    if sub.exclude:
        parts.append("never with " + " ".join(format_term(t, "-") for t in sub.exclude))
    return "; ".join(parts)


def delivery_mode(chat: Chat) -> str:
    s = chat.settings
    if s.mode == "digest":
        return f"in a daily digest at {s.digest_time} {s.timezone}"
    return "as they arrive"


def _check_terms(terms: list[str], most: int, what: str) -> None:
    if len(terms) > most:
        raise UsageError(f"{what} can have at most {most} words or phrases.")
    for term in terms:
        if len(term) > MAX_TERM_CHARS:
            raise UsageError(f"Words and phrases can be at most {MAX_TERM_CHARS} characters.")


async def _subscribe_to(
    request: Request,
    services: Services,
    chat: Chat,
    kind: SubscriptionKind,
    target: str,
    source_id: int | None = None,
    start: Start | None = None,
    where: str = "here",
) -> Response:
    try:
        sub = await services.store.add_subscription(
            chat.id,
            kind,
            target,
            source_id=source_id,
            created_by=request.user_key,
            limit=await max_subscriptions(services),
        )
    except SubscriptionExists:
        same = [
            s
            for s in await services.store.list_subscriptions(chat.id)
            if s.kind == kind and s.target.casefold() == target.casefold()
        ]
        ref = f" (#{same[0].id})" if same else ""
        text = f"This chat already follows {kind} {target}{ref}."
        if same and start is not None and start.last:
            text += " " + await _backfill(services, chat, same[0], start.last)
        return Response.text(text)
    except LimitReached as exc:
        return Response.error(f"Not subscribed: {exc}. Remove one with /unsubscribe first.")
    log.info("chat %s subscribed to %s %r (#%s)", chat.id, kind, target[:80], sub.id)
    paused = ""
    if not chat.active:
        # Silent non-delivery is the worst outcome: say why nothing will arrive yet.
        paused = (
            f"\nPosting here is paused ({chat.inactive_reason or 'the bot lost access'}); "
            "it resumes when I can post here again (re-add me or restore my rights)."
        )
    earlier = ""
    if start is not None and start.last:
        earlier = "\n" + await _backfill(services, chat, sub, start.last)
    elif start is not None:
        earlier = "\nNothing from before now is posted: only what comes next."
    return Response.text(
        f"Subscribed: {describe(sub)}. New pieces come {where} {delivery_mode(chat)}.{earlier}\n"
        f"Narrow it with /filter {sub.id} -word, or stop with /unsubscribe {sub.id}.{paused}"
    )


async def _backfill(services: Services, chat: Chat, sub: Subscription, count: int) -> str:
    """Queue the subscription's last ``count`` pieces for the chat; a sentence saying so."""
    store = services.store
    try:  # as this chat sees the archive: other chats' /summary answers are not posted here
        if sub.kind == "source":
            found = await store.latest_pieces(count, source_id=sub.source_id, chat_id=chat.id)
        elif sub.kind == "author":
            found = await store.latest_pieces(count, author=sub.target, chat_id=chat.id)
        else:
            found = await store.latest_pieces(count, keyword=sub.target, chat_id=chat.id)
    except InvalidSearch:
        found = []
    if not found:
        return "There are no earlier pieces to post yet."
    # Oldest first, so the newest piece ends up at the bottom of the chat.
    ids = [p.id for p in reversed(found)]
    queued = await services.store.queue_backfill(chat.id, sub.id, ids)
    log.info("chat %s: %d earlier pieces queued for #%s", chat.id, queued, sub.id)
    if queued == 0:
        return f"This chat already had the last {plural(len(found), 'piece')}; none posted again."
    note = "" if len(found) == count else " (all there is so far)"
    before = len(found) - queued
    again = "" if not before else f"; {plural(before, 'was', 'were')} posted here before"
    return f"The last {plural(queued, 'piece')}{note} will be posted now{again}."


@dataclass(frozen=True)
class Start:
    """How a new subscription starts: the last ``last`` pieces now, or (0) only new ones."""

    last: int = 0


_START = re.compile(r"\s+(?:last\s+(\S+)|(new\s+only))$", re.IGNORECASE)


def split_start(text: str) -> tuple[str, Start | None]:
    """``demo last 3`` -> (``demo``, Start(3)); ``demo new only`` -> (``demo``, Start(0))."""
    match = _START.search(text)
    if match is None:
        return text, None
    rest = text[: match.start()].strip()
    if match.group(2):
        return rest, Start(0)
    token = match.group(1)
    if not (token.isascii() and token.isdigit()):
        raise UsageError(f"{clip(token, 20)!r} is not a number: say last 1 to last {MAX_LAST}.")
    count = int(token)
    if not 1 <= count <= MAX_LAST:
        raise UsageError(f"I can post the last 1 to {MAX_LAST} pieces, not {clip(token, 20)}.")
    return rest, Start(count)


@command(
    "subscribe",
    "/subscribe <source> | author <name> | keyword <words> [last N] [topic new]",
    "Get new pieces from a source, an author or matching keywords here",
    scope="chat_admin",
    group="Subscriptions",
    options=(
        Option(
            "what",
            'A source, "author <name>" or "keyword <words>"',
            kind="subscription",
            required=True,
        ),
        Option(
            "start",
            "Post the last N pieces now, or only what comes next (the default)",
            choices=("new only", "last 1", "last 3", "last 5", "last 10"),
        ),
        Option(
            "place",
            "Post them in a new thread of this channel named after it",
            choices=("thread new",),
        ),
    ),
)
async def subscribe(request: Request, services: Services) -> Response:
    text = " ".join(request.args.split())
    if not text:
        raise UsageError("Say what to follow.")
    text, start, new_place = split_suffixes(text)
    if not text:
        raise UsageError("Say what to follow before last N, new only or topic new.")
    first, _, rest = text.partition(" ")
    kind = first.casefold()
    if kind not in KINDS or not rest:
        if kind in ("author", "keyword") and await find_source(services, text) is None:
            raise UsageError(f"Say which {kind}.")
        kind, rest = "source", text
    chat = await current_chat(request, services)

    source_id = None
    if kind == "source":
        source = await find_source(services, rest)
        if source is None:
            return Response.error(await source_hint(services, rest))
        target, source_id = source.name, source.id
    elif kind == "author":
        name = await find_author(services, rest)
        if name is None:
            return Response.error(await author_hint(services, rest, chat.id))
        target = name
    else:
        include, exclude = parse_terms(rest)
        if not include:
            raise UsageError("A keyword query needs a word to look for (-word only excludes).")
        _check_terms(include + exclude, MAX_KEYWORD_TERMS, "A keyword query")
        target = keyword_query(include, exclude)
    sub_kind: SubscriptionKind = (
        "source" if kind == "source" else ("author" if kind == "author" else "keyword")
    )
    where = "here"
    if new_place:
        try:
            chat = await open_place(request, services, chat, target)
        except PlaceError as exc:
            log.info("no topic for %s in %s: %s", target[:60], request.chat_id, exc)
            return Response.error(str(exc))
        place = "topic" if chat.thread_id else "thread"
        where = f"to the new {place} “{chat.title}”"
    else:
        await remember_fallback(request, services, chat)
    return await _subscribe_to(
        request, services, chat, sub_kind, target, source_id, start, where=where
    )


_PLACE = re.compile(r"\s+(?:topic|thread)\s+new$", re.IGNORECASE)


def split_suffixes(text: str) -> tuple[str, Start | None, bool]:
    """``demo topic new last 3`` -> (``demo``, Start(3), True), in either order."""
    start: Start | None = None
    new_place = False
    for _ in range(2):
        match = _PLACE.search(text)
        if match is not None and not new_place:
            text, new_place = text[: match.start()].strip(), True
            continue
        rest, found = split_start(text)
        if found is not None and start is None:
            text, start = rest, found
    return text, start, new_place


async def open_place(request: Request, services: Services, chat: Chat, name: str) -> Chat:
    """A new forum topic (Telegram) or thread (Discord) named after what it follows, as a chat
    of its own that inherits this chat's settings and falls back to it when it is gone."""
    if request.open_place is None or chat.kind in ("private", "channel"):
        raise PlaceError(
            "Topics are for Telegram forum groups and threads for Discord channels; "
            "subscribe here without topic new."
        )
    if chat.kind == "thread" and not chat.thread_id:
        raise PlaceError("This is a thread already: run it in the channel to make a new one.")
    place = await request.open_place(clip(name, 100))
    new = await services.store.ensure_chat(
        request.platform,
        place.chat_id,
        kind="thread",
        thread_id=place.thread_id,
        title=place.title,
        reactivate=False,
    )
    home = chat.id
    if chat.thread_id:  # made from inside a topic: the group's general place is its home
        general = await services.store.ensure_chat(
            request.platform, chat.platform_chat_id, kind="group", title=chat.title
        )
        home = general.id
    await services.store.update_chat_settings(new.id, replace(chat.settings, fallback_chat_id=home))
    new.settings = replace(chat.settings, fallback_chat_id=home)
    log.info("opened %s %r for chat %s", request.platform, place.title[:60], chat.id)
    return new


async def remember_fallback(request: Request, services: Services, chat: Chat) -> None:
    """A Discord thread subscribing for the first time learns its channel, where its posts go
    when it is archived or deleted (a Telegram topic's group is known from its id)."""
    if chat.kind != "thread" or not request.parent_chat_id:
        return
    if chat.settings.fallback_chat_id is not None:
        return
    parent = await services.store.ensure_chat(
        request.platform, request.parent_chat_id, kind="group"
    )
    await services.store.update_chat_settings(
        chat.id, replace(chat.settings, fallback_chat_id=parent.id)
    )


async def _chat_subscription(services: Services, chat: Chat, token: str) -> Subscription:
    """The chat's subscription with id ``token`` (``3`` or ``#3``); UsageError otherwise."""
    match = _ID.fullmatch(token)
    if match is None:
        raise UsageError(f"{clip(token, 20)!r} is not a subscription id (see /subscriptions).")
    sub = await services.store.get_subscription(int(match.group(1)))
    # Ids are global; another chat's subscription must look exactly like a missing one.
    if sub is None or sub.chat_id != chat.id:
        raise UsageError(f"This chat has no subscription #{match.group(1)} (see /subscriptions).")
    return sub


async def _matching(services: Services, subs: list[Subscription], text: str) -> list[Subscription]:
    """The chat's subscriptions that ``text`` names: ``[kind] target``."""
    first, _, rest = text.partition(" ")
    kinds: tuple[str, ...] = KINDS
    if first.casefold() in KINDS and rest:
        kinds, text = (first.casefold(),), rest
    found = []
    folded = text.casefold()
    include, exclude = parse_terms(text)
    as_query = normalize(keyword_query(include, exclude))
    source = await find_source(services, text) if "source" in kinds else None
    for sub in subs:
        if sub.kind not in kinds:
            continue
        if (
            sub.target.casefold() == folded
            or (sub.kind == "source" and source is not None and sub.source_id == source.id)
            or (sub.kind == "keyword" and as_query and normalize(sub.target) == as_query)
        ):
            found.append(sub)
    return found


@command(
    "unsubscribe",
    "/unsubscribe <id | source | author name | keyword words>",
    "Stop a subscription of this chat",
    scope="chat_admin",
    group="Subscriptions",
    options=(Option("which", "An id from /subscriptions, or what it follows", required=True),),
)
async def unsubscribe(request: Request, services: Services) -> Response:
    text = " ".join(request.args.split())
    if not text:
        raise UsageError("Say which subscription: an id from /subscriptions or what it follows.")
    chat = await current_chat(request, services)
    subs = await services.store.list_subscriptions(chat.id)
    by_id = _ID.fullmatch(text)
    found = [s for s in subs if by_id and s.id == int(by_id.group(1))]
    if not found:
        found = await _matching(services, subs, text)
    if not found:
        what = f"#{by_id.group(1)}" if by_id else repr(clip(text))
        return Response.error(f"This chat has no subscription {what}. See /subscriptions.")
    if len(found) > 1:
        options = ", ".join(f"#{s.id} ({s.kind})" for s in found)
        return Response.error(f"Several subscriptions match: {options}. Say /unsubscribe <id>.")
    sub = found[0]
    await services.store.remove_subscription(chat.id, sub.id)
    log.info("chat %s unsubscribed #%s", chat.id, sub.id)
    return Response.text(f"Unsubscribed: #{sub.id} {sub.kind} {sub.target}.")


@command(
    "subscriptions",
    "/subscriptions",
    "What this chat follows, with ids and filters",
    group="Subscriptions",
)
async def subscriptions(request: Request, services: Services) -> Response:
    chat = await current_chat(request, services)
    subs = await services.store.list_subscriptions(chat.id)
    limit = await max_subscriptions(services)
    if not subs:
        return Response.text(
            "This chat follows nothing yet. Try /subscribe <source> (see /sources), "
            "/subscribe author <name> or /subscribe keyword <words>."
        )
    lines = [
        f"This chat follows {len(subs)} (at most {limit}); new pieces come {delivery_mode(chat)}:"
    ]
    for sub in subs:
        line = "• " + describe(sub)
        if sub.kind == "source" and sub.source_id is not None:
            source = await services.store.get_source_by_id(sub.source_id)
            if source is not None and source.paused:
                line += " (source paused)"
        lines.append(line)
    lines.append('Stop one with /unsubscribe <id>; narrow one with /filter <id> -word +"phrase".')
    return Response.text("\n".join(lines), kind="long")


def _merge(current: list[str], added: list[str], removed: list[str]) -> list[str]:
    """``current`` plus ``added`` minus ``removed``, compared as normalized text, order kept."""
    gone = {normalize(t) for t in removed}
    out: list[str] = []
    seen: set[str] = set()
    for term in [*current, *added]:
        key = normalize(term)
        if key in gone or key in seen:
            continue
        seen.add(key)
        out.append(term)
    return out


@command(
    "filter",
    '/filter <id> [-word] [+"phrase"] | <id> clear',
    "Require (+) or exclude (-) words and phrases on a subscription",
    scope="chat_admin",
    group="Subscriptions",
    options=(
        Option(
            "id", "The subscription id from /subscriptions", kind="int", required=True, min_value=1
        ),
        Option("terms", 'e.g. -sport +"climate policy", or clear'),
    ),
)
async def filter_(request: Request, services: Services) -> Response:
    parts = request.args.split(maxsplit=1)
    if not parts:
        raise UsageError("Name a subscription id from /subscriptions.")
    chat = await current_chat(request, services)
    sub = await _chat_subscription(services, chat, parts[0])
    rest = parts[1].strip() if len(parts) > 1 else ""
    if not rest:
        filters = describe_filters(sub)
        return Response.text(
            f"#{sub.id} {sub.kind} {sub.target}: " + (filters or "no filters") + "."
        )
    if rest.casefold() == "clear":
        await services.store.set_subscription_filters(chat.id, sub.id, [], [])
        return Response.text(f"Filters of #{sub.id} removed: every piece it matches comes here.")
    include, exclude = parse_terms(rest)
    if not include and not exclude:
        raise UsageError("Give words to require (+word) or to exclude (-word).")
    both = {normalize(t) for t in include} & {normalize(t) for t in exclude}
    if both:
        raise UsageError(f"{clip(sorted(both)[0], 40)!r} cannot be both required and excluded.")
    # A term given now wins over the opposite one given before (-x after +x drops the +x).
    new_include = _merge(sub.include, include, exclude)
    new_exclude = _merge(sub.exclude, exclude, include)
    _check_terms(new_include + new_exclude, MAX_FILTER_TERMS, "A subscription's filters")
    await services.store.set_subscription_filters(chat.id, sub.id, new_include, new_exclude)
    sub.include, sub.exclude = new_include, new_exclude
    return Response.text(
        f"Filters of #{sub.id} {sub.kind} {sub.target}: {describe_filters(sub)}.\n"
        "Every + term must appear in a piece and no - term may; /filter "
        f"{sub.id} clear removes them."
    )
