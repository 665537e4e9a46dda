"""The Discord adapter: discord.py 2.x interactions in, embeds and buttons out.

It only translates. Slash commands mirror ``handlers.registry.COMMANDS``; message context
menus and persistent buttons act on the piece of one of the bot's posts; every answer comes
from ``core.handle``. Posts from the outbox go out through :class:`DiscordSender`.

Chat ids: a guild text channel is ``kind="group"`` with the channel id; a thread is
``kind="thread"`` with **the thread's own id** as chat id (``thread_id`` stays ``None``),
because on Discord a thread is a channel: messages are posted to, and context menus come
from, the thread id itself. A DM is ``kind="private"`` with the DM channel id.

The client runs as a task inside our event loop (never ``client.run()``), so the scheduler
and the Telegram adapter share the loop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord_render import (
    MESSAGE_LIMIT,
    button_label,
    choice_text,
    escape,
    piece_embed,
    sanitize_query,
    split_message,
    truncate,
)
from bot.delivery.errors import ChatGone, DeliveryError, PermanentError, RetryLater
from bot.delivery.sender import PlatformLimits
from bot.messages import (
    PIECE_ACTIONS,
    Action,
    Reply,
    Request,
    Response,
    is_piece_action,
    post_actions,
)
from bot.types import Chat, ChatKind
from handlers.registry import CommandSpec, Option, load_all

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

PLATFORM = "discord"

# Discord allows 5 message context-menu commands per app (discord.py enforces it): the piece
# actions marked ``menu`` in bot.messages are those five; "Source" is left out, since the
# embed's title already links to the source and `/source post:<link>` does the rest.
MAX_CONTEXT_MENUS = 5

# Error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_DM_USER = 50007
UNKNOWN_CHANNEL = 10003
UNKNOWN_INTERACTION = 10062
ARCHIVED_THREAD = 50083
CHAT_GONE_CODES = {
    MISSING_ACCESS: "missing access",
    MISSING_PERMISSIONS: "missing permissions",
    CANNOT_DM_USER: "cannot message this user",
    UNKNOWN_CHANNEL: "unknown channel",
    ARCHIVED_THREAD: "thread archived or locked",
}

# Discord gives 3 s to acknowledge an interaction; answers slower than this are deferred first.
DEFER_AFTER_SECONDS = 2.0
AUTOCOMPLETE_TIMEOUT = 2.5
DM_HINT_INTERVAL = 600.0  # answer a user's DMs with the slash-command hint at most this often

_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
_MESSAGE_LINK = re.compile(
    r"^https?://(?:\w+\.)?discord(?:app)?\.com/channels/(?:@me|\d+)/(\d+)/(\d+)/?$"
)
_SNOWFLAKE = re.compile(r"^\d{15,21}$")
_MAX_SNOWFLAKE = (1 << 63) - 1

# A thread is a channel on Discord; these are its types.
_THREAD_TYPES = {
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
}

NONE_MENTIONED = discord.AllowedMentions.none()


# --------------------------------------------------------------------------- rendering replies


@dataclass
class Outgoing:
    """One Discord message made from (part of) a core ``Reply``."""

    content: str | None = None
    embed: discord.Embed | None = None
    actions: tuple[Action, ...] = ()
    piece_id: int | None = None
    error: bool = False

    def view(self) -> discord.ui.View | None:
        """Buttons as a stopped view: rendered into the message but not kept in memory.

        Presses are routed by :class:`PieceButton` (a DynamicItem matched on custom_id), so
        no view needs to live in discord.py's store, and buttons keep working after a restart.
        """
        if not self.actions:
            return None
        view = discord.ui.View(timeout=None)
        for action in self.actions[:25]:
            view.add_item(PieceButton(action.command, str(action.piece_id), action.label))
        view.stop()
        return view

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for send/send_message/edit (without ephemeral)."""
        result: dict[str, Any] = {"allowed_mentions": NONE_MENTIONED}
        if self.content:
            result["content"] = self.content
        if self.embed is not None:
            result["embed"] = self.embed
        view = self.view()
        if view is not None:
            result["view"] = view
        return result


