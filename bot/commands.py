"""What a chat command is, as adapters see it: name, usage, who may run it, its options.

The handlers fill a table of these (``handlers.registry``); the composition root (``bot.app``)
hands that table to the adapters, which build their menus from it (Telegram setMyCommands,
Discord slash commands) and ask it which commands need the caller's admin rights. So the
adapters read commands without importing ``handlers``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
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


class CommandTable(Mapping[str, CommandSpec]):
    """The commands by name (in menu order), and the aliases that resolve to them."""

    def __init__(
        self, commands: Mapping[str, CommandSpec], aliases: Mapping[str, str] | None = None
    ) -> None:
        self._commands = dict(commands)
        self._aliases = dict(aliases or {})

    def lookup(self, name: str) -> CommandSpec | None:
        """The command called ``name`` or one of its aliases; None for an unknown name."""
        return self._commands.get(self._aliases.get(name, name))

    def __getitem__(self, name: str) -> CommandSpec:
        return self._commands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)
