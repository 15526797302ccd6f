"""A tenant's own escalation sinks (the ``escalation:`` section of its tenant config).

Validated like the operator's ``FRONTDESK_ESCALATION_*`` settings, and stricter where a
tenant's value is not the operator's own: the webhook is ``https://`` (``http://`` only to
a loopback host), its secret is named by an environment variable (``secret_env``; the
value, at least :data:`MIN_WEBHOOK_SECRET_CHARS` characters, never sits in the database),
and SMTP credentials need STARTTLS or implicit TLS. A kind the tenant leaves out (webhook
or email) falls back to the operator's sink of that kind.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from frontdesk.errors import ConfigError

if TYPE_CHECKING:  # the escalation package is not imported to read a tenant config
    from frontdesk.escalation.sinks import EscalationSink

MIN_WEBHOOK_SECRET_CHARS = 32
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError("the webhook URL is https://host/path (no user:password@)")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return value
    raise ValueError("the webhook URL must be https:// (http:// only to a loopback host)")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (like ACME_SECRET)")
    return value


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
Address = Annotated[str, AfterValidator(_address)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantWebhook(_Strict):
    url: Annotated[str, AfterValidator(_webhook_url)] = Field(
        description="POST target of the signed ticket JSON"
    )
    secret_env: EnvName = Field(description="Variable holding the HMAC-SHA256 key")


class TenantSmtp(_Strict):
    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(None, ge=1, le=65535, description="Default: 465 / 587 / 25")
    sender: Address
    username: str | None = None
    password_env: EnvName | None = Field(None, description="Variable holding the password")
    starttls: bool = False
    tls: bool = False
    default_recipients: list[Address] = Field(
        default_factory=list, description="Recipients when the topic has no contact"
    )

    @model_validator(mode="after")
    def _checked(self) -> TenantSmtp:
        if self.starttls and self.tls:
            raise ValueError("choose one of starttls (port 587) and tls (port 465)")
        if (self.username or self.password_env) and not (self.starttls or self.tls):
            raise ValueError(
                "SMTP credentials need starttls: true (port 587) or tls: true (port 465): "
                "the password would cross the network in clear text"
            )
        if self.password_env and not self.username:
            raise ValueError("password_env needs a username")
        return self

    @property
    def resolved_port(self) -> int:
        if self.port is not None:
            return self.port
        return 465 if self.tls else 587 if self.starttls else 25


class TenantEscalation(_Strict):
    """The tenant's own hand-off sinks; each one left out is the operator's."""

    webhook: TenantWebhook | None = None
    smtp: TenantSmtp | None = None


def _secret(name: str, environ: Mapping[str, str], what: str) -> str:
    value = environ.get(name)
    if not value:
        raise ConfigError(f"{what}: the variable {name} is not set")
    return value


def tenant_sinks(
    config: TenantEscalation, environ: Mapping[str, str] | None = None
) -> dict[str, EscalationSink]:
    """The tenant's own sinks by name (``webhook``, ``email``); ConfigError when a secret
    variable is unset or the webhook secret is too short."""
    from frontdesk.escalation.sinks import EmailSink, SmtpConfig, WebhookSink

    env = os.environ if environ is None else environ
    sinks: dict[str, EscalationSink] = {}
    if config.webhook is not None:
        secret = _secret(config.webhook.secret_env, env, "webhook secret")
        if len(secret) < MIN_WEBHOOK_SECRET_CHARS:
            raise ConfigError(
                f"webhook secret {config.webhook.secret_env} has {len(secret)} characters; "
                f"at least {MIN_WEBHOOK_SECRET_CHARS} are needed"
            )
        sinks["webhook"] = WebhookSink(url=config.webhook.url, secret=secret)
    if config.smtp is not None:
        smtp = config.smtp
        password = _secret(smtp.password_env, env, "SMTP password") if smtp.password_env else None
        sinks["email"] = EmailSink(
            SmtpConfig(
                host=smtp.host,
                port=smtp.resolved_port,
                sender=smtp.sender,
                username=smtp.username,
                password=password,
                starttls=smtp.starttls,
                use_tls=smtp.tls,
                default_recipients=list(smtp.default_recipients),
            )
        )
    return sinks
