"""The composition root and the running bot: the core wired to the handlers, sources from
config, the demo source, the platforms, and clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

import bot.demo
from bot.adapters.console import CHAT_ID, ConsoleAdapter
from bot.config import Settings
from bot.core import ROLES, Core, SourceSpec
from bot.durations import check_source_interval, parse_duration
from bot.errors import ConfigError
from bot.logs import install_redaction
from bot.types import source_kind
from handlers.registry import command_table, load_all
from handlers.router import dispatch
from storage.runlock import exclusive_run

if TYPE_CHECKING:
    from bot.endpoint import OpsEndpoint
    from bot.sources.http import Fetcher

log = logging.getLogger(__name__)

WARM_UP_AFTER = 2.0  # seconds after the terminal chat starts reading

DEMO_SOURCE = "demo"
DEMO_OFFERED_KEY = "demo.offered"
DRAIN_SECONDS = 5.0
LOCAL_FIRST_ROUND_SECONDS = 30.0  # reading and summarizing the bundled demo feed, at most


def demo_feed_url() -> str:
    return (Path(bot.demo.__file__).parent / "feed.xml").resolve().as_uri()


def read_sources_file(path: Path) -> list[SourceSpec]:
    """``[[source]]`` tables with name, url, interval, kind, selector; errors name the line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    items = data.get("source", [])
    if not isinstance(items, list):
        raise ConfigError(f"{path}: 'source' must be an array of tables ([[source]])")
    found = []
    for number, item in enumerate(items, 1):
        where = f"{path}: source #{number}"
        if not isinstance(item, dict) or not item.get("url") or not item.get("name"):
            raise ConfigError(f"{where}: needs both name and url")
        try:
            kind = source_kind(item.get("kind", "feed"))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            interval = parse_duration(str(item.get("interval", "30m")))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            check_source_interval(interval)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        found.append(
            SourceSpec(str(item["name"]), str(item["url"]), kind, interval, item.get("selector"))
        )
    return found


async def import_configured_sources(core: Core, path: Path | None) -> int:
    """The sources of COMMENTARY_SOURCES: added, or updated where the file changed them."""
    if path is None:
        return 0
    report = await core.import_sources(
        read_sources_file(Path(path)), added_by="config", update_existing=True
    )
    return len(report.added)


async def ensure_demo_source(core: Core) -> bool:
    """Add the bundled demo feed when asked to, or once to a database that follows nothing.

    With ``COMMENTARY_DEMO=auto`` the demo is a newcomer's first look: it is offered once,
    never comes back after an owner removed it, and steps aside (removed, its pieces kept)
    when the operator's first real source arrives.
    """
    wanted = core.settings.commentary_demo
    if wanted is False:
        return False
    store = core.services.store
    demo = await core.source(DEMO_SOURCE)
    if wanted is True:
        if demo is None:
            await _add_demo(core)
        return True
    if demo is not None and demo.added_by != "demo":
        return True  # the operator's own source that happens to be called "demo"
    others = [s for s in await core.sources() if s.name.casefold() != DEMO_SOURCE]
    if demo is not None:
        if not others:
            return True
        await core.remove_source(DEMO_SOURCE)
        log.info("demo source removed: the bot follows real sources now")
        return False
    if others or await store.get_value(DEMO_OFFERED_KEY):
        return False
    await _add_demo(core)
    return True


async def _add_demo(core: Core) -> None:
    demo = SourceSpec(DEMO_SOURCE, demo_feed_url(), "feed", 1800)
    await core.import_sources([demo], added_by="demo")
    await core.services.store.set_value(DEMO_OFFERED_KEY, "1")


async def prepare(core: Core) -> None:
    await import_configured_sources(core, core.settings.commentary_sources)
    await ensure_demo_source(core)


@asynccontextmanager
async def open_core(
    settings: Settings, *, fetcher: Fetcher | None = None, service: bool = False
) -> AsyncIterator[Core]:
    """The composition root: a ``Core`` whose chat commands are answered by ``handlers``.

    ``service``: the long-running bot on its platforms (see ``Settings.extract_processes``).
    """
    load_all()
    async with Core.open(settings, fetcher=fetcher, dispatch=dispatch, service=service) as core:
        yield core


@asynccontextmanager
async def _sole_bot(settings: Settings) -> AsyncIterator[None]:
    """Refuse to start beside another bot on the same SQLite file (before anything is reset).

    PostgreSQL is the mode for several processes: no lock there.
    """
    location = settings.commentary_database
    if not isinstance(location, Path):
        yield
        return
    with exclusive_run(location):
        yield


async def run_bot(
    settings: Settings,
    *,
    console: bool = False,
    role: str = "all",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Core, OpsEndpoint | None], None] | None = None,
) -> int:
    """Run until Ctrl-C/SIGTERM (platforms), end of input (terminal chat) or ``stop`` is set.

    ``on_ready`` is called once the platforms (or the terminal chat) and the endpoint run.
    """
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role in ("deliver", "chat") and not settings.platforms:
        raise ConfigError(f"--role {role} needs TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN")
    # The terminal chat (no platform configured, or --console) is a short session; the bot on
    # its platforms, or polling alone, runs for days: extraction moves to worker processes.
    service = not console and (role == "ingest" or bool(settings.platforms))
    async with _sole_bot(settings), open_core(settings, service=service) as core:
        core.roles = ROLES[role]
        log.info("database %s", settings.commentary_database)
        if role in ("all", "ingest"):
            await prepare(core)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        endpoint = None
        if settings.commentary_http_port is not None:
            from bot.endpoint import OpsEndpoint  # aiohttp: only when the endpoint is on

            endpoint = OpsEndpoint(
                core, settings.commentary_http_host, settings.commentary_http_port
            )
            try:
                await endpoint.start()
            except OSError as exc:
                raise ConfigError(str(exc)) from None
        await core.record_start()
        try:
            return await _run(core, settings, console, stdin, stdout, stop, endpoint, on_ready)
        finally:
            if endpoint is not None:
                await endpoint.stop()
            with contextlib.suppress(Exception):
                await core.record_stop()


