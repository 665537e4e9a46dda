"""Settings from the environment and an optional ``.env`` file (pydantic-settings).

Every variable here is listed, commented, in ``.env.example``; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.database_url import DatabaseLocation, PostgresURL, database_location
from bot.durations import parse_duration
from bot.errors import ConfigError

APP_NAME = "commentary-bot"
EXTRACT_WORKERS_AUTO = 2  # extraction processes of the service when none is configured
PROJECT_URL = "https://github.com/commentary-bot/commentary-bot"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "commentary.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # a blank line in .env.example means "use the default"
        arbitrary_types_allowed=True,  # PostgresURL
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None

    discord_bot_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None
    # Gateway shards (several processes on PostgreSQL split them, one process per shard id).
    discord_shard_count: int | None = Field(default=None, ge=1, le=1024)
    discord_shards_per_process: int | None = Field(default=None, ge=1, le=1024)

    # A SQLite file path, or postgresql://user@host/db (password from the URL, PGPASSWORD, .pgpass).
    commentary_database: DatabaseLocation = Field(default_factory=default_database_path)
    commentary_sources: Path | None = None
    commentary_owners: str = ""
    commentary_allow_private_urls: bool = False
    commentary_log_level: str = "INFO"
    commentary_log_format: Literal["text", "json"] = "text"
    commentary_http_port: int | None = Field(default=None, ge=0, le=65535)
    commentary_http_host: str = "127.0.0.1"
    commentary_demo: bool | None = None  # None: add the demo source when no source exists
    commentary_min_chat_interval: str = "30m"
    commentary_max_subscriptions_per_chat: int = Field(default=50, ge=1)
    commentary_summaries_per_user_per_hour: int = Field(default=10, ge=1)
    commentary_max_bytes: int = Field(default=5_000_000, ge=10_000)
    commentary_user_agent: str = f"{APP_NAME}/0.1 (+{PROJECT_URL})"
    # Processes that extract articles; None ("auto"): see ``extract_processes``.
    commentary_extract_workers: int | None = Field(default=None, ge=0, le=32)

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(default=30.0, gt=0)
    llm_daily_budget: int = Field(default=200, ge=0)

    @field_validator("commentary_log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("commentary_database")
    @classmethod
    def _database_folder(cls, value: DatabaseLocation) -> DatabaseLocation:
        # Only the default location's folder is created: a mistyped path must not silently
        # grow a tree of folders and a fresh, empty database somewhere unexpected.
        if not isinstance(value, Path):
            return value  # a PostgreSQL URL
        if value == default_database_path():
            return value  # created on first use (a fresh machine has no ~/.local/share/...)
        folder = value.expanduser().parent
        if str(value) != ":memory:" and not folder.is_dir():
            raise ValueError(f"the folder {folder} does not exist; create it first")
        return value.expanduser()

    @field_validator("commentary_log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("commentary_owners")
    @classmethod
    def _owners(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            platform, _, user = item.partition(":")
            if platform not in ("telegram", "discord", "console") or not user:
                raise ValueError(
                    f"{item!r} is not platform:user_id with platform telegram, discord or "
                    "console (e.g. telegram:123456)"
                )
            if platform in ("telegram", "discord") and not user.lstrip("-").isdigit():
                raise ValueError(f"{item!r}: {platform} user ids are numbers")
        return value

    @field_validator("commentary_database", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        # Never echo the value in an error: a URL may carry a password.
        if isinstance(value, str | Path | PostgresURL):
            return database_location(value)
        return value

    @field_validator("commentary_demo", mode="before")
    @classmethod
    def _demo(cls, value: object) -> object:
        # "auto" (the documented default) means: only when no source exists.
        if isinstance(value, str) and value.strip().lower() in ("", "auto"):
            return None
        return value

    @field_validator("commentary_extract_workers", mode="before")
    @classmethod
    def _extract_workers(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "auto"):
            return None
        return value

    def extract_processes(self, *, service: bool) -> int:
        """Worker processes for article extraction (0: threads of the bot's own process).

        Auto: the long-running service extracts in worker processes, so lxml's memory never
        stays in the bot and a page that crashes or stalls a worker costs that page only; the
        terminal chat and one-shot commands extract in-process, where starting processes
        costs more than it saves.
        """
        if self.commentary_extract_workers is not None:
            return self.commentary_extract_workers
        return EXTRACT_WORKERS_AUTO if service else 0

    @field_validator("commentary_min_chat_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def owners(self) -> set[str]:
        """Owner keys as ``platform:user_id``."""
        return {p.strip() for p in self.commentary_owners.split(",") if p.strip()}

    @property
    def min_chat_interval_seconds(self) -> int:
        return parse_duration(self.commentary_min_chat_interval)

    @property
    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can redact them."""
        values = [
            self.telegram_bot_token,
            self.discord_bot_token,
            self.llm_api_key,
            self.telegram_webhook_secret,
        ]
        found = [v.get_secret_value() for v in values if v and v.get_secret_value()]
        if isinstance(self.commentary_database, PostgresURL):
            found += self.commentary_database.passwords
        return found

    @property
    def platforms(self) -> list[str]:
        """The chat platforms whose tokens are set."""
        found = []
        if self.telegram_bot_token and self.telegram_bot_token.get_secret_value():
            found.append("telegram")
        if self.discord_bot_token and self.discord_bot_token.get_secret_value():
            found.append("discord")
        return found


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Load settings, turning validation errors into one ``ConfigError`` line per problem."""
    try:
        # pydantic-settings takes ``_env_file`` at run time; mypy sees only the fields.
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        where = f" (from the environment or {env_file})" if env_file else ""
        raise ConfigError("invalid setting" + where + ": " + "; ".join(problems)) from None
