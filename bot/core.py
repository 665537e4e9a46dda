"""The facade: every operation the command line, the adapters and the handlers need.

As in reader's ``Reader``, the parts stay private: the storage, the scheduler, the fetcher
and the article builder. Handlers get ``core.services`` (the ``Services`` Protocol); which
function answers a ``Request`` is wired in by the composition root (``bot.app``), so this
module imports no handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.delivery.worker import DeliveryWorker, Election, digest_request_key
from bot.errors import AlreadyExists, SourceExists
from bot.logs import install_redaction
from bot.messages import PieceCard, Request, Response, card_for
from bot.metrics import Metrics
from bot.services import (
    AddSourceReport,
    CoreServices,
    ImportReport,
    PollReport,
    RateLimiter,
    RemovedSource,
    Services,
)
from bot.status import STARTED_KEY, STOPPED_KEY, StatusReport, collect_status
from bot.translation import Translator
from bot.types import Chat, ChatKind, ChatSettings, Piece, PieceDraft, Source, SourceKind
from storage import Storage, open_store

if TYPE_CHECKING:
    from bot.ingest.articles import ArticleBuilder
    from bot.ingest.scheduler import SourceScheduler
    from bot.pipeline.llm import LLMSummarizer
    from bot.sources.http import Fetcher

log = logging.getLogger(__name__)

# ``run --role``: all = every job; ingest = poll sources; deliver = send posts (one sender per
# bot token, others stand by); chat = answer commands (Telegram webhook replicas, one poller).
ROLES: dict[str, frozenset[str]] = {
    "all": frozenset({"ingest", "deliver", "chat"}),
    "ingest": frozenset({"ingest"}),
    "deliver": frozenset({"deliver"}),
    "chat": frozenset({"chat"}),
}
ALL_ROLES = ROLES["all"]

DB_HEALTH_TIMEOUT = 2.0  # seconds; a database slower than this to answer a ping is unhealthy

Dispatch = Callable[[Request, Services], Awaitable[Response]]


@dataclass
class SourceSpec:
    """A source as a file lists it (config TOML, OPML): nothing fetched yet."""

    name: str
    url: str
    kind: SourceKind = "feed"
    interval_seconds: int | None = None
    selector: str | None = None


@dataclass
class _Ingest:
    """What polling and /summary need: made at first use. Their libraries (httpx, lxml, feed
    parsing, APScheduler) cost more start-up than the rest of a command's path, so a command
    that needs none of them (the terminal chat's first /help) does not wait on them."""

    fetcher: Fetcher
    builder: ArticleBuilder
    scheduler: SourceScheduler


class _LazySummarizer:
    """``services.summarizer``: the article builder, made when /summary first asks."""

    def __init__(self, core: Core) -> None:
        self._core = core

    async def draft_for_url(self, url: str, *, guard: bool = True) -> PieceDraft:
        return await self._core._ingest().builder.draft_for_url(url, guard=guard)


def removal_notice(name: str) -> str:
    return (
        f"The source {name} is no longer followed, so this chat's "
        "subscription to it has ended. /sources lists what is left."
    )


class Core:
    def __init__(
        self,
        settings: Settings,
        store: Storage,
        metrics: Metrics | None = None,
        *,
        dispatch: Dispatch | None = None,
        fetcher: Fetcher | None = None,
        llm: LLMSummarizer | None = None,
        service: bool = False,
    ) -> None:
        """``fetcher``: one the caller owns (closed by them); else the core makes its own.
        ``service``: the long-running bot (platforms or ``--role ingest``), which extracts
        articles in worker processes unless COMMENTARY_EXTRACT_WORKERS says otherwise."""
        self.settings = settings
        self.extract_processes = settings.extract_processes(service=service)
        self._store = store
        self._given_fetcher = fetcher
        self._llm = llm
        self._parts: _Ingest | None = None
        self._dispatch = dispatch
        self.workers: dict[str, DeliveryWorker] = {}
        self.metrics = metrics or Metrics()
        # Platforms whose adapter started delivery, with the adapter (a Sender) for its health.
        self.started_platforms: dict[str, Sender] = {}
        # Which jobs this process does (``run --role``): polling, sending, answering chats.
        self.roles: frozenset[str] = ALL_ROLES
        self._polling_started = False
        self.translator = Translator(store, llm) if llm is not None else None
        self.services: Services = CoreServices(
            settings=settings,
            store=store,
            sources=self,
            digests=self,
            summarizer=_LazySummarizer(self),
            started_at=datetime.now(UTC),
            summary_limiter=RateLimiter(settings.commentary_summaries_per_user_per_hour),
            status=self.status,
            translator=self.translator,
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        fetcher: Fetcher | None = None,
        dispatch: Dispatch | None = None,
        service: bool = False,
    ) -> AsyncIterator[Core]:
        """Open the database and the HTTP client; close everything on exit.

        ``dispatch`` answers chat commands (``bot.app`` passes the handlers' router); a core
        without it serves the command line, which sends no commands.
        """
        install_redaction(settings.secrets)
        store = await open_store(settings.commentary_database)
        llm = None
        if settings.llm_base_url:
            from bot.pipeline.llm import LLMSummarizer  # wordfreq and co: only with an LLM

            llm = LLMSummarizer(
                settings.llm_base_url,
                settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                settings.llm_model,
                timeout=settings.llm_timeout,
                daily_budget=settings.llm_daily_budget,
            )
        core = cls(
            settings, store, Metrics(), dispatch=dispatch, fetcher=fetcher, llm=llm, service=service
        )
        try:
            yield core
        finally:
            await core.close()

    def _ingest(self) -> _Ingest:
        """The fetcher, article builder and scheduler, made (and their libraries loaded) the
        first time anything needs them."""
        if self._parts is None:
            from bot.ingest.articles import ArticleBuilder
            from bot.ingest.poller import Poller
            from bot.ingest.scheduler import SourceScheduler
            from bot.sources.http import Fetcher

            settings = self.settings
            fetcher = self._given_fetcher or Fetcher(
                user_agent=settings.commentary_user_agent,
                max_bytes=settings.commentary_max_bytes,
                allow_private=settings.commentary_allow_private_urls,
            )
            extract = None
            if self.extract_processes:
                from bot.ingest.extract_worker import ExtractWorkers

                extract = ExtractWorkers(
                    self.extract_processes, on_replaced=self.metrics.observe_worker_replaced
                )
            builder = ArticleBuilder(fetcher, llm=self._llm, extract=extract)
            poller = Poller(
                self._store,
                fetcher,
                builder,
                allow_private=settings.commentary_allow_private_urls,
                owners=settings.owners,
                on_deliveries=self.wake_delivery,
                metrics=self.metrics,
            )
            self._parts = _Ingest(fetcher, builder, SourceScheduler(self._store, poller))
        return self._parts

    @property
    def _scheduler(self) -> SourceScheduler:
        return self._ingest().scheduler

    @property
    def _builder(self) -> ArticleBuilder:
        return self._ingest().builder

    async def close(self) -> None:
        parts = self._parts
        if parts is not None:
            await parts.scheduler.aclose()
        for platform in list(self.workers):
            await self.stop_delivery(platform)
        if parts is not None:
            await parts.builder.aclose()
            if self._given_fetcher is None:  # a fetcher the caller gave stays theirs to close
                await parts.fetcher.aclose()
        await self._store.aclose()

    # --- sources -----------------------------------------------------------------------------
    async def add_source(
        self,
        url: str,
        *,
        name: str | None = None,
        interval: int | None = None,
        kind: SourceKind | None = None,
        selector: str | None = None,
        trusted: bool = True,
        added_by: str | None = None,
        force: bool = False,
    ) -> AddSourceReport:
        """Detect the kind, store the source, poll it once, schedule it; ``SourceRefused``
        when it does not work now (unless ``force``), ``SourceError`` for what never can
        (a bad selector, a taken name)."""
        return await self._scheduler.add(
            url,
            name=name,
            interval=interval,
            kind=kind,
            selector=selector,
            trusted=trusted,
            added_by=added_by,
            force=force,
        )

    async def edit_source(
        self,
        name: str,
        *,
        url: str | None = None,
        interval: int | None = None,
        selector: str | None = None,
        new_name: str | None = None,
        force: bool = False,
    ) -> Source:
        """Change a source in place; a new address or selector is tried first."""
        return await self._scheduler.edit(
            name, url=url, interval=interval, selector=selector, new_name=new_name, force=force
        )

    async def remove_source(self, name: str) -> RemovedSource | None:
        """Stop following a source; each chat whose subscription ends with it is told."""
        source = await self._store.get_source(name)
        if source is None:
            return None
        chat_ids = await self._store.subscribed_chat_ids_for_source(source.id)
        if not await self._scheduler.remove(source.name):
            return None
        # Subscriptions go with the source (ON DELETE CASCADE); the chats deserve to know why.
        # Notices are rows: a running bot's delivery worker sends them, whoever removed it.
        for chat_id in chat_ids:
            await self._store.add_notice(chat_id, removal_notice(source.name))
        self.wake_delivery()
        return RemovedSource(source, len(chat_ids))

    async def pause_source(self, name: str) -> Source | None:
        return await self._scheduler.pause(name)

    async def resume_source(self, name: str) -> Source | None:
        return await self._scheduler.resume(name)

    async def set_interval(self, name: str, seconds: int) -> Source | None:
        return await self._scheduler.set_interval(name, seconds)

    async def import_sources(
        self,
        specs: list[SourceSpec],
        *,
        added_by: str,
        update_existing: bool = False,
        progress: Callable[[], None] | None = None,
    ) -> ImportReport:
        """Store sources from a file without fetching them (the scheduler polls them).

        A name already taken is skipped, or, with ``update_existing``, takes the file's URL,
        kind and interval (the config file is the truth for the sources it names).
        """
        report = ImportReport()
        for spec in specs:
            existing = await self._store.get_source(spec.name)
            interval = spec.interval_seconds
            if existing is not None:
                changed = existing.url != spec.url or (
                    interval is not None and existing.interval_seconds != interval
                )
                if update_existing and changed:
                    await self._store.update_source(
                        existing.id,
                        url=spec.url,
                        interval_seconds=interval or existing.interval_seconds,
                        kind=spec.kind,
                    )
                    report.updated.append(spec.name)
                else:
                    report.skipped.append(spec.name)
                if progress:
                    progress()
                continue
            try:
                source = await self._store.add_source(
                    spec.name,
                    spec.url,
                    kind=spec.kind,
                    interval_seconds=interval or 1800,
                    selector=spec.selector,
                    added_by=added_by,
                )
            except SourceExists:
                report.skipped.append(spec.name)
                if progress:
                    progress()
                continue
            if self._parts is not None:  # else polling has not started: it schedules all
                self._parts.scheduler.follow(source)
            report.added.append(source.name)
            if progress:
                progress()
        return report

    async def poll_now(
        self, name: str | None = None, *, progress: Callable[[PollReport], None] | None = None
    ) -> list[PollReport]:
        """Poll one source or every active one now; ``SourceError`` for an unknown name."""
        return await self._scheduler.poll_now(name, progress=progress)

    async def local_first_rounds(self) -> list[int]:
        """Never-polled active sources read from disk (the bundled demo): their first round
        cannot hang, so the terminal chat awaits it before its prompt."""
        return [
            s.id
            for s in await self._store.list_sources(active_only=True)
            if not s.first_poll_done and s.url.startswith("file:")
        ]

    async def wait_local_first_rounds(self, timeout: float = 30.0) -> None:
        """Wait for the first rounds of never-polled sources read from disk (the bundled demo).

        Polling must have started: it begins every never-polled source's first round in the
        background, so a source that hangs never holds up the first answer; only sources on
        disk, which cannot hang, are awaited (a newcomer's first post comes before the prompt).
        """
        await self._scheduler.wait_first_rounds(await self.local_first_rounds(), timeout=timeout)

    def next_run(self, source_id: int) -> datetime | None:
        # No scheduler yet: polling has not started, nothing is scheduled (as a stopped one).
        return self._parts.scheduler.next_run(source_id) if self._parts is not None else None

    async def sources(self, *, active_only: bool = False) -> list[Source]:
        return await self._store.list_sources(active_only=active_only)

    async def source(self, name: str) -> Source | None:
        return await self._store.get_source(name)

    async def latest(self, limit: int) -> list[Piece]:
        return await self._store.latest_pieces(limit)

    # --- digests -----------------------------------------------------------------------------
    async def request_digest(self, chat: Chat) -> int:
        """Ask the delivery worker for the chat's digest now; how many pieces it holds.

        The worker renders and posts it like a scheduled one and marks the pieces sent once
        the post went out.
        """
        held = len(await self._store.digest_pieces(chat.id))
        if held:
            await self._store.set_value(digest_request_key(chat.id), "1")
            self.wake_delivery()
        return held

    # --- what adapters use ---------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        if self._dispatch is None:
            raise RuntimeError("no command handlers are wired to this core (see bot.app)")
        return await self._dispatch(request, self.services)

    async def first_run(self, key: str) -> bool:
        """True once per database for ``key`` (e.g. the terminal chat's first start)."""
        if await self._store.get_value(key) is not None:
            return False
        await self._store.set_value(key, "1")
        return True

    async def record_messages(
        self, platform: str, chat_id: str, sent: list[tuple[str, int | None]]
    ) -> None:
        for message_id, piece_id in sent:
            if piece_id:
                await self._store.record_message(platform, chat_id, str(message_id), piece_id)

    async def chat_seen(
        self,
        platform: str,
        chat_id: str,
        kind: ChatKind,
        title: str | None = None,
        thread_id: str | None = None,
    ) -> Chat:
        """The bot is in this chat (added, or a command came from it): active from now on."""
        chat = await self._store.ensure_chat(
            platform, str(chat_id), kind=kind, title=title, thread_id=thread_id, reactivate=True
        )
        log.info("chat %s:%s active", platform, chat_id)
        return chat

    async def message_ids(self, platform: str, chat_id: str) -> list[str]:
        """Ids of the bot's posts in a chat that map to a piece."""
        return await self._store.message_ids(platform, str(chat_id))

    async def follow(self, chat: Chat, source_name: str, *, created_by: str) -> bool:
        """Subscribe a chat to a source; False if there is no such source or it already does."""
        source = await self._store.get_source(source_name)
        if source is None:
            return False
        try:
            await self._store.add_subscription(
                chat.id, "source", source.name, source_id=source.id, created_by=created_by
            )
        except AlreadyExists:
            return False
        return True

    async def chat_gone(self, platform: str, chat_id: str, reason: str) -> None:
        await self._store.set_chat_active(platform, str(chat_id), False, reason)
        log.info("chat %s:%s inactive: %s", platform, chat_id, reason)

    async def chat_migrated(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        await self._store.migrate_chat(platform, str(old_chat_id), str(new_chat_id))

    async def chat_settings(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> ChatSettings:
        """The chat's settings (defaults for a chat not seen before)."""
        chat = await self._store.get_chat(platform, str(chat_id), thread_id)
        return chat.settings if chat else ChatSettings()

    async def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        return await self._store.known_chat_ids(platform, [str(i) for i in platform_chat_ids])

    async def autocomplete(self, kind: str, prefix: str, limit: int = 25) -> list[str]:
        prefix = prefix.strip()[:100]
        if kind == "source":
            return [s.name for s in await self._store.find_sources(prefix, limit)]
        if kind == "author":
            # No chat in hand (Discord's autocomplete): chat id 0 is no chat's, so only
            # writers of pieces a source published are suggested, never of a /summary answer.
            found = await self._store.find_authors(prefix, limit, chat_id=0)
            return [name for name, _ in found]
        return []

    async def piece_card(self, piece_id: int) -> PieceCard | None:
        piece = await self._store.get_piece(piece_id)
        return card_for(piece) if piece else None

    @property
    def receives_updates(self) -> bool:
        """Whether adapters take updates (commands) in this process (role chat or all)."""
        return "chat" in self.roles

    def start_delivery(self, sender: Sender) -> DeliveryWorker | None:
        """Start sending for the adapter's platform (None: this process's role does not send)."""
        self.started_platforms[sender.platform] = sender
        if "deliver" not in self.roles:
            return None
        worker = DeliveryWorker(
            self._store,
            sender,
            metrics=self.metrics,
            election=self._sender_election(sender),
            translator=self.translator,
        )
        self.workers[sender.platform] = worker
        worker.start()
        return worker

    def _sender_election(self, sender: Sender) -> Election | None:
        """On a shared database, one process per bot token sends (its rate budget is one)."""
        return self.token_lock(sender.platform, "sender")

    async def first_claim(self, key: str, *, seconds: float = 600.0) -> bool:
        """True for the first process to claim ``key`` within ``seconds`` (an update Telegram
        delivered twice, to two webhook replicas, is handled once). Always True where one
        process has the database to itself (SQLite)."""
        claim = getattr(self._store, "claim_once", None)
        if claim is None:
            return True
        first: bool = await claim(key, seconds)
        return first

    def token_lock(self, platform: str, what: str) -> Election | None:
        """A lock one process at a time holds for ``what`` of this platform's bot token (its
        sender, a Discord shard) on a shared database; None where one process has the
        database to itself (SQLite) or the platform has no token."""
        make_lock = getattr(self._store, "session_lock", None)
        secret = {
            "telegram": self.settings.telegram_bot_token,
            "discord": self.settings.discord_bot_token,
        }.get(platform)
        if make_lock is None or secret is None:
            return None
        # The lock's name is a digest: lock names show in pg_locks, tokens must not.
        digest = hashlib.sha256(secret.get_secret_value().encode()).hexdigest()[:32]
        lock: Election = make_lock(f"{what}:{platform}:{digest}")
        return lock

    async def stop_delivery(self, platform: str, drain_seconds: float = 0.0) -> None:
        worker = self.workers.pop(platform, None)
        if worker is not None:
            await worker.stop(drain_seconds)

    def wake_delivery(self) -> None:
        for worker in self.workers.values():
            worker.wake()

    def warm_up_extraction(self) -> None:
        """Load the extraction libraries in the background (start-up does not wait on them)."""
        self._builder.warm_up()

    async def start_polling(self) -> None:
        if "ingest" not in self.roles:
            return
        await self._scheduler.start()
        self._polling_started = True

    # --- what operators watch ---------------------------------------------------------------
    async def status(self) -> StatusReport:
        """The facts `commentary-bot status` and the owners' /status show (one source of truth)."""
        running = bool(self.started_platforms) or self._polling_started
        return await collect_status(
            self._store,
            next_run=self.next_run,
            running_since=self.services.started_at.replace(microsecond=0) if running else None,
        )

    async def record_start(self) -> None:
        """Note the start in the database, so `status` from another process can say it."""
        started = self.services.started_at.isoformat(timespec="seconds")
        await self._store.set_value(STARTED_KEY, started)

    async def record_stop(self) -> None:
        await self._store.set_value(STOPPED_KEY, datetime.now(UTC).isoformat(timespec="seconds"))

    async def health(self) -> list[str]:
        """Why the bot is not healthy (an empty list when it is): loops, database, platforms."""
        problems: list[str] = []
        if self._polling_started and not self._scheduler.running:
            problems.append("scheduler: stopped")
        try:
            await asyncio.wait_for(self._store.ping(), DB_HEALTH_TIMEOUT)
        except TimeoutError:
            problems.append(f"database: no answer within {DB_HEALTH_TIMEOUT:g}s")
        except Exception as exc:  # noqa: BLE001 - any failure is the reason shown
            problems.append(f"database: {_first_line(exc)}")
        for platform, sender in self.started_platforms.items():
            worker = self.workers.get(platform)
            if worker is None and "deliver" not in self.roles:
                pass  # this process does not send
            elif worker is None:
                problems.append(f"{platform}: delivery stopped")
            elif not worker.running:
                problems.append(f"{platform}: delivery worker ended")
            check: Callable[[], str | None] | None = getattr(sender, "health", None)
            reason = check() if check else None
            if reason:
                problems.append(f"{platform}: {reason}")
        return problems

    async def refresh_queue_metrics(self) -> None:
        """Read the outbox depth into the gauge (at scrape time: the database is the truth)."""
        rows = await self._store.outbox_by_platform()
        self.metrics.set_queue_depth((platform, state, n) for platform, state, n, _ in rows)
        extract = self._parts.builder.extract if self._parts is not None else None
        if extract is not None:
            self.metrics.extract_worker_peak.set(extract.peak_bytes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
