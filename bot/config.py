"""Settings, read once from the environment and `.env` by the composition root."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.db.url import BadDatabaseUrl, PostgresTarget, SqliteTarget, parse_database_url
from bot.errors import DomainError, StartupError
from bot.shards import BadShardIds, ShardScope, describe_shard_ids, parse_shard_ids
from bot.timezones import format_time_of_day, parse_time_of_day

MIB = 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Every setting of the bot. Each field is one environment variable (upper case)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `VAR=` (as in .env.example) means "not set", not an empty string to validate.
        env_ignore_empty=True,
    )

    # --- Core -------------------------------------------------------------------
    discord_token: SecretStr | None = None
    database_url: SecretStr | None = None
    database_path: Path = Path("data/mentor.db")
    database_synchronous: Literal["normal", "full"] = "normal"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    dev_guild_id: int | None = Field(default=None, gt=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    scheduler_interval_seconds: float = Field(default=30.0, ge=1, le=3600)
    auto_sync_commands: bool = True
    # For testing against the simulator (simulator/); leave empty to talk to Discord.
    discord_api_url: str | None = None

    # --- LLM (OpenAI-compatible; optional) --------------------------------------
    llm_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    # Semantic retrieval for /ask: an embeddings model on the same API (empty: full text only).
    llm_embedding_model: str | None = None

    # --- Roadmap and check-ins --------------------------------------------------
    roadmap_checkin_text_max: int = Field(default=4000, ge=100, le=4000)
    roadmap_checkin_minutes_max: int = Field(default=1440, ge=1, le=1440)
    roadmap_checkins_per_day_max: int = Field(default=20, ge=1, le=200)
    roadmap_freeze_every_days: int = Field(default=7, ge=1, le=365)
    roadmap_max_freezes: int = Field(default=2, ge=0, le=10)
    roadmap_leaderboard_page_size: int = Field(default=10, ge=1, le=25)
    roadmap_heatmap_weeks: int = Field(default=26, ge=4, le=53)
    roadmap_reminder_default_time: str = "19:00"
    roadmap_reminder_max_misses: int = Field(default=3, ge=1, le=30)
    roadmap_buddy_request_days: int = Field(default=7, ge=1, le=90)
    roadmap_import_max_bytes: int = Field(default=262_144, ge=1024, le=8_388_608)
    roadmap_job_batch: int = Field(default=50, ge=1, le=1000)

    # --- Challenges -------------------------------------------------------------
    challenge_daily_points: int = Field(default=10, ge=1, le=1000)
    challenge_hint_points: int = Field(default=5, ge=0, le=1000)
    challenge_task_points: int = Field(default=20, ge=1, le=1000)
    challenge_daily_open_hours: float = Field(default=24.0, ge=1, le=168)
    challenge_count_edit_seconds: float = Field(default=5.0, ge=0, le=300)
    challenge_weekly_max_days: int = Field(default=60, ge=1, le=365)
    challenge_import_max_bytes: int = Field(default=262_144, ge=1024, le=8_388_608)
    challenge_custom_max: int = Field(default=500, ge=1, le=10_000)
    challenge_page_size: int = Field(default=10, ge=1, le=25)
    challenge_month_top: int = Field(default=10, ge=1, le=25)

    # --- Portfolio reviews ------------------------------------------------------
    portfolio_max_open_requests: int = Field(default=2, ge=1, le=10)
    portfolio_unclaimed_nudge_hours: float = Field(default=48, gt=0, le=24 * 30)
    portfolio_nudge_max_listed: int = Field(default=10, ge=1, le=20)
    portfolio_review_reminder_hours: float = Field(default=72, gt=0, le=24 * 60)
    portfolio_claim_return_days: float = Field(default=7, gt=0, le=60)
    portfolio_expiry_days: float = Field(default=30, gt=0, le=365)
    portfolio_give_to_get_window_days: float = Field(default=30, gt=0, le=365)
    portfolio_give_to_get_hours_per_review: float = Field(default=24, ge=0, le=24 * 14)
    portfolio_give_to_get_max_reviews: int = Field(default=3, ge=0, le=20)
    portfolio_queue_page_size: int = Field(default=5, ge=1, le=10)

    # --- Q&A ----------------------------------------------------------------------
    qa_max_question_chars: int = Field(default=1000, ge=20, le=4000)
    qa_rate_count: int = Field(default=5, ge=1, le=1000)
    qa_rate_window_minutes: int = Field(default=10, ge=1, le=1440)
    qa_member_daily_tokens: int = Field(default=20_000, ge=0)
    qa_guild_daily_tokens: int = Field(default=200_000, ge=0)
    qa_cost_per_1k_tokens: float = Field(default=0.0006, ge=0)
    qa_max_answer_tokens: int = Field(default=700, ge=16, le=16_000)
    qa_history_tokens: int = Field(default=1500, ge=0, le=100_000)
    qa_temperature: float = Field(default=0.3, ge=0, le=2)
    qa_streaming: bool = True
    qa_edit_interval_seconds: float = Field(default=1.0, ge=0.2, le=10)
    qa_passages: int = Field(default=4, ge=1, le=10)
    qa_excerpts: int = Field(default=3, ge=1, le=5)
    qa_min_coverage: float = Field(default=0.5, ge=0, le=1)
    qa_chunk_chars: int = Field(default=1200, ge=200, le=4000)
    qa_doc_max_bytes: int = Field(default=100_000, ge=1000, le=1_000_000)
    qa_max_documents: int = Field(default=100, ge=1, le=10_000)
    qa_cache_hours: float = Field(default=24, ge=0, le=24 * 30)
    qa_moderation_enabled: bool = False
    qa_moderation_model: str = "omni-moderation-latest"
    qa_spoiler_overlap: float = Field(default=0.5, gt=0, le=1)
    qa_quota_pause_minutes: int = Field(default=30, ge=0, le=24 * 60)
    qa_gaps_days: int = Field(default=30, ge=1, le=365)
    qa_embedding_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    qa_embedding_batch: int = Field(default=64, ge=1, le=2048)
    qa_embedding_min_similarity: float = Field(default=0.35, ge=-1, le=1)

    # --- Operations ---------------------------------------------------------------
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_host: str = "127.0.0.1"
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=0, le=366)
    backup_time: str = "03:00"
    qa_log_retention_days: int = Field(default=90, ge=1, le=3650)
    guild_data_grace_days: int = Field(default=30, ge=0, le=365)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    privacy_export_max_bytes: int = Field(default=8 * MIB, ge=64 * 1024, le=25 * MIB)

    # --- Shard clusters (several processes over one PostgreSQL) ---------------------
    # Total shards of all processes; empty: Discord's recommendation (one process).
    shard_count: int | None = Field(default=None, ge=1, le=10_000)
    # This process's shards, like 0-3, 0,1 or 0-1,3; empty: all of them.
    shard_ids: str | None = None
    cluster_heartbeat_seconds: float = Field(default=10.0, ge=1, le=300)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.strip().upper()
        if upper not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return upper

    @field_validator("roadmap_reminder_default_time")
    @classmethod
    def _reminder_time(cls, value: str) -> str:
        try:
            return format_time_of_day(parse_time_of_day(value))
        except DomainError:
            raise ValueError("must be a 24-hour local time like 19:00") from None

    @field_validator("llm_base_url", "discord_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("llm_embedding_model")
    @classmethod
    def _optional_name(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @field_validator("backup_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        try:
            return format_time_of_day(parse_time_of_day(value))
        except DomainError:
            raise ValueError("must be a 24-hour UTC time like 03:00") from None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                parse_database_url(value.get_secret_value())
            except BadDatabaseUrl as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return describe_shard_ids(parse_shard_ids(value))
        except BadShardIds as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _shards_within_count(self) -> Settings:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError(
                "SHARD_IDS is set without SHARD_COUNT: set SHARD_COUNT to the total number "
                "of shards of all processes"
            )
        outside = [s for s in parse_shard_ids(self.shard_ids) if s >= self.shard_count]
        if outside:
            raise ValueError(
                f"SHARD_IDS {self.shard_ids} names shard {outside[0]}, outside "
                f"SHARD_COUNT={self.shard_count} (shards are numbered 0 to "
                f"{self.shard_count - 1})"
            )
        return self

    @model_validator(mode="after")
    def _sqlite_url_sets_the_path(self) -> Settings:
        """DATABASE_URL=sqlite:///x is DATABASE_PATH=x (backups and the run lock use it)."""
        target = self.database_target
        if isinstance(target, SqliteTarget):
            self.database_path = target.path
        return self

    @property
    def database_target(self) -> SqliteTarget | PostgresTarget:
        """Which engine and where: DATABASE_URL, else the SQLite file at DATABASE_PATH."""
        if self.database_url is None:
            return SqliteTarget(self.database_path)
        return parse_database_url(self.database_url.get_secret_value())

    @property
    def on_sqlite(self) -> bool:
        return isinstance(self.database_target, SqliteTarget)

    @property
    def shard_id_list(self) -> list[int] | None:
        """This process's shard ids for discord.py; None: all of them."""
        if self.shard_ids is None:
            return None
        return list(parse_shard_ids(self.shard_ids))

    @property
    def shard_scope(self) -> ShardScope:
        """Which servers' scheduled work is this process's (bot/shards.py)."""
        if self.shard_count is None:
            return ShardScope()
        ids = self.shard_id_list
        return ShardScope(self.shard_count, tuple(ids or range(self.shard_count)))

    def require_one_process_on_sqlite(self) -> None:
        """Refuse part of the shards on SQLite: the other processes need the same database,
        and a SQLite file serves one process."""
        scope = self.shard_scope
        if self.on_sqlite and not scope.everything:
            raise StartupError(
                f"SHARD_IDS={self.shard_ids} runs only part of SHARD_COUNT={self.shard_count} "
                "shards, so other processes run the rest over the same database: that needs "
                "PostgreSQL (set DATABASE_URL=postgresql://...), SQLite serves one process."
            )

    @property
    def backup_folder(self) -> Path:
        """Where daily backups go: BACKUP_DIR, or `backups/` beside the database."""
        return self.backup_dir or self.database_path.parent / "backups"

    @field_validator("portfolio_claim_return_days")
    @classmethod
    def _return_after_reminder(cls, value: float, info: ValidationInfo) -> float:
        reminder_hours = info.data.get("portfolio_review_reminder_hours")
        if reminder_hours is not None and value * 24 <= reminder_hours:
            raise ValueError(
                "must be longer than PORTFOLIO_REVIEW_REMINDER_HOURS, "
                "or reviewers are never reminded"
            )
        return value

    @property
    def llm_enabled(self) -> bool:
        """An LLM is used only when an API key or a base URL is configured."""
        return self.llm_api_key is not None or self.llm_base_url is not None

    @property
    def embeddings_enabled(self) -> bool:
        """Semantic retrieval needs the API (LLM_BASE_URL or LLM_API_KEY) and a model."""
        return self.llm_enabled and self.llm_embedding_model is not None

    def require_token(self) -> str:
        if self.discord_token is None or not self.discord_token.get_secret_value().strip():
            raise StartupError(
                "DISCORD_TOKEN is not set: put your bot token in .env "
                "(copy .env.example; see README, 'Create the Discord application')."
            )
        return self.discord_token.get_secret_value().strip()

    def secret_values(self) -> list[str]:
        """The token and API key in clear, for the log redactor; never log this."""
        secrets = (self.discord_token, self.llm_api_key)
        found = [
            s.get_secret_value().strip() for s in secrets if s and s.get_secret_value().strip()
        ]
        target = self.database_target
        if isinstance(target, PostgresTarget) and target.password:
            found.append(target.password)
        return found


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one plain sentence."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise StartupError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    reason = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:  # a rule between settings: its message names them
        return f"{reason}: fix it in .env or the environment; see .env.example."
    name = str(first["loc"][0]).upper()
    return (
        f"Setting {name} is invalid ({reason}): "
        "fix it in .env or the environment; see .env.example."
    )