def render_reply(reply: Reply) -> list[Outgoing]:
    """A core Reply as Discord messages: text split under 2,000 characters, a card as embed."""
    piece_id = reply.piece_id or (reply.card.piece_id if reply.card else None)
    error = reply.kind == "error"
    # Every kind is split, not only "long": an over-long "info" must still be delivered whole.
    chunks = split_message(escape(reply.text), MESSAGE_LIMIT)
    actions = tuple(a for a in reply.actions if is_piece_action(a.command))
    out = [Outgoing(content=chunk, piece_id=piece_id, error=error) for chunk in chunks]
    if reply.card is not None:
        embed = piece_embed(reply.card)
        if out and len(out[-1].content or "") <= MESSAGE_LIMIT:
            out[-1].embed = embed
        else:
            out.append(Outgoing(embed=embed, piece_id=piece_id, error=error))
    if not out:
        return []
    out[-1].actions = actions
    return out


def render_response(response: Response) -> list[Outgoing]:
    return [item for reply in response.messages for item in render_reply(reply)]


# --------------------------------------------------------------------------- persistent buttons


class PieceButton(discord.ui.DynamicItem[discord.ui.Button], template=r"cb:(?P<rest>.{0,97})"):
    """A button whose custom_id names the action and the piece: ``cb:more:123``.

    Registered once with ``client.add_dynamic_items``, it is rebuilt from the custom_id of any
    press, so buttons on posts made before a restart keep working. The template is loose on
    purpose: stale or forged ids (``cb:delete:1``, ``cb:more:abc``) still reach the adapter,
    which answers "this button no longer works" instead of staying silent.
    """

    def __init__(self, action: str, piece_ref: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=button_label(label or action.title()),
                style=discord.ButtonStyle.secondary,
                custom_id=f"cb:{action}:{piece_ref}"[:100],
            )
        )
        self.action = action
        self.piece_ref = piece_ref

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PieceButton:
        action, _, piece_ref = match["rest"].partition(":")
        return cls(action, piece_ref, item.label if isinstance(item, discord.ui.Button) else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if adapter is not None:
            await adapter.on_button(interaction, self.action, self.piece_ref)


# --------------------------------------------------------------------------- the client


class _Client(discord.Client):
    """discord.Client with our event handlers; every event is passed on to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        # CommandTree's hooks are meant to be overridden; one tree per client, so replacing
        # them on the instance is the same as a subclass (mypy calls it method-assign).
        self.tree.on_error = adapter.on_tree_error  # type: ignore[method-assign]
        self.tree.interaction_check = adapter.interaction_check  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PieceButton)
        self.adapter.build_commands(self.tree)

    async def on_ready(self) -> None:
        await self.adapter.on_ready()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.adapter.on_guild_join(guild)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.adapter.on_guild_remove(guild)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.adapter.on_channel_gone(channel.id, "channel deleted")

    async def on_thread_delete(self, thread: discord.Thread) -> None:
        await self.adapter.on_channel_gone(thread.id, "thread deleted")

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)


# --------------------------------------------------------------------------- the adapter


class DiscordAdapter:
    """Runs the Discord bot for one :class:`Core`; ``start()``/``stop()`` own its lifecycle."""

    platform = PLATFORM

    def __init__(self, core: Core, *, guild_ready_timeout: float = 2.0) -> None:
        self.core = core
        self.settings = core.settings
        self.guild_ready_timeout = guild_ready_timeout
        self.defer_after = DEFER_AFTER_SECONDS
        self.client: _Client | None = None
        self.sender: DiscordSender | None = None
        self._task: asyncio.Task[None] | None = None
        self._saved_urls: tuple[str, yarl.URL] | None = None
        self._dm_hinted: dict[int, float] = {}
        self._noted_chats: set[str] = set()
        # Chats deactivated here for missing permissions; a later interaction from one of them
        # that shows the bot may post again turns it back on (see _maybe_reactivate).
        self._lost_access: set[str] = set()
        self._confirmed: set[str] = set()  # chats whose posting rights were seen this process
        self._background: set[asyncio.Task[Any]] = set()
        self.synced_to: str | None = None  # "global" or the guild id commands were synced to

    # ----------------------------------------------------------------- lifecycle

    def _token(self) -> str:
        token = self.settings.discord_bot_token
        value = token.get_secret_value().strip() if token else ""
        if not value:
            raise RuntimeError("DISCORD_BOT_TOKEN is not set")
        return value

    def _apply_urls(self) -> None:
        """Point discord.py at DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL (both process-wide)."""
        self._saved_urls = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self.settings.discord_api_base_url:
            Route.BASE = self.settings.discord_api_base_url.rstrip("/")
        if self.settings.discord_gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.discord_gateway_url)

    def _restore_urls(self) -> None:
        if self._saved_urls is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_urls
            self._saved_urls = None

    async def start(self) -> None:
        """Log in, connect the gateway as a task, sync commands, start the delivery worker."""
        token = self._token()
        self._apply_urls()
        # The bot never joins voice; discord.py would warn at start-up that PyNaCl and davey
        # (voice libraries) are missing, which only worries an operator reading the log.
        for flag in ("warn_nacl", "warn_dave"):
            if hasattr(discord.VoiceClient, flag):
                setattr(discord.VoiceClient, flag, False)
        intents = discord.Intents.none()
        intents.guilds = True  # guild join/leave, channel and thread deletes
        intents.dm_messages = True  # to answer DMs with a hint; no message-content intent
        self.client = _Client(
            self,
            intents=intents,
            allowed_mentions=NONE_MENTIONED,
            max_messages=None,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=self.guild_ready_timeout,
            # Longer 429 waits come back as RateLimited -> RetryLater for the worker to pace.
            max_ratelimit_timeout=60.0,
        )
        try:
            await self.client.login(token)
        except discord.LoginFailure:
            await self.client.close()
            self._restore_urls()
            raise RuntimeError("Discord refused DISCORD_BOT_TOKEN (login failed)") from None
        except BaseException:  # unreachable API, cancelled: close the HTTP session too
            await self.client.close()
            self._restore_urls()
            raise
        if self.core.receives_updates:
            self._task = asyncio.create_task(self._run_gateway(), name="discord-gateway")
            await self.sync_commands()
        else:  # sending goes through the REST API; the gateway is for updates
            log.info("Discord: sending only (this process's role takes no updates)")
        self.sender = DiscordSender(self)
        self.core.start_delivery(self.sender)
        log.info("Discord adapter started (application %s)", self.client.application_id)

    async def _run_gateway(self) -> None:
        """Keep the gateway connected; discord.py reconnects itself on network errors.

        An exception from discord.py's event parsing (a payload it did not expect) ends
        ``connect()``; we reconnect after a pause rather than lose Discord until a restart.
        """
        assert self.client is not None
        delay = 1.0
        while not self.client.is_closed():
            try:
                await self.client.connect(reconnect=True)
            except asyncio.CancelledError:
                raise
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
                log.error("Discord gateway refused the bot: %s", type(exc).__name__)
                return
            except Exception as exc:
                if self.client.is_closed():
                    return
                log.error(
                    "Discord gateway stopped (%s); reconnecting in %.0f s",
                    type(exc).__name__,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
            else:
                return

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the gateway is READY and the guilds have arrived (tests, health checks)."""
        assert self.client is not None
        await asyncio.wait_for(self.client.wait_until_ready(), timeout)

    def health(self) -> str | None:
        """Why Discord is not healthy, or None (the core's /healthz asks)."""
        client = self.client
        if client is None or client.is_closed():
            return "not connected"
        if not self.core.receives_updates:
            return None  # sending only: REST, no gateway
        if self._task is None or self._task.done():
            return "gateway stopped"
        if not client.is_ready():
            return "gateway not ready yet"
        if client.ws is None or not client.ws.open:
            return "gateway disconnected (reconnecting)"
        return None

    async def sync_commands(self) -> None:
        """Sync the command tree to DISCORD_GUILD_ID at once, or globally (takes up to an hour)."""
        assert self.client is not None
        tree = self.client.tree
        guild_id = self.settings.discord_guild_id
        try:
            if guild_id:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                synced = await tree.sync(guild=guild)
                self.synced_to = str(guild_id)
            else:
                synced = await tree.sync()
                self.synced_to = "global"
            log.info("synced %d Discord commands (%s)", len(synced), self.synced_to)
        except discord.HTTPException as exc:
            # A bad DISCORD_GUILD_ID or missing applications.commands scope must not stop posting.
            log.error("could not sync Discord commands: %s %s", exc.status, exc.text[:200])

    async def stop(self) -> None:
        """Stop delivery, close the connection, and restore discord.py's URLs."""
        with contextlib.suppress(Exception):
            await self.core.stop_delivery(PLATFORM)
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        for task in list(self._background):
            task.cancel()
        self._restore_urls()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ----------------------------------------------------------------- command tree

    def build_commands(self, tree: app_commands.CommandTree) -> None:
        """Slash commands from the registry, plus the message context menus."""
        commands = load_all()
        for spec in sorted(commands.values(), key=lambda s: s.name):
            if not _NAME.match(spec.name):
                log.warning("command %r is not a valid Discord command name; skipped", spec.name)
                continue
            tree.add_command(self._slash_command(spec))
        added = 0
        for action in PIECE_ACTIONS:
            label, name = action.label, action.command
            if not action.menu or name not in commands or added >= MAX_CONTEXT_MENUS:
                continue
            tree.add_command(
                app_commands.ContextMenu(name=label, callback=self._context_callback(name))
            )
            added += 1

    def _slash_command(self, spec: CommandSpec) -> app_commands.Command:
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
            options = [Option("arguments", _clip(spec.usage, 100) or "Arguments")]
        names = [_option_name(o.name) for o in options]
        adapter = self

        async def callback(interaction: discord.Interaction, **values: Any) -> None:
            await adapter.on_slash(interaction, spec, options, names, values)

        parameters = [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
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
            name: _clip(option.description, 100) or name for option, name in ordered
        }
        autocompletes = {
            name: self._autocompleter(kind)
            for option, name in ordered
            if (kind := _autocomplete_kind(spec, option)) and not option.choices
        }
        if autocompletes:
            callback.__discord_app_commands_param_autocomplete__ = autocompletes  # type: ignore[attr-defined]
        choices = {
            name: [
                app_commands.Choice(name=_clip(c, 100), value=_clip(c, 100))
                for c in option.choices[:25]
            ]
            for option, name in ordered
            if option.choices
        }
        if choices:
            callback.__discord_app_commands_param_choices__ = choices  # type: ignore[attr-defined]
        command: app_commands.Command[Any, ..., Any] = app_commands.Command(
            name=spec.name,
            description=_clip(spec.description, 100) or spec.name,
            callback=callback,
        )
        if spec.scope in ("chat_admin", "owner"):
            # Hidden from members by default; the core checks the rights again at run time.
            command.default_permissions = discord.Permissions(manage_guild=True)
        return command

    def _autocompleter(self, kind: str) -> Any:
        adapter = self

        async def autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return await adapter.autocomplete(kind, current)

        return autocomplete

    async def autocomplete(self, kind: str, current: str) -> list[app_commands.Choice[str]]:
        """Up to 25 suggestions from the core; junk input or a slow core gives none."""
        prefix = sanitize_query(current)
        try:
            found = await asyncio.wait_for(self._suggestions(kind, prefix), AUTOCOMPLETE_TIMEOUT)
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

    async def _suggestions(self, kind: str, prefix: str) -> list[str]:
        if kind != "subscription":
            return [str(v) for v in await self.core.autocomplete(kind, prefix, limit=25)]
        # /subscribe's one option reads "<source>", "author <name>" or "keyword <words>":
        # suggest in that grammar (sources first, then authors) and leave keywords free.
        word, _, rest = prefix.partition(" ")
        if word.lower() == "keyword" and _:
            return []
        if word.lower() == "author" and _:
            authors = await self.core.autocomplete("author", rest.strip(), limit=25)
            return [f"author {name}" for name in authors]
        sources = await self.core.autocomplete("source", prefix, limit=25)
        authors = await self.core.autocomplete("author", prefix, limit=25 - len(sources))
        return [str(v) for v in sources] + [f"author {name}" for name in authors]

    def _context_callback(self, command: str) -> Any:
        adapter = self

        async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
            await adapter.on_context_menu(interaction, command, message)

        return callback

    # ----------------------------------------------------------------- interactions

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse interactions from a guild the bot is no longer in (it cannot post there)."""
        if (
            interaction.guild_id
            and self.client
            and self.client.get_guild(interaction.guild_id) is None
        ):
            log.info("interaction from guild %s the bot is not in", interaction.guild_id)
            await self._say_error(
                interaction,
                "I am not a member of this server any more. Ask an admin to add me again.",
            )
            return False
        return True

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors from the command tree: bad option values, failed checks, our own bugs."""
        if isinstance(error, app_commands.CheckFailure):
            return  # interaction_check already answered
        if isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            log.info("bad options for /%s: %s", getattr(interaction.command, "name", "?"), error)
            await self._say_error(interaction, "I could not read those options; please try again.")
            return
        if isinstance(error, app_commands.CommandNotFound):
            log.info("unknown command %s (commands out of sync?)", error.name)
            await self._say_error(interaction, "I do not know that command any more.")
            return
        log.error("Discord command failed", exc_info=error)
        await self._say_error(interaction, "Something went wrong on our side; it has been logged.")

    def _request(self, interaction: discord.Interaction, command: str, args: str) -> Request:
        channel = interaction.channel
        kind = _chat_kind(channel)
        if kind == "private":
            is_admin = True  # the user is the admin of their own DM with the bot
        else:
            perms = interaction.permissions
            is_admin = bool(interaction.guild_id and (perms.manage_guild or perms.administrator))
        return Request(
            platform=PLATFORM,
            chat_id=str(interaction.channel_id),
            user_id=str(interaction.user.id),
            command=command,
            args=args,
            chat_kind=kind,
            thread_id=None,
            chat_title=_chat_title(channel),
            is_chat_admin=is_admin,
        )

    async def on_slash(
        self,
        interaction: discord.Interaction,
        spec: CommandSpec,
        options: list[Option],
        names: list[str],
        values: dict[str, Any],
    ) -> None:
        """A slash command: options back to the argument text the core parses."""
        parts: list[str] = []
        reply_to: str | None = None
        for option, name in zip(options, names, strict=True):
            value = values.get(name)
            if value is None or value == "":
                continue
            if option.kind == "int" and not _in_range(value, option):
                await self._say_error(interaction, _range_problem(name, option))
                return
            if spec.reply_action and name == "post":
                reply_to, problem = _post_reference(str(value), interaction.channel_id)
                if problem:
                    await self._say_error(interaction, problem)
                    return
                if reply_to is None:  # "#123": the core takes a piece id as the argument
                    parts.append(str(value).strip())
                continue
            parts.append(" ".join(str(value).split()))
        request = self._request(interaction, spec.name, " ".join(parts))
        request.reply_to_message_id = reply_to
        await self._run(interaction, request)

    async def on_context_menu(
        self, interaction: discord.Interaction, command: str, message: discord.Message
    ) -> None:
        """Apps > More/Full text/... on a message: acts on that post's piece."""
        me = self.client.user if self.client else None
        if me is None or message.author.id != me.id:
            await self._say_error(interaction, "That works on my posts only.")
            return
        request = self._request(interaction, command, "")
        request.reply_to_message_id = str(message.id)
        await self._run(interaction, request)

    async def on_button(
        self, interaction: discord.Interaction, action: str, piece_ref: str
    ) -> None:
        """A press on a post's button; answered privately so a busy channel is not flooded."""
        if (
            not is_piece_action(action)
            or not piece_ref.isdigit()
            or not 0 < int(piece_ref) <= _MAX_SNOWFLAKE
        ):
            log.info("stale or forged button id cb:%s:%s", action[:20], piece_ref[:20])
            await self._say_error(interaction, "This button no longer works.")
            return
        if not await self.interaction_check(interaction):
            return
        request = self._request(interaction, action, "")
        request.piece_id = int(piece_ref)
        await self._run(interaction, request, private=True)

    async def _run(
        self, interaction: discord.Interaction, request: Request, *, private: bool = False
    ) -> None:
        """Run the command; defer first if the core needs more than ~2 s (Discord allows 3)."""
        await self._maybe_reactivate(interaction, request)
        task = asyncio.create_task(self.core.handle(request))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        deferred = False
        if not done:
            try:
                await interaction.response.defer(thinking=True, ephemeral=private)
                deferred = True
            except discord.HTTPException as exc:
                self._log_interaction_failure(exc, request)
        try:
            response = await task
        except Exception:
            log.exception("core.handle failed for /%s", request.command)
            response = Response.error("Something went wrong on our side; it has been logged.")
        try:
            await self._answer(interaction, request, response, deferred=deferred, private=private)
        except discord.HTTPException as exc:
            self._log_interaction_failure(exc, request)

    async def _maybe_reactivate(self, interaction: discord.Interaction, request: Request) -> None:
        """A command from a chat the bot can post in again turns that chat back on.

        Checked once per chat per process (and again after a 50013 here), so a chat paused
        for missing permissions before a restart also comes back when an admin fixes them and
        runs a command there, as the note to the admins promises.
        """
        chat_id = request.chat_id
        lost = chat_id in self._lost_access
        if chat_id in self._confirmed and not lost:
            return
        if request.chat_kind != "private" and not _can_post(
            interaction.app_permissions, request.chat_kind
        ):
            return
        self._confirmed.add(chat_id)
        self._lost_access.discard(chat_id)
        self._noted_chats.discard(chat_id)
        if not lost and chat_id not in await self._chat_ids_with_chats([chat_id]):
            return  # not a chat yet: the handlers register it when it needs to be one
        if lost:
            log.info("Discord chat %s can be posted to again", chat_id)
        await self.core.chat_seen(PLATFORM, chat_id, request.chat_kind, title=request.chat_title)

    def _log_interaction_failure(self, exc: discord.HTTPException, request: Request) -> None:
        if getattr(exc, "code", None) == UNKNOWN_INTERACTION:
            # Answered too late (or twice); retrying cannot help: the token is dead.
            log.warning(
                "Discord interaction for /%s expired before it was answered", request.command
            )
        else:
            log.error("could not answer /%s: %s %s", request.command, exc.status, exc.text[:200])

    async def _answer(
        self,
        interaction: discord.Interaction,
        request: Request,
        response: Response,
        *,
        deferred: bool,
        private: bool,
    ) -> None:
        outgoing = render_response(response) or [Outgoing(content="Done.", error=response.is_error)]
        sent: list[tuple[str, int | None]] = []
        first = outgoing[0]
        rest = outgoing[1:]
        # ``private``: how the interaction was deferred; a private response (a read-later
        # list) is for the asker's eyes only, wherever it was asked.
        hidden = private or response.private
        first_private = hidden or first.error
        if not deferred:
            result = await interaction.response.send_message(
                ephemeral=first_private, **first.kwargs()
            )
            if not first_private and result is not None and result.message_id:
                sent.append((str(result.message_id), first.piece_id))
        elif first_private and not private:
            # A public "thinking…" placeholder cannot turn private: drop it, say it privately.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
            await interaction.followup.send(ephemeral=True, **first.kwargs())
        else:
            message = await interaction.edit_original_response(**_edit_kwargs(first))
            if not hidden:
                sent.append((str(message.id), first.piece_id))
        for item in rest:
            is_private = hidden or item.error
            followup = await interaction.followup.send(
                wait=True, ephemeral=is_private, **item.kwargs()
            )
            if not is_private and followup is not None:
                sent.append((str(followup.id), item.piece_id))
        if sent:
            try:
                await self.core.record_messages(PLATFORM, request.chat_id, sent)
            except Exception:
                log.exception("could not record Discord message ids")

    async def _say_error(self, interaction: discord.Interaction, text: str) -> None:
        """An ephemeral error that works whether or not the interaction was answered yet."""
        content = escape(text)[:MESSAGE_LIMIT]
        try:
            if interaction.type == discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])
            elif interaction.response.is_done():
                await interaction.followup.send(
                    content, ephemeral=True, allowed_mentions=NONE_MENTIONED
                )
            else:
                await interaction.response.send_message(
                    content, ephemeral=True, allowed_mentions=NONE_MENTIONED
                )
        except discord.HTTPException as exc:
            if exc.code == UNKNOWN_INTERACTION:
                log.warning("Discord interaction expired before the error was shown")
            else:
                log.error("could not answer an interaction: %s %s", exc.status, exc.text[:200])

    # ----------------------------------------------------------------- gateway events

    async def on_ready(self) -> None:
        assert self.client is not None
        log.info("Discord gateway ready in %d guild(s)", len(self.client.guilds))

    async def _chat_ids_with_chats(self, ids: list[str]) -> set[str]:
        """Which of these channel ids are chats the core knows (active or not)."""
        if not ids:
            return set()
        try:
            return set(await self.core.known_chat_ids(PLATFORM, ids))
        except Exception:
            log.exception("could not look up Discord chats")
            return set()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a guild (again): its channels that were chats become active again."""
        channels: dict[str, Any] = {str(c.id): c for c in guild.channels}
        channels.update({str(t.id): t for t in guild.threads})
        for chat_id in await self._chat_ids_with_chats(list(channels)):
            channel = channels[chat_id]
            await self.core.chat_seen(
                PLATFORM, chat_id, _chat_kind(channel), title=_chat_title(channel)
            )
        log.info("joined Discord guild %s", guild.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a guild: its chats become inactive (subscriptions are kept)."""
        ids = [str(c.id) for c in guild.channels] + [str(t.id) for t in guild.threads]
        self._confirmed.difference_update(ids)
        for chat_id in await self._chat_ids_with_chats(ids):
            await self.core.chat_gone(PLATFORM, chat_id, "removed from the server")
        log.info("left Discord guild %s", guild.id)

    async def on_channel_gone(self, channel_id: int, reason: str) -> None:
        chat_id = str(channel_id)
        self._confirmed.discard(chat_id)
        if chat_id in await self._chat_ids_with_chats([chat_id]):
            await self.core.chat_gone(PLATFORM, chat_id, reason)

    async def on_message(self, message: discord.Message) -> None:
        """DMs to the bot get a hint; guild messages are not read (no message-content intent)."""
        if message.author.bot or message.guild is not None:
            return
        now = time.monotonic()
        last = self._dm_hinted.get(message.author.id)
        if last is not None and now - last < DM_HINT_INTERVAL:
            return
        self._dm_hinted[message.author.id] = now
        try:
            await message.channel.send(
                "I work with slash commands: type / to see them, or try /help.",
                allowed_mentions=NONE_MENTIONED,
            )
        except discord.HTTPException as exc:
            log.info("could not answer a DM: %s", exc.status)

    # ----------------------------------------------------------------- admin notes

    def note_lost_access(self, chat_id: str, reason: str) -> None:
        """Tell the server's admins (system channel) once that posting to a channel stopped."""
        self._lost_access.add(chat_id)
        self._confirmed.discard(chat_id)
        if self.client is None or chat_id in self._noted_chats or not chat_id.isdigit():
            return
        channel = self.client.get_channel(int(chat_id))
        guild = getattr(channel, "guild", None)
        target = getattr(guild, "system_channel", None)
        if target is None or target.id == int(chat_id):
            return
        self._noted_chats.add(chat_id)
        name = getattr(channel, "name", chat_id)
        text = (
            f"I can no longer post in #{escape(name)} ({reason}), so its subscriptions are "
            "paused. Give me View Channel, Send Messages and Embed Links there, then run a "
            "command in that channel to start them again."
        )
        self._spawn(self._send_note(target, text))

    async def _send_note(self, target: Any, text: str) -> None:
        try:
            await target.send(text, allowed_mentions=NONE_MENTIONED)
        except discord.HTTPException as exc:
            log.info("could not send the admin note: %s", exc.status)


