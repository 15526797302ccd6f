"""Where escalations are announced: an HMAC-signed webhook and email over SMTP.

A sink only delivers; retries and durability are the outbox's job
(:mod:`frontdesk.escalation.outbox`). ``deliver`` raises :class:`SinkError`
on any failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from frontdesk.escalation.replay import DeliveryLog, SeenDeliveries
from frontdesk.logging_setup import redact_url

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryLog",
    "EmailSink",
    "EscalationSink",
    "SeenDeliveries",
    "SinkError",
    "SmtpConfig",
    "WebhookSink",
    "encode_body",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Frontdesk-Signature"
TIMESTAMP_HEADER = "X-Frontdesk-Timestamp"
DELIVERY_HEADER = "X-Frontdesk-Delivery"


class SinkError(Exception):
    """A delivery failed; the outbox retries it later."""


class EscalationSink(Protocol):
    name: str

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None: ...


def sign(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, ``"<timestamp>.<delivery id>." + body``)."""
    message = timestamp.encode() + b"." + delivery_id.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str,
    delivery_id: str,
    body: bytes,
    signature: str,
    seen: DeliveryLog,
    max_age_seconds: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver does with the three ``X-Frontdesk-*`` headers and the raw body.

    True only for a valid signature over timestamp, delivery id and body, a timestamp
    within ``max_age_seconds`` of now (either way), and a delivery id not seen before: a
    captured delivery replayed later, or replayed at once, is refused. ``seen`` is where
    accepted ids are remembered (:mod:`frontdesk.escalation.replay`: in memory, a SQLite
    file, or Redis for a receiver with several workers).
    """
    if not hmac.compare_digest(sign(secret, timestamp, delivery_id, body), signature):
        return False
    current = time.time() if now is None else now
    if not timestamp.isdigit() or abs(current - int(timestamp)) > max_age_seconds:
        return False
    return seen.add(delivery_id, current)


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class WebhookSink:
    """POSTs the ticket JSON; any answer but 2xx is a failure."""

    url: str
    secret: str
    timeout_seconds: float = 10.0
    client: httpx.AsyncClient | None = None
    clock: Callable[[], float] = time.time
    name: str = "webhook"

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None:
        body = encode_body(payload)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Frontdesk-Escalation/1",
            SIGNATURE_HEADER: sign(self.secret, timestamp, delivery_id, body),
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery_id,
        }
        client = self.client or httpx.AsyncClient(timeout=self.timeout_seconds)
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # neither the URL (it may hold a token) nor httpx's message (it repeats it)
            raise SinkError(f"webhook {redact_url(self.url)}: {type(exc).__name__}") from exc
        finally:
            if self.client is None:
                await client.aclose()
        if not 200 <= response.status_code < 300:
            raise SinkError(f"webhook {redact_url(self.url)} answered HTTP {response.status_code}")

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


@dataclass
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "frontdesk@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout_seconds: float = 15.0
    default_recipients: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.username and not (self.starttls or self.use_tls):
            raise ValueError("SMTP credentials need STARTTLS or implicit TLS")


@dataclass
class EmailSink:
    """Sends ``payload["email"]`` (to, subject, body) with smtplib in a worker thread."""

    config: SmtpConfig
    name: str = "email"

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None:
        email = payload.get("email") or {}
        recipients = list(email.get("to") or []) or list(self.config.default_recipients)
        if not recipients:
            raise SinkError("no email recipient (no team contact and no default recipient)")
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = str(email.get("subject") or "Frontdesk escalation")
        message["Message-ID"] = f"<{delivery_id}@frontdesk>"
        message.set_content(str(email.get("body") or ""))
        try:
            await asyncio.to_thread(self._send, message, recipients)
        except (OSError, smtplib.SMTPException) as exc:
            raise SinkError(f"smtp {self.config.host}:{self.config.port}: {exc}") from exc

    def _send(self, message: EmailMessage, recipients: list[str]) -> None:
        cfg = self.config
        smtp_class = smtplib.SMTP_SSL if cfg.use_tls else smtplib.SMTP
        with smtp_class(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
            if cfg.starttls and not cfg.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            smtp.send_message(message, from_addr=cfg.sender, to_addrs=recipients)
