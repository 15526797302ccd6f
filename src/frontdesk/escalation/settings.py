"""Escalation settings: environment variables ``FRONTDESK_ESCALATION_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EscalationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_ESCALATION_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    webhook_url: str | None = Field(None, description="POST target of the signed ticket JSON")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of the webhook")
    smtp_host: str | None = Field(None, description="SMTP server; unset = no email sink")
    smtp_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Default: 465 with smtp_tls, 587 with smtp_starttls, else 25",
    )
    smtp_sender: str = "frontdesk@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    default_recipients: list[str] = Field(
        default_factory=list, description="Email recipients when the topic has no contact"
    )
    redis_url: str | None = Field(
        None, description="Redis for live events across workers; unset = in-process"
    )
    console_url: str | None = Field(None, description="Agent console link put in tickets")
    drain_interval_seconds: float = Field(5.0, gt=0)
    max_attempts: int = Field(12, ge=1)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> EscalationSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("FRONTDESK_ESCALATION_WEBHOOK_SECRET is required with a webhook URL")
        return self

    @model_validator(mode="after")
    def _credentials_need_tls(self) -> EscalationSettings:
        if self.smtp_username and not (self.smtp_starttls or self.smtp_tls):
            raise ValueError(
                "FRONTDESK_ESCALATION_SMTP_USERNAME is set but neither SMTP_STARTTLS nor SMTP_TLS: "
                "the password would cross the network in clear text; set "
                "FRONTDESK_ESCALATION_SMTP_STARTTLS=true (port 587) or "
                "FRONTDESK_ESCALATION_SMTP_TLS=true (port 465)"
            )
        return self

    @property
    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return 465 if self.smtp_tls else 587 if self.smtp_starttls else 25
