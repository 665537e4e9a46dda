"""Talking to the handlers as a chat would: build a Request, dispatch it, read the Response."""

from __future__ import annotations

from typing import Any

from bot.core import Core
from bot.messages import Request, Response
from handlers.router import dispatch

OWNER = "owner-1"  # console:owner-1 is an owner in the cores these tests open
OWNERS = f"console:{OWNER}"


def request(
    command: str,
    args: str = "",
    *,
    user: str = "user-1",
    chat: str = "chat-1",
    kind: str = "private",
    admin: bool | None = None,
    **extra: Any,
) -> Request:
    """A console Request; a private chat's user is its admin, as the adapters decide."""
    return Request(
        platform="console",
        chat_id=chat,
        user_id=user,
        command=command,
        args=args,
        chat_kind=kind,  # type: ignore[arg-type]
        is_chat_admin=(kind == "private") if admin is None else admin,
        **extra,
    )


async def say(core: Core, command: str, args: str = "", **kwargs: Any) -> Response:
    """Dispatch one command through the router (rights checks included)."""
    return await dispatch(request(command, args, **kwargs), core.services)


async def owner_says(core: Core, command: str, args: str = "", **kwargs: Any) -> Response:
    return await say(core, command, args, user=OWNER, **kwargs)


async def chat_of(core: Core, chat: str = "chat-1"):  # type: ignore[no-untyped-def]
    """The stored Chat for a console chat id."""
    return await core.services.store.ensure_chat("console", chat)
