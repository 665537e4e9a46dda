"""A chat's own settings (/settings) and its held digest on demand (/digest)."""

from __future__ import annotations

import functools
import logging
import re
import zoneinfo
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, TypeVar

from bot.delivery.relevance import MIN_VOTES
from bot.errors import UsageError
from bot.messages import Request, Response
from bot.types import Chat, ChatSettings, SummaryLength
from handlers.common import current_chat, plural
from handlers.lookup import clip
from handlers.registry import Option, command

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_LANGUAGE = re.compile(r"[a-z]{2}")
LENGTHS: tuple[SummaryLength, ...] = ("short", "standard", "long")
CORRECTION_MODES: tuple[Literal["edit", "repost"], ...] = ("edit", "repost")


@functools.cache
def _zones() -> dict[str, str]:
    """Known IANA zone names by their case-folded form ("europe/berlin" works too)."""
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def parse_zone(text: str) -> str:
    name = _zones().get(text.casefold())
    if name is None:
        raise UsageError(f"{clip(text, 40)!r} is not a time zone; write e.g. Europe/Berlin or UTC.")
    return name


def parse_time(text: str) -> str:
    match = _TIME.fullmatch(text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UsageError(f"{clip(text, 20)!r} is not a time; write HH:MM, e.g. 08:00.")
    return f"{int(match.group(1)):02d}:{int(match.group(2)):02d}"


def describe_settings(chat: Chat) -> str:
    s = chat.settings
    mode = "instant (each piece as it arrives)"
    if s.mode == "digest":
        mode = f"digest, daily at {s.digest_time}"
    quiet = f"{s.quiet_start}-{s.quiet_end}" if s.quiet_start and s.quiet_end else "off"
    return "\n".join(
        [
            "This chat's settings:",
            f"• mode: {mode}",
            f"• time zone: {s.timezone}",
            f"• length: {s.length} summaries",
            f"• quiet hours: {quiet}" + (" (posts wait until they end)" if quiet != "off" else ""),
            f"• language: {s.language or 'any'}",
            f"• link previews: {'on' if s.link_previews else 'off'}",
            f"• /full: {'on' if s.full_text else 'off (posts link to the page instead)'}",
            f"• translate into: {s.translate or 'off'}",
            f"• relevance: {'on (holds back what this chat dislikes)' if s.relevance else 'off'}",
            "• corrections: "
            + (
                "edit (a post whose piece changes at its source is edited, marked updated)"
                if s.corrections == "edit"
                else "repost (a piece that changes at its source is posted again)"
            ),
        ]
    )


Word = TypeVar("Word", bound=str)


def _one_of(values: list[str], allowed: tuple[Word, ...], what: str) -> Word:
    for word in allowed:
        if len(values) == 1 and values[0].casefold() == word:
            return word
    raise UsageError(f"{what} is one of: {', '.join(allowed)}.")


def _language_code(text: str, other: str) -> str:
    """An ISO 639-1 code as pieces are labelled with it; UsageError naming ``other``."""
    import langcodes  # here: its data tables take longer to load than the rest of a start-up

    code = text.casefold()
    if not _LANGUAGE.fullmatch(code) or not langcodes.tag_is_valid(code):
        raise UsageError(
            f"{clip(text, 12)!r} is not a language; give its two-letter code "
            f"(ISO 639-1: en, de, fr, ar ...) or {other}."
        )
    # Old codes (iw, in, ji) become today's (he, id, yi): pieces are labelled with those.
    return langcodes.standardize_tag(code).split("-")[0]


NEEDS_LLM = (
    "Translation needs a language model, and none is configured. The bot's operator sets "
    "LLM_BASE_URL (an OpenAI-compatible endpoint), LLM_API_KEY and LLM_MODEL; "
    "LLM_DAILY_BUDGET caps the requests a day."
)


def _change(
    settings: ChatSettings, key: str, values: list[str], *, can_translate: bool = False
) -> tuple[ChatSettings, str]:
    """The new settings and a one-line confirmation; UsageError on anything unclear."""
    if key == "mode":
        if not values or values[0].casefold() not in ("instant", "digest"):
            raise UsageError("Mode is instant or digest [HH:MM] [Time/Zone].")
        mode, rest = values[0].casefold(), values[1:]
        if mode == "instant":
            if rest:
                raise UsageError("Instant mode takes no time.")
            return replace(settings, mode="instant"), "Pieces now come here as they arrive."
        if len(rest) > 2:
            raise UsageError("Digest takes at most a time and a time zone.")
        digest_time, zone = settings.digest_time, settings.timezone
        for token in rest:
            if _TIME.fullmatch(token) or token[:1].isdigit():
                digest_time = parse_time(token)
            else:
                zone = parse_zone(token)
        new = replace(settings, mode="digest", digest_time=digest_time, timezone=zone)
        return new, f"Pieces are now held for a daily digest at {digest_time} {zone}."
    if key in ("timezone", "zone", "tz"):
        if len(values) != 1:
            raise UsageError("Give one time zone, e.g. Europe/Berlin.")
        zone = parse_zone(values[0])
        return replace(settings, timezone=zone), f"Time zone set to {zone}."
    if key == "length":
        length = _one_of(values, LENGTHS, "Length")
        return replace(settings, length=length), f"Summaries here are now {length}."
    if key == "quiet":
        text = "".join(values)
        if text.casefold() == "off":
            return replace(settings, quiet_start=None, quiet_end=None), "Quiet hours are off."
        start, dash, end = text.partition("-")
        if not dash:
            raise UsageError("Quiet hours are HH:MM-HH:MM or off.")
        start, end = parse_time(start), parse_time(end)
        if start == end:
            raise UsageError("Quiet hours need different start and end times.")
        new = replace(settings, quiet_start=start, quiet_end=end)
        return new, (f"Quiet hours {start}-{end} {settings.timezone}: posts wait until they end.")
    if key == "language":
        if len(values) != 1:
            raise UsageError("Language is a two-letter code (en, de, fr ...) or any.")
        if values[0].casefold() in ("any", "all", "off"):
            return replace(settings, language=None), "Pieces in any language come here."
        code = _language_code(values[0], "any")
        return replace(settings, language=code), f"Only pieces in language {code} come here."
    if key == "translate":
        if len(values) != 1:
            raise UsageError("Translate into a two-letter language code (en, de, fr ...) or off.")
        if values[0].casefold() in ("off", "none", "no"):
            return replace(settings, translate=None), "Pieces are shown in their own language."
        code = _language_code(values[0], "off")
        if not can_translate:
            raise UsageError(NEEDS_LLM)
        return replace(settings, translate=code), (
            f"Titles and summaries in other languages now arrive translated into {code}, "
            "labelled as translations; the Original button (or /original in reply) shows them "
            "as written."
        )
    if key in ("previews", "preview"):
        value = _one_of(values, ("on", "off"), "Previews")
        return replace(settings, link_previews=value == "on"), f"Link previews are {value}."
    if key in ("full", "fulltext", "full_text"):
        value = _one_of(values, ("on", "off"), "Full text")
        said = (
            "/full posts pieces here again."
            if value == "on"
            else ("/full is off here: it answers with the piece's link instead.")
        )
        return replace(settings, full_text=value == "on"), said
    if key == "relevance":
        value = _one_of(values, ("on", "off"), "Relevance")
        said = (
            f"Relevance is on: once this chat has {MIN_VOTES} votes (👍/👎, /like, /dislike), "
            "pieces clearly closer to what it disliked than to what it liked are held back and "
            "listed in the digest or a daily note."
            if value == "on"
            else "Relevance is off: every piece the subscriptions pick comes here."
        )
        return replace(settings, relevance=value == "on"), said
    if key in ("corrections", "correction"):
        value = _one_of(values, CORRECTION_MODES, "Corrections")
        said = (
            "Posts whose piece changes at its source are now edited in place, marked updated."
            if value == "edit"
            else "Pieces that change at their source are now posted again, marked updated."
        )
        return replace(settings, corrections=value), said
    raise UsageError(f"I have no setting {clip(key, 20)!r}.")


@command(
    "settings",
    "/settings [mode instant|digest [HH:MM] [Time/Zone] | timezone <Zone> | "
    "length short|standard|long | quiet HH:MM-HH:MM|off | language xx|any | previews on|off | "
    "full on|off | translate xx|off | corrections edit|repost | relevance on|off]",
    "Show or change how this chat gets pieces",
    group="Settings",
    checks_admin=True,
    options=(
        Option(
            "setting",
            "What to change",
            choices=(
                "mode",
                "timezone",
                "length",
                "quiet",
                "language",
                "previews",
                "full",
                "translate",
                "corrections",
                "relevance",
            ),
        ),
        Option("value", "The new value, e.g. digest 08:00 Europe/Berlin"),
    ),
)
async def settings(request: Request, services: Services) -> Response:
    words = request.args.split()
    chat = await current_chat(request, services)
    if not words:
        return Response.text(describe_settings(chat))
    # Reading is for everyone; changing is for the chat's admins (and the bot's owners).
    if not (request.is_chat_admin or services.is_owner(request.user_key)):
        return Response.error("Only this chat's administrators can change its settings.")
    new, said = _change(
        chat.settings,
        words[0].casefold(),
        words[1:],
        can_translate=services.translator is not None,
    )
    await services.store.update_chat_settings(chat.id, new)
    log.info("chat %s settings: %s", chat.id, " ".join(words)[:120])
    if chat.settings.mode == "digest" and new.mode == "instant":
        # Held pieces would otherwise wait for a digest that no longer comes.
        released = await services.store.release_digest(chat.id)
        if released:
            said += f" The {released} held piece{'s' if released != 1 else ''} will be posted now."
    if (chat.settings.quiet_start, chat.settings.quiet_end) != (new.quiet_start, new.quiet_end):
        # Held posts wait for a time the old hours computed; the worker re-checks the new
        # hours when it claims them, so they go now or wait for the new end.
        released = await services.store.release_quiet_hours(chat.id)
        if released and new.quiet_start is None:
            said += f" The {released} held post{'s' if released != 1 else ''} will be posted now."
    return Response.text(said)


@command(
    "digest",
    "/digest",
    "Send this chat's held digest now",
    scope="chat_admin",
    group="Settings",
)
async def digest(request: Request, services: Services) -> Response:
    chat = await current_chat(request, services)
    # The delivery worker posts it, rendered as the daily one, and marks it sent once posted.
    held = await services.digests.request_digest(chat)
    if not held:
        note = "" if chat.settings.mode == "digest" else " (this chat gets pieces as they arrive)"
        return Response.text(f"Nothing is waiting for this chat's digest{note}.")
    return Response.text(f"Sending this chat's digest now: {plural(held, 'piece')}.")
