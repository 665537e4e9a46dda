"""Owner commands: sources, limits, status and a polling round on demand."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.durations import format_duration, parse_duration
from bot.errors import InvalidDuration, SourceError, UsageError, UserError
from bot.messages import Request, Response
from bot.services import PollReport
from bot.types import Source
from handlers.common import plural
from handlers.limits import (
    MAX_SUBSCRIPTIONS_KEY,
    MIN_CHAT_INTERVAL_KEY,
    max_subscriptions,
    min_chat_interval,
)
from handlers.lookup import clip, find_source, source_hint
from handlers.registry import Option, command

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1800
OWNER_MIN_INTERVAL = 60  # even owners do not poll a publisher more than once a minute
MAX_INTERVAL = 7 * 86400
MAX_NAME_CHARS = 60
MAX_SUBSCRIPTION_LIMIT = 1000
# /subscribe reads these first words as kinds, so a source with such a name could not be named.
RESERVED_NAMES = frozenset({"author", "keyword", "source"})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:200]


def _chat_added(source: Source) -> bool:
    """Added from a chat (untrusted), the same rule the poller uses for its SSRF guard."""
    return not source.trusted


def _parse_interval(text: str) -> int:
    try:
        return parse_duration(text)
    except InvalidDuration as exc:
        raise UsageError(str(exc) + ".") from None


async def _source_or_hint(services: Services, text: str) -> Source | Response:
    name = " ".join(text.split())
    if not name:
        raise UsageError("Name a source (see /sources).")
    source = await find_source(services, name)
    return source if source is not None else Response.error(await source_hint(services, name))


@command(
    "addsource",
    "/addsource <url> [name] [interval]",
    "Follow a new feed or listing page",
    scope="owner",
    group="Admin",
    options=(
        Option("url", "The feed or page address", required=True),
        Option("name", "A short name for it"),
        Option("interval", "How often to poll, e.g. 30m"),
    ),
)
async def addsource(request: Request, services: Services) -> Response:
    words = request.args.split()
    if not words:
        raise UsageError("Give the feed or page address.")
    url, rest = words[0].strip("<>"), words[1:]
    interval: int | None = None
    if rest:
        try:
            interval = parse_duration(rest[-1])
            rest = rest[:-1]
        except InvalidDuration:
            pass  # the last word is part of the name
    name = " ".join(rest) or None
    if name is not None:
        if len(name) > MAX_NAME_CHARS:
            raise UsageError(f"A name can be at most {MAX_NAME_CHARS} characters.")
        if name.casefold() in RESERVED_NAMES or name.startswith("/"):
            raise UsageError(f"{clip(name, 20)!r} cannot be a source name; choose another.")
    floor = await min_chat_interval(services)
    if interval is not None and interval < floor:
        return Response.error(
            f"Sources added from a chat are polled at most every {format_duration(floor)}; "
            f"{format_duration(interval)} is too often."
        )
    if interval is not None and interval > MAX_INTERVAL:
        raise UsageError(f"The longest interval is {format_duration(MAX_INTERVAL)}.")
    try:
        report = await services.sources.add_source(
            url,
            name=name,
            interval=interval or max(DEFAULT_INTERVAL, floor),
            trusted=False,  # chat-added: the SSRF guard applies
            added_by=request.user_key,
        )
    except UserError as exc:  # SourceError, unsafe addresses: said to the owner
        log.info("addsource %s refused: %s", url[:200], exc)
        return Response.error(f"Not added: {_first_line(exc)}")
    except Exception as exc:  # noqa: BLE001 - any failure is one line to the owner, and logged
        log.exception("addsource %s failed", url[:200])
        return Response.error(f"Not added: {_first_line(exc)}")
    source = report.source
    every = format_duration(source.interval_seconds)
    log.info("source %s added by %s", source.name, request.user_key)
    if report.error:
        return Response.text(
            f"Added {source.name} ({report.kind}), but the first fetch failed: {report.error}\n"
            f"It is retried every {every}; /removesource {source.name} undoes it."
        )
    title = f"“{report.title}”" if report.title else "no title"
    entries = f"{report.entries} entr{'ies' if report.entries != 1 else 'y'}"
    hint = ""
    if report.entries == 0 and report.kind == "page":
        hint = (
            "\nNo article links were recognised on that page. If it is a single article, "
            "use /summary instead; for a listing, an operator can set a CSS selector with "
            f"`commentary-bot sources edit {source.name} --selector 'h2 a'`."
        )
    return Response.text(
        f"Added {source.name}: {title}, a {report.kind} with {entries}, polled every {every}.\n"
        f"Chats follow it with /subscribe {source.name}.{hint}"
    )


@command(
    "removesource",
    "/removesource <name>",
    "Stop following a source (its subscriptions end)",
    scope="owner",
    group="Admin",
    options=(Option("name", "The source", kind="source", required=True),),
)
async def removesource(request: Request, services: Services) -> Response:
    found = await _source_or_hint(services, request.args)
    if isinstance(found, Response):
        return found
    removed = await services.sources.remove_source(found.name)
    if removed is None:
        return Response.error(f"{found.name} was already gone.")
    log.info("source %s removed by %s", found.name, request.user_key)
    told = ""
    if removed.chats_told:
        told = f"; {plural(removed.chats_told, 'chat')} lost their subscription and are told"
    return Response.text(f"Removed {found.name}{told}.")


@command(
    "pausesource",
    "/pausesource <name>",
    "Stop polling a source for now",
    scope="owner",
    group="Admin",
    options=(Option("name", "The source", kind="source", required=True),),
)
async def pausesource(request: Request, services: Services) -> Response:
    found = await _source_or_hint(services, request.args)
    if isinstance(found, Response):
        return found
    if found.paused:
        why = found.paused_reason or "no reason given"
        return Response.text(f"{found.name} is already paused ({why}).")
    await services.sources.pause_source(found.name)
    return Response.text(f"Paused {found.name}; /resumesource {found.name} starts it again.")


@command(
    "resumesource",
    "/resumesource <name>",
    "Poll a paused source again",
    scope="owner",
    group="Admin",
    options=(Option("name", "The source", kind="source", required=True),),
)
async def resumesource(request: Request, services: Services) -> Response:
    found = await _source_or_hint(services, request.args)
    if isinstance(found, Response):
        return found
    if not found.paused:
        return Response.text(f"{found.name} is not paused.")
    await services.sources.resume_source(found.name)
    return Response.text(
        f"Resumed {found.name}; it is polled now and then every "
        f"{format_duration(found.interval_seconds)}."
    )


@command(
    "interval",
    "/interval <source> <duration>",
    "How often a source is polled (e.g. 15m, 2h)",
    scope="owner",
    group="Admin",
    options=(
        Option("source", "The source", kind="source", required=True),
        Option("duration", "e.g. 15m, 2h", required=True),
    ),
)
async def interval(request: Request, services: Services) -> Response:
    words = request.args.split()
    if len(words) < 2:
        raise UsageError("Give a source and a duration.")
    seconds = _parse_interval(words[-1])
    found = await _source_or_hint(services, " ".join(words[:-1]))
    if isinstance(found, Response):
        return found
    floor = OWNER_MIN_INTERVAL
    if _chat_added(found):
        floor = max(floor, await min_chat_interval(services))
    if seconds < floor:
        return Response.error(f"{found.name} may be polled at most every {format_duration(floor)}.")
    if seconds > MAX_INTERVAL:
        raise UsageError(f"The longest interval is {format_duration(MAX_INTERVAL)}.")
    try:
        updated = await services.sources.set_interval(found.name, seconds)
    except SourceError as exc:
        return Response.error(_first_line(exc))
    if updated is None:
        return Response.error(f"{found.name} is gone.")
    return Response.text(f"{updated.name} is now polled every {format_duration(seconds)}.")


@command("status", "/status", "Sources, queue and uptime", scope="owner", group="Admin")
async def status(request: Request, services: Services) -> Response:
    if services.status is None:
        return Response.error("Status is not available here.")
    report = await services.status()
    return Response.text(report.to_text(), kind="long")


@command("admins", "/admins", "Who owns this bot", scope="owner", group="Admin")
async def admins(request: Request, services: Services) -> Response:
    owners = sorted(services.settings.owners)
    lines = ["Owners (COMMENTARY_OWNERS):"]
    lines.extend(f"• {o}" + (" (you)" if o == request.user_key else "") for o in owners)
    if not owners:
        lines.append("• none set")
    for extra in sorted(services.extra_owners):
        mark = " (you)" if extra == request.user_key else ""
        lines.append(f"• {extra}{mark}: the terminal's operator owns the bot there")
    return Response.text("\n".join(lines))


async def _describe_limits(services: Services) -> str:
    subs = await max_subscriptions(services)
    floor = await min_chat_interval(services)
    return (
        f"At most {subs} subscriptions per chat; sources added from a chat are polled at most "
        f"every {format_duration(floor)}."
    )


@command(
    "limits",
    "/limits [subscriptions N|default] [interval 30m|default]",
    "Show or set the per-chat subscription limit and the shortest chat-source interval",
    scope="owner",
    group="Admin",
    # No typed options: Discord would join their values without the keywords this parses;
    # its adapter then offers one text argument with the usage line instead.
)
async def limits(request: Request, services: Services) -> Response:
    words = request.args.split()
    if not words:
        return Response.text(await _describe_limits(services))
    if len(words) % 2:
        raise UsageError("Give each limit a value.")
    changes: dict[str, str | None] = {}
    for key, value in zip(words[::2], words[1::2], strict=True):
        key, default = key.casefold(), value.casefold() == "default"
        if key in ("subscriptions", "subs"):
            if not default:
                if not value.isdecimal() or not 1 <= int(value) <= MAX_SUBSCRIPTION_LIMIT:
                    raise UsageError(
                        f"subscriptions is a number from 1 to {MAX_SUBSCRIPTION_LIMIT}."
                    )
            changes[MAX_SUBSCRIPTIONS_KEY] = None if default else str(int(value))
        elif key == "interval":
            if not default:
                seconds = _parse_interval(value)
                if not OWNER_MIN_INTERVAL <= seconds <= MAX_INTERVAL:
                    raise UsageError(
                        f"interval is between {format_duration(OWNER_MIN_INTERVAL)} and "
                        f"{format_duration(MAX_INTERVAL)}."
                    )
            changes[MIN_CHAT_INTERVAL_KEY] = None if default else str(seconds)
        else:
            raise UsageError(f"I know no limit {clip(key, 20)!r}.")
    # Validated all first, so a bad second pair changes nothing.
    for name, setting in changes.items():
        await services.store.set_value(name, setting)
    log.info("limits changed by %s: %s", request.user_key, changes)
    return Response.text(
        "Now: "
        + await _describe_limits(services)
        + " Chats above a lowered limit keep their subscriptions but cannot add more."
    )


def _report_line(report: PollReport) -> str:
    if report.status == "error":
        return f"• {report.source}: error: {report.error or 'unknown'}"
    if report.status == "not_modified":
        return f"• {report.source}: not modified"
    if report.status == "paused":
        return f"• {report.source}: paused" + (f" ({report.error})" if report.error else "")
    line = f"• {report.source}: {report.new} new"
    if report.updated:
        line += f", {report.updated} updated"
    line += f" of {plural(report.entries, 'entry', 'entries')}"
    if report.error:  # a round can succeed while single articles fail
        line += f" ({report.error})"
    return line


@command(
    "poll",
    "/poll [source]",
    "Poll all sources (or one) now and report",
    scope="owner",
    group="Admin",
    options=(Option("source", "Only this source", kind="source"),),
)
async def poll(request: Request, services: Services) -> Response:
    name: str | None = None
    if request.args.strip():
        found = await _source_or_hint(services, request.args)
        if isinstance(found, Response):
            return found
        name = found.name
    try:
        reports = await services.sources.poll_now(name)
    except SourceError as exc:
        return Response.error(_first_line(exc))
    if not reports:
        return Response.text("No active sources to poll (see /sources).")
    new = sum(r.new for r in reports)
    errors = sum(1 for r in reports if r.status == "error")
    head = (
        f"Polled {len(reports)} source{'s' if len(reports) != 1 else ''}: {new} new "
        f"piece{'s' if new != 1 else ''}, {errors} error{'s' if errors != 1 else ''}."
    )
    return Response.text("\n".join([head, *(_report_line(r) for r in reports)]), kind="long")
