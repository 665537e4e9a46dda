"""What the bot counts for Prometheus: polls, pieces, deliveries, 429s, queue depth, latencies.

One ``Metrics`` per ``Core``, each with its own registry, so two bots in one process (tests, a
benchmark) never add to each other's numbers. ``/metrics`` serves ``Metrics.render()``.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# Polls range from a local 304 (milliseconds) to a slow outlet with its articles (a minute).
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# A platform send is one HTTP request, plus the pacing the worker already waited out.
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The outbox states that are still work to do; 'sent', 'filtered' and 'skipped' are history.
QUEUE_STATES = ("pending", "sending", "digest")

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The bot's Prometheus collectors, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "commentary_polls", "Polling rounds by outcome", ["status"], registry=r
        )
        self.poll_failures = Counter(
            "commentary_poll_failures", "Polling rounds that ended in an error", registry=r
        )
        self.pieces = Counter("commentary_pieces", "New pieces stored by polling", registry=r)
        self.deliveries = Counter(
            "commentary_deliveries",
            "Delivery attempts by platform and outcome (sent, retry, rate_limited, failed, gone)",
            ["platform", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "commentary_rate_limited",
            "Answers of 429 / retry-after from a platform",
            ["platform"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "commentary_outbox_depth",
            "Outbox rows still to send, by platform and state (read at scrape time)",
            ["platform", "state"],
            registry=r,
        )
        self.poll_seconds = Histogram(
            "commentary_poll_seconds",
            "Time of one polling round (fetch, parse, new articles)",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.send_seconds = Histogram(
            "commentary_send_seconds",
            "Time of one platform send",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.extract_workers_replaced = Counter(
            "commentary_extract_workers_replaced",
            "Extraction worker processes killed and replaced because of a page, by reason",
            ["reason"],
            registry=r,
        )
        self.extract_worker_peak = Gauge(
            "commentary_extract_worker_peak_bytes",
            "Highest peak memory (VmHWM) an extraction worker process reported",
            registry=r,
        )

    def observe_worker_replaced(self, reason: str) -> None:
        """An extraction worker was killed and replaced (crash, stall, memory, broken)."""
        self.extract_workers_replaced.labels(reason=reason).inc()

    def observe_poll(self, status: str, new: int, seconds: float) -> None:
        """Count one polling round (status as in ``PollReport``)."""
        self.polls.labels(status=status).inc()
        if status == "error":
            self.poll_failures.inc()
        if new:
            self.pieces.inc(new)
        self.poll_seconds.observe(max(0.0, seconds))

    def observe_send(self, platform: str, outcome: str, seconds: float | None = None) -> None:
        """Count one delivery attempt; ``seconds`` is the send's duration when it reached out."""
        self.deliveries.labels(platform=platform, outcome=outcome).inc()
        if outcome == "rate_limited":
            self.rate_limited.labels(platform=platform).inc()
        if seconds is not None:
            self.send_seconds.labels(platform=platform).observe(max(0.0, seconds))

    def set_queue_depth(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """Replace the queue gauge with (platform, state, count) rows read just now."""
        self.queue_depth.clear()
        for platform, state, count in rows:
            if state in QUEUE_STATES:
                self.queue_depth.labels(platform=platform, state=state).set(count)

    def render(self) -> bytes:
        """The text exposition format, as ``/metrics`` serves it."""
        return generate_latest(self.registry)
