"""/why <url>: what happened to a piece for this chat, read from its delivery row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.delivery.routing import route
from bot.durations import format_duration
from bot.errors import UsageError
from bot.messages import Reply, Request, Response, piece_byline
from bot.sources.urls import canonicalize_url
from bot.types import Chat, ChatSettings, Correction, Delivery, Piece, Source
from handlers.common import current_chat
from handlers.lookup import clip
from handlers.registry import Option, command

if TYPE_CHECKING:
    from bot.services import Services


def _zone(settings: ChatSettings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, settings: ChatSettings) -> str:
    """A time in the chat's own time zone, which is how its people read the clock."""
    if moment is None:
        return "an unknown time"
    zone = _zone(settings)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + str(zone)


def next_digest(settings: ChatSettings, now: datetime | None = None) -> datetime:
    """The next time the chat's digest is due (today's if still ahead, else tomorrow's)."""
    zone = _zone(settings)
    local = (now or datetime.now(UTC)).astimezone(zone)
    hour, minute = (int(part) for part in settings.digest_time.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return due


def _host(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").casefold()
    except ValueError:
        return ""
    return host.removeprefix("www.")


async def _not_fetched(services: Services, chat: Chat, url: str) -> str:
    host = _host(url)
    lines = [f"I have not fetched {clip(url, 120)} (yet)."]
    same_site: list[Source] = [
        s for s in await services.store.list_sources() if host and _host(s.url) == host
    ]
    if not same_site:
        lines.append(
            f"None of my sources is on {host or 'that site'}; see /sources (owners add sources "
            "with /addsource). /summary <url> summarizes any page on demand."
        )
    for source in same_site:
        if source.paused:
            lines.append(
                f"Source {source.name} is on that site but paused"
                + (f" ({source.paused_reason})." if source.paused_reason else ".")
            )
            continue
        line = f"Source {source.name} is on that site, polled every " + format_duration(
            source.interval_seconds
        )
        upcoming = services.sources.next_run(source.id) or source.next_run_at
        line += f"; next poll {when(upcoming, chat.settings)}." if upcoming else "."
        if source.last_error and source.consecutive_failures:
            line += f" Its last poll failed: {source.last_error}"
        lines.append(line + " A piece appears once its feed or listing page links it.")
    return "\n".join(lines)


async def _no_delivery(services: Services, chat: Chat, piece: Piece) -> str:
    candidates = await services.store.chat_candidates(chat.id)
    if not candidates:
        return "This chat follows nothing, so nothing is posted here. See /subscribe."
    # Routing's own verdict for this chat: the same rule the fan-out applied.
    routes = route(piece, candidates)
    if not routes:
        origin = []
        if piece.source_id is not None:
            source = await services.store.get_source_by_id(piece.source_id)
            if source is not None:
                origin.append(f"source {source.name}")
        if piece.authors:
            origin.append("by " + ", ".join(piece.authors))
        where = f" (it came from {' '.join(origin)})" if origin else ""
        return (
            f"No subscription of this chat matches it{where}. /subscriptions shows what this "
            "chat follows."
        )
    by_id = {c.subscription.id: c.subscription for c in candidates}
    sub = by_id[routes[0].subscription_id]
    if sub.created_at and piece.fetched_at and sub.created_at > piece.fetched_at:
        return (
            f"It arrived {when(piece.fetched_at, chat.settings)}, before subscription "
            f"#{sub.id} ({sub.kind} {sub.target}) was made; pieces are posted only when they "
            "arrive. /latest shows recent ones."
        )
    return (
        f"Subscription #{sub.id} ({sub.kind} {sub.target}) matches it, but it was stored "
        "without posting: a new source's first poll posts only its newest piece."
    )


async def _via(services: Services, delivery: Delivery) -> str:
    if delivery.subscription_id is None:
        return "a subscription since removed"
    sub = await services.store.get_subscription(delivery.subscription_id)
    if sub is None:
        return "a subscription since removed"
    return f"subscription #{sub.id} ({sub.kind} {sub.target})"


async def _delivery_story(services: Services, chat: Chat, delivery: Delivery) -> str:
    settings = chat.settings
    via = await _via(services, delivery)
    state = delivery.state
    if state == "filtered":
        return f"Filtered out by {via}: {delivery.reason or 'no reason recorded'}."
    if state == "sent":
        return f"Posted here {when(delivery.sent_at, settings)} (via {via})."
    if state == "digest":
        return (
            f"Held for this chat's digest (via {via}), due "
            f"{when(next_digest(settings), settings)}. /digest sends it now."
        )
    if state == "sending":
        return f"Being posted right now (via {via})."
    if state == "failed":
        tries = f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}"
        return f"Posting failed after {tries}: {delivery.last_error or 'unknown error'}."
    if state == "held":
        when_listed = (
            "It will be listed in this chat's next digest."
            if settings.mode == "digest"
            else "It will be listed in the daily held-back note."
        )
        return f"Not posted ({via}): {delivery.reason or 'held back'}. {when_listed}"
    if state == "held_noted":
        return f"Not posted ({via}): {delivery.reason or 'held back'}; it was listed here."
    if state == "skipped":
        return f"Skipped: {delivery.reason or 'no reason recorded'}."
    # pending: waiting for its turn, a retry, or the end of quiet hours
    due = when(delivery.next_attempt_at, settings) if delivery.next_attempt_at else "soon"
    if delivery.attempts and delivery.last_error:
        return (
            f"Queued for another try {due} (via {via}); attempt {delivery.attempts} failed: "
            f"{delivery.last_error}."
        )
    if delivery.reason:
        return f"Queued (via {via}), held until {due}: {delivery.reason}."
    return f"Queued to be posted here (via {via}), due {due}."


@command(
    "why",
    "/why <url>",
    "Explain what happened to a piece in this chat",
    group="Subscriptions",
    options=(Option("url", "The piece's address", required=True),),
)
async def why(request: Request, services: Services) -> Response:
    words = request.args.split()
    if len(words) != 1:
        raise UsageError("Give me one link." if not words else "Give me just one link.")
    url = words[0].strip("<>")  # people paste <https://...> from Discord/Markdown
    if "://" not in url:
        url = "https://" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "http://[::1": an unclosed IPv6 bracket
        host = ""
    if "." not in host and host != "localhost":
        raise UsageError(f"{clip(words[0], 60)!r} is not a link.")
    canonical = canonicalize_url(url)
    store = services.store
    chat = await current_chat(request, services)
    piece_id = await store.piece_id_for_url(canonical) or await store.piece_id_for_url(url)
    if piece_id is None:
        return Response.text(await _not_fetched(services, chat, canonical))
    piece = await store.get_piece(piece_id)
    if piece is None:  # deleted between the two reads
        return Response.text(await _not_fetched(services, chat, canonical))
    head = f"{piece.title}" + (f" — {piece_byline(piece)}" if piece_byline(piece) else "")
    lines = [head]
    copies = {u for _, u in piece.also_in}
    if canonical != piece.url and canonical in copies:
        lines.append(
            f"That link is a syndicated copy of piece #{piece.id} ({piece.url}); a piece is "
            "posted once, under its first link."
        )
    delivery = await store.delivery_for(piece.id, chat.id)
    if delivery is None:
        lines.append(await _no_delivery(services, chat, piece))
    else:
        lines.append(await _delivery_story(services, chat, delivery))
    lines.extend(_correction_story(chat, c) for c in await store.corrections_for(piece.id, chat.id))
    return Response([Reply(text="\n".join(lines), piece_id=piece.id)])


def _correction_story(chat: Chat, correction: Correction) -> str:
    """One correction: when the piece changed, what changed, and what became of the post."""
    head = (
        f"Updated {when(correction.created_at, chat.settings)}: {correction.reason} at the source"
    )
    if correction.state == "done":
        done = "was posted again" if chat.settings.corrections == "repost" else "was edited"
        return f"{head}; the post here {done} {when(correction.done_at, chat.settings)}."
    if correction.state == "failed":
        return f"{head}; the post here could not be corrected: {correction.last_error}."
    return f"{head}; the post here is waiting to be corrected."