async def _run(
    core: Core,
    settings: Settings,
    console: bool,
    stdin: TextIO | None,
    stdout: TextIO | None,
    stop: asyncio.Event,
    endpoint: OpsEndpoint | None,
    on_ready: Callable[[Core, OpsEndpoint | None], None] | None,
) -> int:
    platforms = [] if console else settings.platforms
    ready = (lambda: on_ready(core, endpoint)) if on_ready else (lambda: None)
    if core.roles == ROLES["ingest"]:
        return await _run_ingest_only(core, stop, ready)
    if not platforms:
        return await _run_console(core, stop, stdin or sys.stdin, stdout or sys.stdout, ready)
    adapters = []
    try:
        for platform in platforms:
            try:
                adapters.append(await _start_platform(core, platform))
            except Exception as exc:  # a refused token, an unreachable API: one line
                message = install_redaction(settings.secrets).redact(
                    str(exc) or exc.__class__.__name__
                )
                raise ConfigError(f"{platform} did not start: {message}") from None
        core.warm_up_extraction()  # extraction libraries load in the background
        await core.start_polling()
        log.info("running on %s; Ctrl-C stops", ", ".join(platforms))
        ready()
        await stop.wait()
    finally:
        for adapter in reversed(adapters):
            with contextlib.suppress(Exception):
                await adapter.stop()
    log.info("stopped cleanly")
    return 0


async def _run_ingest_only(core: Core, stop: asyncio.Event, ready: Callable[[], None]) -> int:
    """Role ingest: poll sources (leased, on a shared database) and write the outbox; no chat."""
    await core.start_polling()
    log.info("polling sources (role ingest); Ctrl-C stops")
    ready()
    await stop.wait()
    log.info("stopped cleanly")
    return 0


class PlatformAdapter(Protocol):
    """What running a platform needs of its adapter: start and stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def _start_platform(core: Core, platform: str) -> PlatformAdapter:
    # The one place adapters get the command table: they build menus from it but never
    # import handlers (the core answers each command through the dispatch given above).
    commands = command_table()
    adapter: PlatformAdapter
    if platform == "telegram":
        from bot.adapters.telegram import TelegramAdapter

        adapter = TelegramAdapter(core, commands)
    else:
        from bot.adapters.discord import DiscordAdapter

        adapter = DiscordAdapter(core, commands)
    await adapter.start()
    return adapter


async def _run_console(
    core: Core,
    stop: asyncio.Event,
    stdin: TextIO,
    stdout: TextIO,
    ready: Callable[[], None] = lambda: None,
) -> int:
    explicit = "commentary_log_level" in core.settings.model_fields_set
    if not explicit and logging.getLogger().level < logging.WARNING:
        # The terminal is the chat: routine INFO lines would interleave with the answers.
        logging.getLogger().setLevel(logging.WARNING)
    console = ConsoleAdapter(core, stdin=stdin, stdout=stdout)
    chat = await console.chat()
    if await core.first_run("console.initialized"):
        await core.follow(chat, DEMO_SOURCE, created_by="console")
    interactive = stdin.isatty()
    if interactive:
        stdout.write(
            "commentary-bot terminal chat. Type /help for commands, /latest for the newest "
            "pieces; reply to a post with '> /more'. /quit, Ctrl-D or Ctrl-C quits.\n"
            f"Database: {core.settings.commentary_database}\n"
        )
    # Never-polled sources start their first round in the background: a source that hangs
    # never holds up an answer. Sources read from disk (the bundled demo) cannot hang, so
    # their first round is awaited: a newcomer's first post comes before the prompt.
    # Otherwise polling starts once the first command is answered (or after half a second
    # without one): loading the polling libraries would delay that answer, and nothing
    # before it needs them.
    start_polling = None
    if await core.local_first_rounds():
        await core.start_polling()
        await core.wait_local_first_rounds(timeout=LOCAL_FIRST_ROUND_SECONDS)
    else:
        start_polling = core.start_polling
    worker = core.start_delivery(console.sender)
    assert worker is not None  # the terminal chat runs with every role
    await worker.flush(timeout=5.0)
    reader = asyncio.create_task(console.run(interactive=interactive, after_first=start_polling))
    # The extraction libraries load in the background once the first command had its turn.
    warm_up = asyncio.get_running_loop().call_later(WARM_UP_AFTER, core.warm_up_extraction)
    ready()
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
    warm_up.cancel()  # input ended before the warm-up: nothing left to warm
    if reader.done():
        reader.result()
        await core.stop_delivery("console", drain_seconds=DRAIN_SECONDS)
    else:
        reader.cancel()
        await core.stop_delivery("console")
    stopper.cancel()
    log.debug("terminal chat %s closed", CHAT_ID)
    return 0
