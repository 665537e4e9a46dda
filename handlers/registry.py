"""Every command the bot knows: name, usage, who may run it, and its handler.

Adapters read ``COMMANDS`` to build their menus (Telegram setMyCommands, Discord slash
commands); ``/help`` prints it. Handler modules register themselves with ``@command``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.messages import Request, Response

if TYPE_CHECKING:
    from bot.services import Services

Handler = Callable[[Request, "Services"], Awaitable[Response]]
Scope = Literal["anyone", "chat_admin", "owner"]


@dataclass(frozen=True)
class Option:
    """One argument, so platforms with typed options (Discord) can offer it."""

    name: str
    description: str
    # "subscription": <source> | author <name> | keyword <words> (suggested in that grammar)
    kind: Literal["text", "int", "source", "author", "subscription"] = "text"
    required: bool = False
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    description: str
    handler: Handler
    scope: Scope = "anyone"
    reply_action: bool = False  # acts on the piece of the replied-to post
    options: tuple[Option, ...] = field(default_factory=tuple)
    group: str = "Reading"
    # Open to anyone, but the handler decides some of it by the caller's admin rights
    # (reading /settings is for all, changing them for admins).
    checks_admin: bool = False

    @property
    def needs_admin_rights(self) -> bool:
        """Whether adapters must look up if the caller administers the chat."""
        return self.scope == "chat_admin" or self.checks_admin


COMMANDS: dict[str, CommandSpec] = {}
ALIASES: dict[str, str] = {}


def command(
    name: str,
    usage: str,
    description: str,
    *,
    scope: Scope = "anyone",
    reply_action: bool = False,
    options: tuple[Option, ...] = (),
    group: str = "Reading",
    aliases: tuple[str, ...] = (),
    checks_admin: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name``."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = CommandSpec(
            name, usage, description, handler, scope, reply_action, options, group, checks_admin
        )
        for alias in aliases:
            ALIASES[alias] = name
        return handler

    return register


def lookup(name: str) -> CommandSpec | None:
    load_all()
    return COMMANDS.get(ALIASES.get(name, name))


def load_all() -> dict[str, CommandSpec]:
    """Import the handler modules (they register themselves) and return the registry."""
    # Always import (Python caches modules): a caller that imported one handler module first
    # must not leave the others unregistered.
    # One module per /help group, imported in that order (menus list commands as registered).
    from handlers import (  # noqa: F401, I001
        reading,
        replies,
        saved,
        subscriptions,
        why,
        settings,
        owners,
    )

    return COMMANDS
