"""Dispatch a Request to its handler: rights checks, argument hints, and no crashes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.errors import StorageBusy, UsageError
from bot.messages import Request, Response
from handlers.registry import lookup

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_ARGS = 1000  # longer arguments are refused before any handler sees them


async def dispatch(request: Request, services: Services) -> Response:
    spec = lookup(request.command)
    if spec is None:
        log.info("unknown command /%s from %s", request.command[:40], request.user_key)
        return Response.error(f"Unknown command /{request.command[:40]}. Send /help for the list.")
    if len(request.args) > MAX_ARGS:
        return Response.error(
            f"That is too long ({len(request.args)} characters; the limit is {MAX_ARGS})."
        )
    if spec.scope == "owner" and not services.is_owner(request.user_key):
        log.info("refused /%s for non-owner %s", spec.name, request.user_key)
        return Response.error(f"/{spec.name} is for the bot's owners only.")
    if spec.scope == "chat_admin" and not (
        request.is_chat_admin or services.is_owner(request.user_key)
    ):
        log.info("refused /%s for non-admin %s in %s", spec.name, request.user_key, request.chat_id)
        return Response.error(f"Only this chat's administrators can use /{spec.name}.")
    try:
        return await spec.handler(request, services)
    except UsageError as exc:
        # A long usage line would bury the hint: point at /help <command> instead.
        usage = spec.usage if len(spec.usage) <= 80 else f"/{spec.name} … (see /help {spec.name})"
        return Response.error(f"{exc} Usage: {usage}")
    except StorageBusy as exc:
        # Another process held the database past the busy timeout: nothing was changed.
        log.warning("/%s: database busy (%s)", spec.name, exc)
        return Response.error("The database is busy; try again in a moment.")
    except Exception:
        log.exception("handler /%s failed", spec.name)
        return Response.error("Something went wrong on our side; it has been logged.")
