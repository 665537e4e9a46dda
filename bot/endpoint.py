"""The optional operator endpoint: ``/healthz`` and ``/metrics`` on aiohttp's web server.

Off unless ``COMMENTARY_HTTP_PORT`` is set; it binds 127.0.0.1 unless ``COMMENTARY_HTTP_HOST``
says otherwise, because neither page needs to face the internet (a reverse proxy or a
Prometheus on the same host reads them).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)


class OpsEndpoint:
    """Serves the core's health and metrics until ``stop``."""

    def __init__(self, core: Core, host: str, port: int) -> None:
        self.core = core
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        # access_log=None: a scrape every 15 s would drown the log.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise OSError(
                f"COMMENTARY_HTTP_PORT: cannot listen on {self.host}:{self.port} "
                f"({exc.strerror or exc})"
            ) from None
        if self.port == 0:  # tests ask for any free port; learn which one
            server = getattr(site, "_server", None)
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("health and metrics on http://%s:%s/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        problems = await self.core.health()
        if problems:
            return web.Response(status=503, text="unhealthy: " + "; ".join(problems) + "\n")
        return web.Response(text="ok\n")

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            await self.core.refresh_queue_metrics()
        except Exception as exc:  # noqa: BLE001 - the counters are still worth serving
            log.warning("queue depth not read for /metrics: %s", exc)
        body = self.core.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