# --------------------------------------------------------------------------- the sender


class DiscordSender:
    """Sends outbox posts to Discord channels and threads (the core's worker paces it)."""

    platform = PLATFORM
    # Discord: ~50 requests/s per bot and 5 messages per 5 s per channel. Kept under both.
    limits = PlatformLimits(
        global_per_second=40.0, per_chat_per_second=1.0, per_group_per_minute=60.0
    )

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter

    def health(self) -> str | None:
        return self.adapter.health()

    async def send_post(self, chat: Chat, post: Reply) -> str:
        """Send one post; returns the id of the message that carries the piece."""
        client = self.adapter.client
        if client is None or client.is_closed():
            raise DeliveryError("Discord client is not running")
        target = chat.platform_chat_id
        if not target.isdigit() or not 0 < int(target) <= _MAX_SNOWFLAKE:
            raise ChatGone(f"invalid Discord channel id {target[:30]!r}")
        if post.card is not None and not post.actions:
            card = post.card
            actions = post_actions(card.piece_id, has_author=bool(card.authors))
            post = dataclasses.replace(post, actions=actions)
        channel = client.get_partial_messageable(int(target))
        outgoing = render_reply(post)
        if not outgoing:
            raise PermanentError("empty post")
        carrier: str | None = None
        for index, item in enumerate(outgoing):
            try:
                message = await channel.send(**item.kwargs())
            except Exception as exc:
                error = self._translate(exc, chat)
                if carrier is not None or index > 0:
                    # Part of the post is out: resending would duplicate it, so stop here.
                    log.warning("Discord post to %s cut short: %s", target, error)
                    break
                raise error from None
            if carrier is None or item.embed is not None:
                carrier = str(message.id)
        assert carrier is not None
        return carrier

    def _translate(self, exc: Exception, chat: Chat) -> DeliveryError:
        if isinstance(exc, discord.RateLimited):
            return RetryLater(exc.retry_after)
        if isinstance(exc, discord.HTTPException):
            code = exc.code
            if code in CHAT_GONE_CODES:
                reason = f"Discord {code}: {CHAT_GONE_CODES[code]}"
                if code in (MISSING_PERMISSIONS, MISSING_ACCESS):
                    self.adapter.note_lost_access(chat.platform_chat_id, CHAT_GONE_CODES[code])
                return ChatGone(reason)
            if exc.status == 404:
                return ChatGone(f"Discord 404 ({code})")
            if exc.status >= 500:
                return DeliveryError(f"Discord server error {exc.status}")
            if exc.status == 429:
                return RetryLater(5.0)
            return PermanentError(
                f"Discord refused the message: {exc.status} {code} {exc.text[:200]}"
            )
        if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
            return DeliveryError(f"network error: {type(exc).__name__}")
        return DeliveryError(f"unexpected {type(exc).__name__}")


