"""Every command the bot knows: name, usage, who may run it, and its handler.

Handler modules register themselves with ``@command``; ``/help`` prints the table, and the
composition root (``bot.app``) hands it to the adapters as a ``bot.commands.CommandTable``
for their menus (Telegram setMyCommands, Discord slash commands).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.commands import CommandSpec, CommandTable, Handler, Option, Scope

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
        votes,
        subscriptions,
        why,
        settings,
        owners,
    )

    return COMMANDS


def command_table() -> CommandTable:
    """Every command and alias, loaded, as the table adapters build their menus from."""
    return CommandTable(load_all(), ALIASES)


__all__ = [
    "ALIASES",
    "COMMANDS",
    "CommandSpec",
    "CommandTable",
    "Handler",
    "Option",
    "Scope",
    "command",
    "command_table",
    "load_all",
    "lookup",
]
