"""How every adapter calls the core from an update: a failure is logged, never raised.

An update handler that raises would lose the chat's answer (or, in PTB and discord.py, only
reach a generic error hook), so adapters go through these two. Platform-neutral.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from bot.messages import Request, Response

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

T = TypeVar("T")

OOPS = "Something went wrong on our side; it has been logged."


async def answer(core: Core, request: Request) -> Response:
    """The core's response to a request; a short error reply when the core fails."""
    try:
        return await core.handle(request)
    except Exception:
        log.exception("core.handle failed for /%s", request.command)
        return Response.error(OOPS)


async def safely(call: Awaitable[T]) -> T | None:
    """Await a core call (chat seen, gone, messages recorded); log a failure, return None."""
    try:
        return await call
    except Exception:
        log.exception("core call failed")
        return None
