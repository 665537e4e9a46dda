"""What an operator checks first: sources by state, the outbox, recent deliveries, the database.

``collect_status`` gathers the facts once; ``commentary-bot status`` and the owners' ``/status``
both render the same ``StatusReport`` (through ``Core.status``), so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.durations import format_duration

if TYPE_CHECKING:
    from storage import Storage

STATE_ORDER = ("failing", "paused", "new", "ok")
HEADINGS = {"failing": "Failing", "paused": "Paused", "new": "New (not polled yet)", "ok": "OK"}
# How many given-up entries the report carries (newest first) and how many the text lists.
SKIPPED_LIMIT = 20
SKIPPED_SHOWN = 5
SKIPPED_WINDOW = timedelta(days=7)  # older give-ups are history, not something to look at now
STARTED_KEY = "bot.started_at"
STOPPED_KEY = "bot.stopped_at"


@dataclass
class SourceStatus:
    name: str
    state: str
    interval_seconds: int
    consecutive_failures: int
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    paused_reason: str | None
    next_run_at: datetime | None


@dataclass
class SkippedEntry:
    """An entry given up after its last try: marked seen, never fetched again."""

    source: str
    label: str  # the entry's link, GUID or title
    tries: int
    last_error: str
    gave_up_at: datetime | None


@dataclass
class PlatformOutbox:
    platform: str
    pending: int = 0
    sending: int = 0
    digest: int = 0
    failed: int = 0
    oldest_pending_at: datetime | None = None


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    retried: int = 0


@dataclass
class StatusReport:
    generated_at: datetime
    database_path: str
    database_bytes: int
    started_at: datetime | None  # the last recorded start of the bot
    stopped_at: datetime | None  # the last clean stop (older than started_at while running)
    sources: list[SourceStatus]
    outbox: list[PlatformOutbox]
    last_hour: DeliveryCounts
    last_day: DeliveryCounts
    pieces: int
    chats: int
    subscriptions: int
    by_state: dict[str, int] = field(default_factory=dict)
    skipped_entries: list[SkippedEntry] = field(default_factory=list)  # newest first

    @property
    def oldest_pending_at(self) -> datetime | None:
        times = [o.oldest_pending_at for o in self.outbox if o.oldest_pending_at]
        return min(times) if times else None

    @property
    def running(self) -> bool:
        return self.started_at is not None and (
            self.stopped_at is None or self.stopped_at < self.started_at
        )

    def to_json(self) -> dict[str, Any]:
        """The ``status --format json`` contract (README lists the keys)."""
        return {
            "generated_at": _iso(self.generated_at),
            "started_at": _iso(self.started_at),
            "stopped_at": _iso(self.stopped_at),
            "database": {"path": self.database_path, "bytes": self.database_bytes},
            "sources": {
                "total": len(self.sources),
                "by_state": {state: self.by_state.get(state, 0) for state in STATE_ORDER},
                "items": [
                    {
                        "name": s.name,
                        "state": s.state,
                        "interval_seconds": s.interval_seconds,
                        "consecutive_failures": s.consecutive_failures,
                        "last_ok_at": _iso(s.last_ok_at),
                        "last_error": s.last_error,
                        "last_error_at": _iso(s.last_error_at),
                        "paused_reason": s.paused_reason,
                        "next_run_at": _iso(s.next_run_at),
                    }
                    for s in self.sources
                ],
            },
            "outbox": [
                {
                    "platform": o.platform,
                    "pending": o.pending,
                    "sending": o.sending,
                    "digest": o.digest,
                    "failed": o.failed,
                    "oldest_pending_at": _iso(o.oldest_pending_at),
                }
                for o in self.outbox
            ],
            "oldest_pending_at": _iso(self.oldest_pending_at),
            "skipped_entries": [
                {
                    "source": e.source,
                    "label": e.label,
                    "tries": e.tries,
                    "last_error": e.last_error,
                    "gave_up_at": _iso(e.gave_up_at),
                }
                for e in self.skipped_entries
            ],
            "deliveries": {
                "last_hour": vars(self.last_hour).copy(),
                "last_day": vars(self.last_day).copy(),
            },
            "pieces": self.pieces,
            "chats": self.chats,
            "subscriptions": self.subscriptions,
        }

    def to_text(self) -> str:
        """The plain-text form, the same for the terminal, the chat and ``status``."""
        now = self.generated_at
        lines = []
        if self.started_at is None:
            lines.append("The bot has not been started on this database yet.")
        elif self.running:
            lines.append(
                f"Up {_rough((now - self.started_at).total_seconds())} "
                f"(since {self.started_at:%Y-%m-%d %H:%M} UTC)."
            )
        else:
            assert self.stopped_at is not None
            lines.append(
                f"Stopped {_ago(self.stopped_at, now)} (at {self.stopped_at:%Y-%m-%d %H:%M} UTC)."
            )
        lines.append(f"Database: {self.database_path} ({human_bytes(self.database_bytes)}).")
        states = ", ".join(
            f"{self.by_state[state]} {state}" for state in STATE_ORDER if self.by_state.get(state)
        )
        lines.append(
            f"{_plural(len(self.sources), 'source')}" + (f" ({states})" if states else "") + ", "
            f"{_plural(self.pieces, 'piece')}, {_plural(self.chats, 'active chat')}, "
            f"{_plural(self.subscriptions, 'subscription')}."
        )
        if self.outbox:
            parts = []
            for o in self.outbox:
                bits = [
                    f"{count} {name}"
                    for name, count in (
                        ("pending", o.pending),
                        ("sending", o.sending),
                        ("held for digests", o.digest),
                        ("failed", o.failed),
                    )
                    if count
                ]
                if o.oldest_pending_at:
                    bits.append(f"oldest waiting {_ago(o.oldest_pending_at, now, suffix='')}")
                parts.append(f"{o.platform}: " + ", ".join(bits))
            lines.append("Outbox: " + "; ".join(parts) + ".")
        else:
            lines.append("Outbox: empty.")
        lines.append(
            f"Messages in the last hour: {_counts(self.last_hour)}; "
            f"last day: {_counts(self.last_day)}."
        )
        for state in STATE_ORDER:
            group = [s for s in self.sources if s.state == state]
            if not group:
                continue
            lines.append(f"{HEADINGS[state]}:")
            lines.extend(_source_line(s, now) for s in group)
        if self.skipped_entries:
            lines.append(
                "Entries skipped in the last 7 days (given up after their last try; "
                "the rest of each feed goes on):"
            )
            for e in self.skipped_entries[:SKIPPED_SHOWN]:
                when = f", {_ago(e.gave_up_at, now)}" if e.gave_up_at else ""
                tries = "1 try" if e.tries == 1 else f"{e.tries} tries"
                lines.append(
                    f"• {e.source}: {e.label[:120]}, after {tries}{when}\n    {e.last_error[:200]}"
                )
            more = len(self.skipped_entries) - SKIPPED_SHOWN
            if more > 0:
                lines.append(
                    f"  and {more} more (`commentary-bot status --format json` lists them)"
                )
        return "\n".join(lines)


async def collect_status(
    store: Storage,
    *,
    next_run: Callable[[int], datetime | None] | None = None,
    now: datetime | None = None,
    running_since: datetime | None = None,
) -> StatusReport:
    """Read every fact ``status`` shows; ``next_run`` asks a running scheduler (else the DB).

    ``running_since``: the caller is the running bot, started then (what it records at start).
    """
    now = now or datetime.now(UTC)
    sources = await store.list_sources()
    items = []
    by_state: dict[str, int] = {}
    for source in sources:
        state = source.state
        by_state[state] = by_state.get(state, 0) + 1
        upcoming = None if source.paused else (next_run(source.id) if next_run else None)
        items.append(
            SourceStatus(
                name=source.name,
                state=state,
                interval_seconds=source.interval_seconds,
                consecutive_failures=source.consecutive_failures,
                last_ok_at=source.last_ok_at,
                last_error=source.last_error,
                last_error_at=source.last_error_at,
                paused_reason=source.paused_reason,
                next_run_at=upcoming or (None if source.paused else source.next_run_at),
            )
        )
    outbox: dict[str, PlatformOutbox] = {}
    for platform, row_state, count, oldest in await store.outbox_by_platform():
        entry = outbox.setdefault(platform, PlatformOutbox(platform))
        setattr(entry, row_state, count)
        if row_state in ("pending", "sending") and oldest:
            when = datetime.fromisoformat(oldest)
            if entry.oldest_pending_at is None or when < entry.oldest_pending_at:
                entry.oldest_pending_at = when
    names = {source.id: source.name for source in sources}
    skipped = [
        SkippedEntry(
            source=names.get(failure.source_id, f"#{failure.source_id}"),
            label=failure.label,
            tries=failure.tries,
            last_error=failure.last_error,
            gave_up_at=failure.gave_up_at,
        )
        for failure in await store.skipped_entries(limit=SKIPPED_LIMIT)
        if failure.gave_up_at is None or failure.gave_up_at >= now - SKIPPED_WINDOW
    ]
    path = await store.database_file()
    return StatusReport(
        generated_at=now,
        database_path=str(path) if path else ":memory:",
        database_bytes=await store.database_bytes(),
        started_at=running_since or _parse(await store.get_value(STARTED_KEY)),
        stopped_at=None if running_since else _parse(await store.get_value(STOPPED_KEY)),
        sources=items,
        outbox=list(outbox.values()),
        last_hour=DeliveryCounts(**await store.delivery_outcomes_since(now - timedelta(hours=1))),
        last_day=DeliveryCounts(**await store.delivery_outcomes_since(now - timedelta(days=1))),
        pieces=await store.count_pieces(),
        chats=await store.count_chats(),
        subscriptions=await store.count_subscriptions(),
        by_state=by_state,
        skipped_entries=skipped,
    )


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # unreachable; keeps type checkers calm


def _source_line(s: SourceStatus, now: datetime) -> str:
    line = f"• {s.name}: every {format_duration(s.interval_seconds)}"
    if s.state == "failing":
        line += f", {_plural(s.consecutive_failures, 'failure')} in a row"
    if s.state == "paused" and s.paused_reason:
        line += f" ({s.paused_reason})"
    if s.last_ok_at:
        line += f", last ok {_ago(s.last_ok_at, now)}"
    if s.next_run_at:
        line += f", next in {_rough(max(0.0, (s.next_run_at - now).total_seconds()))}"
    if s.last_error and s.state in ("failing", "paused", "new"):
        when = f" ({_ago(s.last_error_at, now)})" if s.last_error_at else ""
        line += f"\n    last error{when}: {s.last_error[:200]}"
    return line


def _counts(c: DeliveryCounts) -> str:
    return f"{c.sent} sent, {c.failed} failed, {c.retried} retried"


def _ago(when: datetime, now: datetime, suffix: str = " ago") -> str:
    return _rough(max(0.0, (now - when).total_seconds())) + suffix


def _rough(seconds: float) -> str:
    """Minutes past an hour, hours past a day: "2h13m", not "2h13m5s"."""
    if seconds >= 86400:
        seconds = round(seconds / 3600) * 3600
    elif seconds >= 3600:
        seconds = round(seconds / 60) * 60
    return format_duration(seconds)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