# --------------------------------------------------------------------------- helpers


def _can_post(perms: discord.Permissions, kind: str) -> bool:
    """Whether the bot may post embeds in a channel (or thread) with these permissions."""
    sends = perms.send_messages_in_threads if kind == "thread" else perms.send_messages
    return bool(perms.view_channel and sends and perms.embed_links)


def _chat_kind(channel: Any) -> ChatKind:
    channel_type = getattr(channel, "type", None)
    if channel_type == discord.ChannelType.private:
        return "private"
    if channel_type in _THREAD_TYPES:
        return "thread"
    return "group"


def _chat_title(channel: Any) -> str | None:
    name = getattr(channel, "name", None)
    guild = getattr(channel, "guild", None)
    if name and guild is not None and getattr(guild, "name", None):
        return f"{guild.name} #{name}"
    return name or None


def _clip(text: str | None, limit: int) -> str:
    return truncate(" ".join((text or "").split()), limit)


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


def _autocomplete_kind(spec: CommandSpec, option: Option) -> str | None:
    if option.kind in ("source", "author"):
        return option.kind
    if option.kind == "subscription":
        return "subscription"
    return None


def _in_range(value: Any, option: Option) -> bool:
    # Discord checks ranges in its client; a crafted interaction may not have been checked.
    if not isinstance(value, int):
        return False
    if option.min_value is not None and value < option.min_value:
        return False
    return not (option.max_value is not None and value > option.max_value)


