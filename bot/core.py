"""The platform-neutral core: one object that owns storage, fetching, scheduling and delivery.

Adapters talk only to ``Core``; handlers get ``core.services``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.delivery.worker import DeliveryWorker, Election
from bot.ingest.articles import ArticleBuilder
from bot.ingest.poller import Poller
from bot.ingest.scheduler import SourceScheduler
from bot.logs import install_redaction
from bot.metrics import Metrics
from bot.pipeline.llm import LLMSummarizer
from bot.services import RateLimiter, Services
from bot.sources.http import Fetcher
from bot.status import STARTED_KEY, STOPPED_KEY, StatusReport, collect_status
from bot.types import ChatKind, ChatSettings
from handlers.common import card_for
from handlers.registry import COMMANDS, load_all
from handlers.router import dispatch
from handlers.types import PieceCard, Request, Response
from storage import Storage, open_store

log = logging.getLogger(__name__)

DB_HEALTH_TIMEOUT = 2.0  # seconds; a database slower than this to answer SELECT 1 is unhealthy


class Core:
    def __init__(
        self,
        settings: Settings,
        store: Storage,
        fetcher: Fetcher,
        builder: ArticleBuilder,
        scheduler: SourceScheduler,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.builder = builder
        self.scheduler = scheduler
        self.workers: dict[str, DeliveryWorker] = {}
        self.metrics = metrics or Metrics()
        # Platforms whose adapter started delivery, with the adapter (a Sender) for its health.
        self.started_platforms: dict[str, Sender] = {}
        self._polling_started = False
        self.services = Services(
            settings=settings,
            store=store,
            sources=scheduler,
            summarizer=builder,
            started_at=datetime.now(UTC),
            summary_limiter=RateLimiter(settings.commentary_summaries_per_user_per_hour),
            status=self.status,
        )
        load_all()

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings, *, fetcher: Fetcher | None = None
    ) -> AsyncIterator[Core]:
        """Open the database and the HTTP client; close everything on exit."""
        install_redaction(settings.secrets)
        store = await open_store(settings.commentary_database)
        own_fetcher = fetcher is None
        fetcher = fetcher or Fetcher(
            user_agent=settings.commentary_user_agent,
            max_bytes=settings.commentary_max_bytes,
            allow_private=settings.commentary_allow_private_urls,
        )
        llm = None
        if settings.llm_base_url:
            llm = LLMSummarizer(
                settings.llm_base_url,
                settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                settings.llm_model,
                timeout=settings.llm_timeout,
                daily_budget=settings.llm_daily_budget,
            )
        builder = ArticleBuilder(fetcher, llm=llm)
        metrics = Metrics()
        core_ref: list[Core] = []
        poller = Poller(
            store,
            fetcher,
            builder,
            allow_private=settings.commentary_allow_private_urls,
            owners=settings.owners,
            on_deliveries=lambda: core_ref[0].wake_delivery() if core_ref else None,
            metrics=metrics,
        )
        scheduler = SourceScheduler(store, poller)
        core = cls(settings, store, fetcher, builder, scheduler, metrics)
        core_ref.append(core)
        try:
            yield core
        finally:
            await core.close(own_fetcher=own_fetcher)

    async def close(self, *, own_fetcher: bool = True) -> None:
        self.scheduler.shutdown()
        for platform in list(self.workers):
            await self.stop_delivery(platform)
        self.builder.close()
        if own_fetcher:
            await self.fetcher.aclose()
        await self.store.aclose()

    # --- what adapters use ---------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        return await dispatch(request, self.services)

    async def record_messages(
        self, platform: str, chat_id: str, sent: list[tuple[str, int | None]]
    ) -> None:
        for message_id, piece_id in sent:
            if piece_id:
                await self.store.record_message(platform, chat_id, str(message_id), piece_id)

    async def chat_seen(
        self,
        platform: str,
        chat_id: str,
        kind: ChatKind,
        title: str | None = None,
        thread_id: str | None = None,
    ) -> None:
        await self.store.ensure_chat(
            platform, str(chat_id), kind=kind, title=title, thread_id=thread_id, reactivate=True
        )
        log.info("chat %s:%s active", platform, chat_id)

    async def chat_gone(self, platform: str, chat_id: str, reason: str) -> None:
        await self.store.set_chat_active(platform, str(chat_id), False, reason)
        log.info("chat %s:%s inactive: %s", platform, chat_id, reason)

    async def chat_migrated(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        await self.store.migrate_chat(platform, str(old_chat_id), str(new_chat_id))

    async def chat_settings(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> ChatSettings:
        """The chat's settings (defaults for a chat not seen before)."""
        chat = await self.store.get_chat(platform, str(chat_id), thread_id)
        return chat.settings if chat else ChatSettings()

    async def known_chat_ids(self, platform: str, platform_chat_ids: list[str]) -> set[str]:
        return await self.store.known_chat_ids(platform, [str(i) for i in platform_chat_ids])

    async def autocomplete(self, kind: str, prefix: str, limit: int = 25) -> list[str]:
        prefix = prefix.strip()[:100]
        if kind == "source":
            return [s.name for s in await self.store.find_sources(prefix, limit)]
        if kind == "author":
            return [name for name, _ in await self.store.find_authors(prefix, limit)]
        return []

    async def piece_card(self, piece_id: int) -> PieceCard | None:
        piece = await self.store.get_piece(piece_id)
        return card_for(piece) if piece else None

    def start_delivery(self, sender: Sender) -> DeliveryWorker:
        worker = DeliveryWorker(
            self.store, sender, metrics=self.metrics, election=self._sender_election(sender)
        )
        self.workers[sender.platform] = worker
        self.started_platforms[sender.platform] = sender
        worker.start()
        return worker

    def _sender_election(self, sender: Sender) -> Election | None:
        """On a shared database, one process per bot token sends (its rate budget is one)."""
        make_lock = getattr(self.store, "session_lock", None)
        secret = {
            "telegram": self.settings.telegram_bot_token,
            "discord": self.settings.discord_bot_token,
        }.get(sender.platform)
        if make_lock is None or secret is None:
            return None
        digest = hashlib.sha256(secret.get_secret_value().encode()).hexdigest()[:32]
        lock: Election = make_lock(f"sender:{sender.platform}:{digest}")
        return lock

    async def stop_delivery(self, platform: str, drain_seconds: float = 0.0) -> None:
        worker = self.workers.pop(platform, None)
        if worker is not None:
            await worker.stop(drain_seconds)

    def wake_delivery(self) -> None:
        for worker in self.workers.values():
            worker.wake()

    async def start_polling(self) -> None:
        await self.scheduler.start()
        self._polling_started = True

    # --- what operators watch ---------------------------------------------------------------
    async def status(self) -> StatusReport:
        """The facts `commentary-bot status` and the owners' /status show (one source of truth)."""
        running = bool(self.started_platforms) or self._polling_started
        return await collect_status(
            self.store,
            next_run=self.scheduler.next_run,
            running_since=self.services.started_at.replace(microsecond=0) if running else None,
        )

    async def record_start(self) -> None:
        """Note the start in the database, so `status` from another process can say it."""
        started = self.services.started_at.isoformat(timespec="seconds")
        await self.store.set_value(STARTED_KEY, started)

    async def record_stop(self) -> None:
        await self.store.set_value(STOPPED_KEY, datetime.now(UTC).isoformat(timespec="seconds"))

    async def health(self) -> list[str]:
        """Why the bot is not healthy (an empty list when it is): loops, database, platforms."""
        problems: list[str] = []
        if self._polling_started and not self.scheduler.running:
            problems.append("scheduler: stopped")
        try:
            await asyncio.wait_for(self.store.ping(), DB_HEALTH_TIMEOUT)
        except TimeoutError:
            problems.append(f"database: no answer within {DB_HEALTH_TIMEOUT:g}s")
        except Exception as exc:  # noqa: BLE001 - any failure is the reason shown
            problems.append(f"database: {_first_line(exc)}")
        for platform, sender in self.started_platforms.items():
            worker = self.workers.get(platform)
            if worker is None:
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
        rows = await self.store.outbox_by_platform()
        self.metrics.set_queue_depth((platform, state, n) for platform, state, n, _ in rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


__all__ = ["COMMANDS", "Core"]
