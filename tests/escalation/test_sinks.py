"""Sinks against loopback servers: a signed webhook receiver and an SMTP responder;
the outbox retries until delivery and never loses an escalation."""

from __future__ import annotations

import asyncio
import email
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message

import pytest
from fastapi import FastAPI, Request, Response

from frontdesk.escalation.outbox import Backoff, Outbox, OutboxDrainer
from frontdesk.escalation.sinks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EmailSink,
    EscalationSink,
    SeenDeliveries,
    SinkError,
    SmtpConfig,
    WebhookSink,
    sign,
    verify,
)
from tests.escalation.conftest import Kit
from tests.escalation.smtp_server import smtp_server
from tests.servers import free_port, serve

SECRET = "whsec-test-secret"


@dataclass
class Receiver:
    fail_first: int = 0
    hits: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.hits.append((dict(request.headers), await request.body()))
            if len(self.hits) <= self.fail_first:
                return Response(status_code=503)
            return Response(status_code=204)

        return app


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with serve(rec.app()) as url:
        yield rec, url + "/hook"


def test_signature_is_hmac_sha256_over_timestamp_delivery_id_and_body() -> None:
    import hashlib
    import hmac

    body = b'{"a":1}'
    mac = hmac.new(SECRET.encode(), b"1700000000.d-1." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", "d-1", body) == "sha256=" + mac

    def check(secret: str = SECRET, ts: str = "1700000000", delivery: str = "d-1") -> bool:
        return verify(
            secret,
            timestamp=ts,
            delivery_id=delivery,
            body=body,
            signature="sha256=" + mac,
            seen=SeenDeliveries(),
            now=1_700_000_010.0,
        )

    assert check()
    assert not check(ts="1700000001")
    assert not check(delivery="d-2")  # the delivery id is signed: it cannot be swapped
    assert not check(secret="other")


def test_verify_refuses_old_timestamps_and_replayed_deliveries() -> None:
    body = b'{"ticket":{"id":"t"}}'
    seen = SeenDeliveries(window_seconds=300)

    def deliver(ts: int, delivery: str, now: float) -> bool:
        signature = sign(SECRET, str(ts), delivery, body)
        return verify(
            SECRET,
            timestamp=str(ts),
            delivery_id=delivery,
            body=body,
            signature=signature,
            seen=seen,
            max_age_seconds=300,
            now=now,
        )

    assert deliver(1_800_000_000, "d-1", now=1_800_000_001)
    assert not deliver(1_800_000_000, "d-1", now=1_800_000_002)  # captured and replayed at once
    assert not deliver(1_800_000_000, "d-9", now=1_800_000_400)  # older than the window
    assert not deliver(1_800_000_900, "d-8", now=1_800_000_000)  # from the future
    assert deliver(1_800_000_400, "d-2", now=1_800_000_400)


async def test_webhook_posts_signed_json(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    sink = WebhookSink(url=url, secret=SECRET, clock=lambda: 1_800_000_000.0)
    await sink.deliver({"ticket": {"id": "t-1"}, "text": "Grüße"}, delivery_id="d-1")
    headers, body = rec.hits[0]
    assert json.loads(body) == {"ticket": {"id": "t-1"}, "text": "Grüße"}
    assert headers[TIMESTAMP_HEADER.lower()] == "1800000000"
    assert headers[DELIVERY_HEADER.lower()] == "d-1"
    assert verify(
        SECRET,
        timestamp=headers[TIMESTAMP_HEADER.lower()],
        delivery_id=headers[DELIVERY_HEADER.lower()],
        body=body,
        signature=headers[SIGNATURE_HEADER.lower()],
        seen=SeenDeliveries(),
        now=1_800_000_005.0,
    )


def test_smtp_credentials_need_tls_and_the_port_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from frontdesk.escalation.settings import EscalationSettings

    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_USERNAME", "bot")
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_PASSWORD", "pw")
    with pytest.raises(ValidationError, match="STARTTLS"):
        EscalationSettings(_env_file=None)
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_STARTTLS", "true")
    assert EscalationSettings(_env_file=None).resolved_smtp_port == 587
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_STARTTLS", "false")
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_TLS", "true")
    assert EscalationSettings(_env_file=None).resolved_smtp_port == 465
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_PORT", "2465")
    assert EscalationSettings(_env_file=None).resolved_smtp_port == 2465
    with pytest.raises(ValueError, match="STARTTLS"):
        SmtpConfig(host="smtp.example.com", username="bot", password="pw")


async def test_webhook_failures_raise_sink_errors(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.fail_first = 1
    with pytest.raises(SinkError, match="HTTP 503"):
        await WebhookSink(url=url, secret=SECRET).deliver({}, delivery_id="d")
    closed = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(SinkError, match="ConnectError"):
        await WebhookSink(url=closed, secret=SECRET, timeout_seconds=2).deliver({}, delivery_id="d")


def _parse(data: str) -> Message:
    return email.message_from_string(data)


async def test_email_goes_out_over_smtp() -> None:
    async with smtp_server() as smtp:
        sink = EmailSink(SmtpConfig(host="127.0.0.1", port=smtp.port, sender="bot@acme.example"))
        payload = {"email": {"to": ["billing@acme.example"], "subject": "Escalation", "body": "Hi"}}
        await sink.deliver(payload, delivery_id="abc")
    [received] = smtp.messages
    assert received.sender == "bot@acme.example"
    assert received.recipients == ["billing@acme.example"]
    message = _parse(received.data)
    assert message["Subject"] == "Escalation"
    assert message["Message-ID"] == "<abc@frontdesk>"
    assert str(message.get_payload()).strip() == "Hi"


async def test_email_rejection_and_missing_recipient_are_sink_errors() -> None:
    async with smtp_server() as smtp:
        smtp.reject_rcpt = True
        sink = EmailSink(SmtpConfig(host="127.0.0.1", port=smtp.port))
        with pytest.raises(SinkError):
            await sink.deliver({"email": {"to": ["x@acme.example"]}}, delivery_id="a")
        with pytest.raises(SinkError, match="no email recipient"):
            await sink.deliver({"email": {"to": []}}, delivery_id="b")


async def _escalate(kit: Kit, text: str = "I was charged twice, talk to a person") -> str:
    conv = await kit.store.create_conversation(tenant_id="default", bot_id="Testbot")
    msg = (await kit.store.add_message(conv.id, role="user", content=text)).message
    decision = await kit.service.on_user_message(conv, msg)
    assert decision.ticket is not None
    return decision.ticket.id


async def test_outbox_retries_with_backoff_until_delivered(
    kit: Kit, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    rec.fail_first = 2
    ticket_id = await _escalate(kit)
    async with smtp_server() as smtp:
        sinks: dict[str, EscalationSink] = {
            "webhook": WebhookSink(url=url, secret=SECRET),
            "email": EmailSink(SmtpConfig(host="127.0.0.1", port=smtp.port)),
        }
        outbox = Outbox(kit.store.engine, sinks, backoff=Backoff(base_seconds=10), clock=kit.clock)
        assert await outbox.drain_once() == 1  # email delivered, webhook answered 503
        assert await outbox.drain_once() == 0  # the webhook's retry is not due yet
        for _ in range(2):
            kit.clock.advance(timedelta(minutes=5).total_seconds())
            await outbox.drain_once()
    rows = {r.sink: r for r in await outbox.rows(ticket_id)}
    assert rows["webhook"].status == "delivered"
    assert rows["webhook"].attempts == 3
    assert rows["email"].attempts == 1
    assert len(rec.hits) == 3
    payload = json.loads(rec.hits[-1][1])
    assert payload["ticket"]["team"] == "Billing team"
    assert payload["transcript"][0]["content"] == "I was charged twice, talk to a person"
    [mail] = smtp.messages
    assert mail.recipients == ["billing@acme.example"]
    assert "I was charged twice" in str(_parse(mail.data).get_payload())


async def test_a_dead_sink_keeps_the_ticket_and_the_delivery(kit: Kit) -> None:
    ticket_id = await _escalate(kit)
    closed = f"http://127.0.0.1:{free_port()}/hook"
    sinks = {"webhook": WebhookSink(url=closed, secret=SECRET, timeout_seconds=2)}
    outbox = Outbox(
        kit.store.engine, sinks, backoff=Backoff(base_seconds=1, max_attempts=3), clock=kit.clock
    )
    for _ in range(5):
        await outbox.drain_once()
        kit.clock.advance(60)
    rows = {r.sink: r for r in await outbox.rows(ticket_id)}
    assert (rows["webhook"].status, rows["webhook"].attempts) == ("dead", 3)
    assert rows["webhook"].last_error is not None
    assert rows["email"].status == "dead"  # no email sink configured in this app
    ticket = await kit.tickets.get(ticket_id)
    assert ticket is not None
    assert ticket.status == "waiting"


async def test_drainer_delivers_in_the_background(kit: Kit, receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    outbox = Outbox(
        kit.store.engine, {"webhook": WebhookSink(url=url, secret=SECRET)}, clock=kit.clock
    )
    drainer = OutboxDrainer(outbox, interval_seconds=30)
    drainer.start()
    try:
        kit.handoff.on_opened = drainer.poke
        ticket_id = await _escalate(kit)
        for _ in range(200):
            rows = [r for r in await outbox.rows(ticket_id) if r.sink == "webhook"]
            if rows[0].status == "delivered":
                break
            await asyncio.sleep(0.05)
        assert rows[0].status == "delivered"
    finally:
        await drainer.aclose()
    assert len(rec.hits) == 1


def test_settings_build_only_the_configured_sinks(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from frontdesk.escalation.build import build_sinks
    from frontdesk.escalation.settings import EscalationSettings

    assert build_sinks(EscalationSettings(_env_file=None)) == {}
    monkeypatch.setenv("FRONTDESK_ESCALATION_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        EscalationSettings(_env_file=None)
    monkeypatch.setenv("FRONTDESK_ESCALATION_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("FRONTDESK_ESCALATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FRONTDESK_ESCALATION_DEFAULT_RECIPIENTS", '["support@acme.example"]')
    settings = EscalationSettings(_env_file=None)
    sinks = build_sinks(settings)
    assert sorted(sinks) == ["email", "webhook"]
    assert "whsec" not in repr(settings)  # the secret never prints
