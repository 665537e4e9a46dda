"""Turning rows into the domain dataclasses and back (times as ISO 8601 UTC text)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from bot.types import Chat, ChatSettings, Delivery, Piece, Source, Subscription


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def to_time(value: str | datetime | None) -> datetime | None:
    """ISO text (SQLite) or a datetime (PostgreSQL's timestamptz) as an aware UTC datetime."""
    if not value:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def source_from_row(row: dict[str, Any]) -> Source:
    return Source(
        id=row["id"],
        name=row["name"],
        url=row["url"],
        kind=row["kind"],
        interval_seconds=row["interval_seconds"],
        selector=row["selector"],
        title=row["title"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_ok_at=to_time(row["last_ok_at"]),
        last_error=row["last_error"],
        last_error_at=to_time(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        paused=bool(row["paused"]),
        paused_reason=row["paused_reason"],
        next_run_at=to_time(row["next_run_at"]),
        first_poll_done=bool(row["first_poll_done"]),
        trusted=bool(row["trusted"]),
        added_by=row["added_by"],
        created_at=to_time(row["created_at"]),
    )


def piece_from_row(
    row: dict[str, Any], authors: list[str], also_in: list[tuple[str, str]] | None = None
) -> Piece:
    return Piece(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        text=row["text"],
        source_id=row["source_id"],
        guid=row["guid"],
        fingerprint=row["fingerprint"],
        standfirst=row["standfirst"],
        authors=authors,
        published=to_time(row["published"]),
        outlet=row["outlet"],
        language=row["language"],
        pull_quotes=json.loads(row["pull_quotes"] or "[]"),
        author_bio=row["author_bio"],
        disclaimer=row["disclaimer"],
        summary=row["summary"],
        summary_short=row["summary_short"],
        summary_long=row["summary_long"],
        summary_method=row["summary_method"],
        also_in=also_in or [],
        fetched_at=to_time(row["fetched_at"]),
        updated_at=to_time(row["updated_at"]),
    )


def settings_from_json(text: str | None) -> ChatSettings:
    known = {f.name for f in fields(ChatSettings)}
    data = {k: v for k, v in json.loads(text or "{}").items() if k in known}
    return ChatSettings(**data)


def settings_to_json(settings: ChatSettings) -> str:
    return json.dumps(asdict(settings), sort_keys=True)


def chat_from_row(row: dict[str, Any]) -> Chat:
    return Chat(
        id=row["id"],
        platform=row["platform"],
        platform_chat_id=row["platform_chat_id"],
        kind=row["kind"],
        thread_id=row["thread_id"] or None,
        title=row["title"],
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
        settings=settings_from_json(row["settings"]),
        created_at=to_time(row["created_at"]),
    )


def subscription_from_row(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        target=row["target"],
        source_id=row["source_id"],
        include=json.loads(row["include"] or "[]"),
        exclude=json.loads(row["exclude"] or "[]"),
        created_by=row["created_by"],
        created_at=to_time(row["created_at"]),
    )


def delivery_from_row(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        piece_id=row["piece_id"],
        chat_id=row["chat_id"],
        state=row["state"],
        subscription_id=row["subscription_id"],
        attempts=row["attempts"],
        next_attempt_at=to_time(row["next_attempt_at"]),
        last_error=row["last_error"],
        platform_message_id=row["platform_message_id"],
        reason=row["reason"],
        created_at=to_time(row["created_at"]),
        sent_at=to_time(row["sent_at"]),
    )
