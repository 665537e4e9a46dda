"""Logging: one format, noisy libraries quiet, and every secret redacted from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# httpx logs each request URL at INFO, and Telegram's URLs carry the bot token.
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "telegram.ext",
    "discord",
    "trafilatura",
    "aiohttp.access",
)
_TELEGRAM_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_BOT_URL = re.compile(r"(/bot)[^/\s]+(/)")


class RedactingFilter(logging.Filter):
    """Replaces known secrets (and anything shaped like a bot token) with ``[redacted]``."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        text = _TELEGRAM_TOKEN.sub("[redacted]", text)
        return _BOT_URL.sub(r"\1[redacted]\2", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log shippers: time, level, logger, message, exception.

    Records are redacted when they are created (see ``install_redaction``); the message and
    traceback are redacted once more here, before JSON escaping could split a secret.
    """

    def format(self, record: logging.LogRecord) -> str:
        redact = _installed.redact if _installed is not None else (lambda text: text)
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = redact(record.exc_text)
        if record.stack_info:
            data["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_installed: RedactingFilter | None = None


def setup_logging(
    level: str = "INFO", secrets: list[str] | None = None, fmt: str = "text"
) -> RedactingFilter:
    """Log to stderr (stdout belongs to the terminal chat and JSON output); ``fmt`` text|json."""
    global _installed
    root = logging.getLogger()
    root.setLevel(level)
    formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    ours = [h for h in root.handlers if getattr(h, "_commentary", False)]
    for handler in ours:
        handler.setFormatter(formatter)
    if not ours:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        # A mark on our own handler, so a second setup does not add another one.
        handler._commentary = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return install_redaction(secrets)


def install_redaction(secrets: list[str] | None) -> RedactingFilter:
    """Attach the redacting filter to every handler of the root logger (and new ones' records)."""
    global _installed
    if _installed is None:
        _installed = RedactingFilter(secrets)
        # A filter on the record factory path: handlers added later (pytest's caplog) see
        # redacted records too, because the record itself is rewritten at creation.
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _installed.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    else:
        _installed.secrets = sorted(
            set(_installed.secrets) | set(secrets or []), key=len, reverse=True
        )
    return _installed
