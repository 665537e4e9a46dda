"""The Reading group of /help: /start, /help, /latest, /sources, /authors, /search, /summary."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from bot.durations import format_duration
from bot.errors import InvalidSearch, SearchTooBroad, UsageError
from bot.messages import Reply, Request, Response, card_for
from handlers.common import current_chat, parse_count, plural, posts_for
from handlers.registry import COMMANDS, Option, command, load_all

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

GROUP_ORDER = ("Reading", "Replies", "Subscriptions", "Settings", "Admin")


@command("start", "/start", "Introduce the bot and how to begin", group="Reading")
async def start(request: Request, services: Services) -> Response:
    if request.args.strip().casefold() == "saved":
        # The deep link a group answer offers (t.me/<bot>?start=saved): the list, privately.
        from handlers.saved import saved_list

        return await saved_list(request, services)
    count = len(await services.store.list_sources())
    return Response.text(
        "commentary-bot follows opinion writing and posts short, faithful summaries here.\n"
        f"I follow {plural(count, 'source')}. Try /latest for the newest pieces, /sources to see "
        "what I follow, /subscribe <source> to get new pieces here, and /help for every command."
    )


@command("help", "/help [command]", "List the commands, or explain one", group="Reading")
async def help_(request: Request, services: Services) -> Response:
    specs = load_all()
    wanted = request.args.strip().lstrip("/").lower()
    if wanted:
        spec = COMMANDS.get(wanted)
        if spec is None:
            return Response.error(f"No command /{wanted[:40]}. Send /help for the list.")
        return Response.text(f"{spec.usage}\n{spec.description}")
    is_owner = services.is_owner(request.user_key)
    lines: list[str] = []
    for group in GROUP_ORDER:
        entries = [s for s in specs.values() if s.group == group]
        if group == "Admin" and not is_owner:
            continue
        if not entries:
            continue
        lines.append("Owners:" if group == "Admin" else f"{group}:")
        lines.extend(f"  {s.usage} — {s.description}" for s in entries)
    lines.append(
        "Reply to one of my posts with /more, /full, /quote, /author, /similar, /source, /save,"
        " /like or /dislike."
    )
    return Response.text("\n".join(lines), kind="long")


@command(
    "latest",
    "/latest [n] [source | author | keyword]",
    "The newest pieces (n 1-10, default 3)",
    options=(
        Option("count", "How many (1-10)", kind="int", min_value=1, max_value=10),
        Option("filter", "A source, an author or keywords", kind="text"),
    ),
)
async def latest(request: Request, services: Services) -> Response:
    words = request.args.split()
    count = 3
    if words and words[0].lstrip("-").isdigit():
        count = parse_count(words.pop(0))
    # "/latest author Jane Doe", as /subscribe spells it, names what the words are.
    kind = _FILTER_KINDS.get(words[0].lower()) if len(words) > 1 else None
    if kind:
        words.pop(0)
    what = " ".join(words).strip()
    store = services.store
    chat = await current_chat(request, services)
    source = await store.get_source(what) if what and kind in (None, "source") else None
    if kind == "source" and source is None:
        return Response.error(f"I know no source {what[:80]!r}. See /sources.")
    is_author = (
        kind in (None, "author")
        and source is None
        and bool(what)
        and await store.get_author(what) is not None
    )
    if kind == "author" and not is_author:
        return Response.error(f"I know no author {what[:80]!r}. See /authors.")
    # As this chat sees the archive: another chat's /summary answers are not its news.
    if not what:
        pieces = await store.latest_pieces(count, chat_id=chat.id)
    elif source is not None:
        pieces = await store.latest_pieces(count, source_id=source.id, chat_id=chat.id)
    elif is_author:
        pieces = await store.latest_pieces(count, author=what, chat_id=chat.id)
    else:
        try:
            pieces = await store.latest_pieces(count, keyword=_fts_words(what), chat_id=chat.id)
        except SearchTooBroad as exc:
            return Response.error(str(exc))
        except InvalidSearch:
            pieces = []
        if not pieces:
            return Response.text(
                f"Nothing matches {what[:80]!r}: no such source or author, and no piece "
                "mentions it. Try /sources or /authors."
            )
    if not pieces:
        return Response.text("No pieces yet. Sources are polled on a schedule; check /sources.")
    return Response(await posts_for(pieces, chat, services))


_FILTER_KINDS = {
    "source": "source",
    "author": "author",
    "keyword": "keyword",
    "keywords": "keyword",
}


def _fts_words(text: str) -> str:
    """Plain words as an FTS5 AND query: each word quoted, so nothing is FTS syntax."""
    return " ".join('"' + w.replace('"', "") + '"' for w in text.split() if w.replace('"', ""))


@command("sources", "/sources", "The sources this bot follows, with their state")
async def sources(request: Request, services: Services) -> Response:
    items = await services.store.list_sources()
    if not items:
        return Response.text("I follow no sources yet. Owners add them with /addsource <url>.")
    lines = []
    for s in items:
        state = "paused" if s.paused else ("failing" if s.consecutive_failures else "ok")
        line = f"• {s.name} ({s.kind}, every {format_duration(s.interval_seconds)}) — {state}"
        if s.title and s.title != s.name:
            line += f" — {s.title}"
        if s.paused and s.paused_reason:
            line += f" ({s.paused_reason})"
        elif s.last_error and s.consecutive_failures:
            line += f": {s.last_error}"
        lines.append(line)
    return Response.text("\n".join(lines), kind="long")


@command(
    "authors",
    "/authors [prefix]",
    "Known authors (optionally starting with a prefix)",
    options=(Option("prefix", "The start of a name", kind="author"),),
)
async def authors(request: Request, services: Services) -> Response:
    prefix = request.args.strip()
    chat = await current_chat(request, services)  # another chat's /summary writers stay private
    found = await services.store.find_authors(prefix, 30, chat_id=chat.id)
    if not found:
        hint = f" starting with {prefix[:40]!r}" if prefix else ""
        return Response.text(f"No authors{hint} yet.")
    lines = [f"• {name} ({n} piece{'s' if n != 1 else ''})" for name, n in found]
    return Response.text("\n".join(lines), kind="long")


@command(
    "search",
    "/search <query>",
    'Full-text search: words, "phrases", prefix*',
    options=(Option("query", 'Words, "phrases" or prefix*', required=True),),
)
async def search(request: Request, services: Services) -> Response:
    query = request.args.strip()
    if not query:
        raise UsageError("Tell me what to search for.")
    # A phrase left open ("climate policy) ends with the query.
    closed = query + '"' if query.count('"') % 2 else query
    if not services.search_limiter.allow(request.user_key):
        return Response.error("You have searched a lot in the last minute; try again shortly.")
    chat = await current_chat(request, services)
    try:
        results = await services.store.search(closed, limit=5, chat_id=chat.id)
    except SearchTooBroad as exc:
        log.info("search too broad %r: %s", query[:80], exc)
        return Response.error(str(exc))
    except InvalidSearch:
        log.info("unparsable search query %r", query[:80])
        return Response.error(
            'I could not read that query. Use words, "a phrase" or a prefix* '
            "(AND, OR and NOT in capitals work too)."
        )
    if not results:
        return Response.text(f"Nothing found for {query[:80]!r}.")
    replies = []
    for piece, snippet in results:
        card = card_for(piece, summary=snippet, method="search snippet")
        replies.append(Reply(card=card, piece_id=piece.id))
    return Response(replies)


@command(
    "summary",
    "/summary <url>",
    "Summarize any article on demand",
    options=(Option("url", "The article's address", required=True),),
)
async def summary(request: Request, services: Services) -> Response:
    url = request.args.strip()
    if not url or " " in url:
        raise UsageError("Give me one link.")
    # Owners run the bot: the limit protects it from everybody else.
    if not services.is_owner(request.user_key):
        wait = services.summary_limiter.wait(request.user_key)
        if wait:
            limit = services.summary_limiter.limit
            return Response.error(
                f"You have asked for {limit} summaries in the last hour, the most allowed; "
                f"try again in {format_duration(60 * math.ceil(wait / 60))}."
            )
    chat = await current_chat(request, services)
    try:
        draft = await services.summarizer.draft_for_url(
            url, guard=not services.settings.commentary_allow_private_urls
        )
    except Exception as exc:  # noqa: BLE001 - every failure is a one-line answer
        log.info("summary of %s failed: %s", url[:200], exc)
        return Response.error(f"Could not summarize that page: {_short(exc)}")
    # Stored like any piece (no source, posted nowhere), so replies such as /more and /full
    # work on the answer; a page the bot already has keeps its stored piece. It is this
    # chat's: other chats' /latest and /search show it only once a source publishes it.
    draft.on_demand = True
    piece_id = await services.store.piece_id_for_url(draft.url)
    if piece_id is None:
        piece_id = (await services.store.save_piece(draft)).piece_id
    await services.store.add_piece_request(piece_id, chat.id)
    piece = await services.store.get_piece(piece_id)
    if piece is None:  # removed in between; nothing to show
        return Response.error("Could not summarize that page: it vanished while stored.")
    return Response(await posts_for([piece], chat, services))


def _short(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:200]
