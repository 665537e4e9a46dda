"""Discord's side of the command table: slash commands with typed options, autocomplete, the
message context menus for piece actions, and syncing them to Discord.

Each command's callback is built at run time from the table (given by the composition root),
and hands the interaction to :class:`~bot.adapters.discord.interactions.Interactions`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.adapters.discord.rendering import choice_text, sanitize_query, truncate
from bot.commands import CommandSpec, CommandTable, Option
from bot.messages import PIECE_ACTIONS

if TYPE_CHECKING:
    from bot.adapters.discord.interactions import Interactions
    from bot.core import Core

log = logging.getLogger(__name__)

# Discord allows 5 message context-menu commands per app (discord.py enforces it): the piece
# actions marked ``menu`` in bot.messages are those five; "Source" is left out, since the
# embed's title already links to the source and `/source post:<link>` does the rest.
MAX_CONTEXT_MENUS = 5
AUTOCOMPLETE_TIMEOUT = 2.5

_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def clip(text: str | None, limit: int) -> str:
    """One line of at most ``limit`` characters (descriptions, choices)."""
    return truncate(" ".join((text or "").split()), limit)


def build_commands(
    tree: app_commands.CommandTree, commands: CommandTable, interactions: Interactions, core: Core
) -> None:
    """Slash commands from the table, plus the message context menus."""
    for spec in sorted(commands.values(), key=lambda s: s.name):
        if not _NAME.match(spec.name):
            log.warning("command %r is not a valid Discord command name; skipped", spec.name)
            continue
        tree.add_command(_slash_command(spec, interactions, core))
    added = 0
    for action in PIECE_ACTIONS:
        label, name = action.label, action.command
        if not action.menu or name not in commands or added >= MAX_CONTEXT_MENUS:
            continue
        tree.add_command(
            app_commands.ContextMenu(name=label, callback=_context_callback(interactions, name))
        )
        added += 1


async def sync_commands(tree: app_commands.CommandTree, guild_id: int | None) -> str | None:
    """Sync to ``guild_id`` at once, or globally (takes up to an hour); where, or None."""
    try:
        if guild_id:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            where = str(guild_id)
        else:
            synced = await tree.sync()
            where = "global"
    except discord.HTTPException as exc:
        # A bad DISCORD_GUILD_ID or missing applications.commands scope must not stop posting.
        log.error("could not sync Discord commands: %s %s", exc.status, exc.text[:200])
        return None
    log.info("synced %d Discord commands (%s)", len(synced), where)
    return where


def _slash_command(spec: CommandSpec, interactions: Interactions, core: Core) -> Any:
    options = list(spec.options)
    if spec.reply_action:
        # There is no "reply" to a slash command: name the post by link (or #piece id).
        options = [
            Option(
                "post",
                "Link or ID of one of my posts (right-click it > Copy Message Link)",
                required=True,
            )
        ]
    elif not options and _takes_arguments(spec.usage):
        options = [Option("arguments", clip(spec.usage, 100) or "Arguments")]
    names = [_option_name(o.name) for o in options]

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await interactions.on_slash(interaction, spec, options, names, values)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    # Required options must come first on Discord (and in a Python signature).
    ordered = sorted(zip(options, names, strict=True), key=lambda pair: not pair[0].required)
    for option, name in ordered:
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    # discord.py reads a command's options from these attributes of its callback (what its
    # decorators set); the callback is built at run time, so mypy cannot know them.
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        name: clip(option.description, 100) or name for option, name in ordered
    }
    autocompletes = {
        name: _autocompleter(core, kind)
        for option, name in ordered
        if (kind := _autocomplete_kind(option)) and not option.choices
    }
    if autocompletes:
        callback.__discord_app_commands_param_autocomplete__ = autocompletes  # type: ignore[attr-defined]
    choices = {
        name: [
            app_commands.Choice(name=clip(c, 100), value=clip(c, 100)) for c in option.choices[:25]
        ]
        for option, name in ordered
        if option.choices
    }
    if choices:
        callback.__discord_app_commands_param_choices__ = choices  # type: ignore[attr-defined]
    command: app_commands.Command[Any, ..., Any] = app_commands.Command(
        name=spec.name, description=clip(spec.description, 100) or spec.name, callback=callback
    )
    if spec.scope in ("chat_admin", "owner"):
        # Hidden from members by default; the core checks the rights again at run time.
        command.default_permissions = discord.Permissions(manage_guild=True)
    return command


def _context_callback(interactions: Interactions, command: str) -> Any:
    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await interactions.on_context_menu(interaction, command, message)

    return callback


def _autocompleter(core: Core, kind: str) -> Any:
    async def autocomplete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await suggest(core, kind, current)

    return autocomplete


async def suggest(core: Core, kind: str, current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 suggestions from the core; junk input or a slow core gives none."""
    prefix = sanitize_query(current)
    try:
        found = await asyncio.wait_for(_suggestions(core, kind, prefix), AUTOCOMPLETE_TIMEOUT)
    except Exception:
        log.warning("autocomplete %s for %r failed", kind, prefix[:40], exc_info=True)
        return []
    choices = []
    seen = set()
    for value in found[:25]:
        text = choice_text(str(value))
        if text and text not in seen:
            seen.add(text)
            choices.append(app_commands.Choice(name=text, value=text))
    return choices


async def _suggestions(core: Core, kind: str, prefix: str) -> list[str]:
    if kind != "subscription":
        return [str(v) for v in await core.autocomplete(kind, prefix, limit=25)]
    # /subscribe's one option reads "<source>", "author <name>" or "keyword <words>":
    # suggest in that grammar (sources first, then authors) and leave keywords free.
    word, _, rest = prefix.partition(" ")
    if word.lower() == "keyword" and _:
        return []
    if word.lower() == "author" and _:
        authors = await core.autocomplete("author", rest.strip(), limit=25)
        return [f"author {name}" for name in authors]
    sources = await core.autocomplete("source", prefix, limit=25)
    authors = await core.autocomplete("author", prefix, limit=25 - len(sources))
    return [str(v) for v in sources] + [f"author {name}" for name in authors]


def _option_name(name: str) -> str:
    cleaned = re.sub(r"[^-_a-z0-9]", "_", name.lower())[:32]
    return cleaned or "value"


def _takes_arguments(usage: str) -> bool:
    """Whether a usage line like "/help [command]" names anything after the command."""
    words = usage.split()
    return len(words) > 1 and not usage.strip().endswith("(reply)")


def _annotation(option: Option) -> Any:
    if option.kind == "int":
        low = option.min_value if option.min_value is not None else -(2**53)
        high = option.max_value if option.max_value is not None else 2**53
        annotation: Any = app_commands.Range[int, low, high]
    else:
        annotation = app_commands.Range[str, 1, 1000]
    return annotation if option.required else annotation | None


def _autocomplete_kind(option: Option) -> str | None:
    if option.kind in ("source", "author", "subscription"):
        return option.kind
    return None