def _range_problem(name: str, option: Option) -> str:
    low, high = option.min_value, option.max_value
    if low is not None and high is not None:
        return f"{name} must be between {low} and {high}."
    if low is not None:
        return f"{name} must be at least {low}."
    if high is not None:
        return f"{name} must be at most {high}."
    return f"{name} must be a whole number."


def _post_reference(value: str, channel_id: int | None) -> tuple[str | None, str | None]:
    """A message link or id -> (message id, None); "#123" -> (None, None); else a problem."""
    value = value.strip()
    if value.lstrip("#").isdigit() and value.startswith("#"):
        return None, None
    match = _MESSAGE_LINK.match(value)
    if match:
        if channel_id is not None and match[1] != str(channel_id):
            return None, "Use this in the channel of that post (the link points elsewhere)."
        return match[2], None
    if _SNOWFLAKE.match(value) and int(value) <= _MAX_SNOWFLAKE:
        return value, None
    return None, "Give the link of one of my posts (right-click it > Copy Message Link)."


def _edit_kwargs(item: Outgoing) -> dict[str, Any]:
    kwargs = item.kwargs()
    # An edit keeps fields it is not given; say "no embed"/"no text" explicitly.
    kwargs.setdefault("content", None)
    kwargs.setdefault("embed", None)
    return kwargs
