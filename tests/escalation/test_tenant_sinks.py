"""Per-tenant escalation sinks: a tenant's ticket goes to its own webhook or SMTP server
and never to another tenant's; a kind it does not set is the operator's. Loopback webhook
receivers (signatures checked with each one's own secret) and loopback SMTP servers."""

from __future__ import annotations

import asyncio
import copy
import email
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.errors import ConfigError
from frontdesk.escalation.settings import EscalationSettings
from frontdesk.escalation.sinks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SeenDeliveries,
    verify,
)
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.config import parse_tenant_config
from frontdesk.tenants.resolve import SITE_HEADER
from frontdesk.tenants.sink_config import TenantEscalation, tenant_sinks
from frontdesk.wiring import EscalationOptions
from tests.conftest import make_bot
from tests.escalation.smtp_server import SmtpRecorder, smtp_server
from tests.servers import serve
from tests.tenants.world import ACME, GLOBEX, create_tenant

OPERATOR_SECRET = "operator-webhook-secret-" + "o" * 16
ACME_SECRET = "acme-webhook-secret-" + "a" * 20
ACME_SECRET_ENV = "FRONTDESK_TEST_ACME_HOOK_SECRET"


@dataclass
class Receiver:
    secret: str
    tickets: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    seen: SeenDeliveries = field(default_factory=SeenDeliveries)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            ok = verify(
                self.secret,
                timestamp=request.headers[TIMESTAMP_HEADER],
                delivery_id=request.headers[DELIVERY_HEADER],
                body=body,
                signature=request.headers[SIGNATURE_HEADER],
                seen=self.seen,
            )
            if not ok:
                self.bad_signatures += 1
                return Response(status_code=401)
            self.tickets.append(json.loads(body)["ticket"])
            return Response(status_code=204)

        return app


@pytest.fixture
def operator_hook() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver(OPERATOR_SECRET)
    with serve(rec.app()) as url:
        yield rec, url + "/hook"


@pytest.fixture
def acme_hook() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver(ACME_SECRET)
    with serve(rec.app()) as url:
        yield rec, url + "/hook"


def _tenants_of(mailbox: SmtpRecorder) -> list[tuple[str, list[str]]]:
    """(ticket id, recipients) of each email received."""
    out = []
    for received in mailbox.messages:
        message = email.message_from_string(received.data)
        body = str(message.get_payload())
        ticket = next(line for line in body.splitlines() if line.startswith("Ticket: "))
        out.append((ticket.removeprefix("Ticket: "), received.recipients))
    return out


async def _escalate(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    cid = (await http.post("/api/conversations", json={}, headers=headers)).json()["id"]
    resp = await http.post(
        f"/api/conversations/{cid}/messages",
        json={"content": "I want to talk to a person please"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    return str(cid)


async def test_each_tenants_ticket_goes_to_its_own_sinks(
    migrated: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    operator_hook: tuple[Receiver, str],
    acme_hook: tuple[Receiver, str],
) -> None:
    monkeypatch.setenv(ACME_SECRET_ENV, ACME_SECRET)
    operator_rec, operator_url = operator_hook
    acme_rec, acme_url = acme_hook
    async with smtp_server() as operator_mail, smtp_server() as globex_mail:
        acme_doc = copy.deepcopy(ACME)  # its own webhook; email: the operator's
        acme_doc["escalation"] = {"webhook": {"url": acme_url, "secret_env": ACME_SECRET_ENV}}
        globex_doc = copy.deepcopy(GLOBEX)  # its own SMTP; webhook: the operator's
        globex_doc["escalation"] = {
            "smtp": {
                "host": "127.0.0.1",
                "port": globex_mail.port,
                "sender": "support@globex.example",
                "default_recipients": ["desk@globex.example"],
            }
        }
        settings = migrated.model_copy(update={"api_key_cache_seconds": 0.0})
        records = {
            "acme": await asyncio.to_thread(create_tenant, settings, "acme", acme_doc),
            "globex": await asyncio.to_thread(create_tenant, settings, "globex", globex_doc),
        }
        agents = {}
        for tenant in ("acme", "globex", "default"):
            key = await asyncio.to_thread(
                create_key, settings.resolved_database_url, role="agent", name="a", tenant_id=tenant
            )
            agents[tenant] = {"Authorization": f"Bearer {key.token}"}
        operator = EscalationSettings(
            webhook_url=operator_url,
            webhook_secret=OPERATOR_SECRET,
            smtp_host="127.0.0.1",
            smtp_port=operator_mail.port,
            default_recipients=["ops@operator.example"],
            drain_interval_seconds=0.05,
        )
        app = create_app(
            settings,
            bot=make_bot(),
            provider=ScriptedProvider.from_texts(["Default."] * 4),
            escalation=EscalationOptions(settings=operator),
        )
        with serve(app) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                for record in records.values():
                    await _escalate(http, {SITE_HEADER: record.site_key})
                await _escalate(http, {})  # the default tenant
                ticket_of = {}
                for tenant, agent in agents.items():
                    queue = (await http.get("/api/agent/queue", headers=agent)).json()
                    (ticket,) = queue["tickets"]
                    ticket_of[tenant] = ticket["id"]
                for _ in range(400):  # the drainer delivers in the background
                    delivered = len(operator_rec.tickets) + len(acme_rec.tickets)
                    mails = len(operator_mail.messages) + len(globex_mail.messages)
                    if delivered >= 3 and mails >= 3:
                        break
                    await asyncio.sleep(0.05)
    assert acme_rec.bad_signatures == 0 and operator_rec.bad_signatures == 0
    assert [t["id"] for t in acme_rec.tickets] == [ticket_of["acme"]]
    assert [t["tenant_id"] for t in acme_rec.tickets] == ["acme"]
    assert sorted(t["id"] for t in operator_rec.tickets) == sorted(
        [ticket_of["globex"], ticket_of["default"]]
    )  # never acme's: it has its own webhook
    assert _tenants_of(globex_mail) == [(ticket_of["globex"], ["desk@globex.example"])]
    operator_mails = dict(_tenants_of(operator_mail))
    assert set(operator_mails) == {ticket_of["acme"], ticket_of["default"]}  # never globex's
    assert operator_mails[ticket_of["default"]] == ["ops@operator.example"]


def _tenant(escalation: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(ACME), "escalation": escalation}


@pytest.mark.parametrize(
    ("escalation", "message"),
    [
        ({"webhook": {"url": "ftp://hooks.acme.example/x", "secret_env": "S"}}, "https://"),
        ({"webhook": {"url": "http://hooks.acme.example/x", "secret_env": "S"}}, "loopback"),
        ({"webhook": {"url": "https://u:p@hooks.acme.example/x", "secret_env": "S"}}, "user"),
        ({"webhook": {"url": "https://hooks.acme.example/x", "secret_env": "lower"}}, "variable"),
        ({"webhook": {"url": "https://hooks.acme.example/x", "secret": "x" * 40}}, "secret"),
        (
            {"smtp": {"host": "mail.acme.example", "sender": "a@acme.example", "username": "u"}},
            "clear text",
        ),
        (
            {
                "smtp": {
                    "host": "mail.acme.example",
                    "sender": "a@acme.example",
                    "starttls": True,
                    "password_env": "ACME_SMTP_PASSWORD",
                }
            },
            "needs a username",
        ),
        ({"smtp": {"host": "mail.acme.example", "sender": "not-an-address"}}, "email address"),
    ],
)
def test_a_tenants_sinks_are_validated(escalation: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_tenant_config(_tenant(escalation), source="test")


def test_secrets_come_from_variables_and_a_short_webhook_secret_is_refused() -> None:
    config = parse_tenant_config(
        _tenant(
            {
                "webhook": {"url": "https://hooks.acme.example/x", "secret_env": "ACME_HOOK"},
                "smtp": {
                    "host": "mail.acme.example",
                    "sender": "a@acme.example",
                    "username": "acme",
                    "password_env": "ACME_SMTP",
                    "starttls": True,
                },
            }
        ),
        source="test",
    ).escalation
    with pytest.raises(ConfigError, match="ACME_HOOK is not set"):
        tenant_sinks(config, {})
    with pytest.raises(ConfigError, match="at least 32"):
        tenant_sinks(config, {"ACME_HOOK": "short", "ACME_SMTP": "pw"})
    with pytest.raises(ConfigError, match="ACME_SMTP is not set"):
        tenant_sinks(config, {"ACME_HOOK": "k" * 32})
    sinks = tenant_sinks(config, {"ACME_HOOK": "k" * 32, "ACME_SMTP": "pw"})
    assert sorted(sinks) == ["email", "webhook"]
    assert tenant_sinks(TenantEscalation(), {}) == {}


async def test_a_missing_secret_keeps_the_delivery_pending_not_at_the_operators(
    tmp_path: Path,
) -> None:
    from frontdesk.escalation.routing import SinkRouter
    from frontdesk.escalation.sinks import SinkError, WebhookSink
    from frontdesk.memory.dialects import create_engine
    from frontdesk.memory.migrate import upgrade_engine
    from frontdesk.tenants.sinks import TenantSinks, Unusable
    from frontdesk.tenants.store import TenantStore

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    await upgrade_engine(engine)
    try:
        store = TenantStore(engine)
        document = copy.deepcopy(ACME)
        document["escalation"] = {
            "webhook": {"url": "https://hooks.acme.example/x", "secret_env": "UNSET_SECRET_X"},
            "smtp": {"host": "127.0.0.1", "sender": "a@acme.example"},
        }
        await store.create("acme", document)
        operator = WebhookSink(url="https://ops.example/hook", secret=OPERATOR_SECRET)
        router = SinkRouter({"webhook": operator}, ["ops@operator.example"])
        router.tenants = TenantSinks(store.get, environ={}).lookup
        route = await router.route("acme")
        assert route.sinks == ("webhook", "email") and route.default_emails == ()
        sink = await router.sink("acme", "webhook")
        assert isinstance(sink, Unusable)  # not the operator's webhook
        with pytest.raises(SinkError, match="UNSET_SECRET_X is not set"):
            await sink.deliver({}, delivery_id="d-1")
        assert await router.sink("default", "webhook") is operator
        assert await router.sink("globex", "webhook") is operator  # no record: the operator's
        assert (await router.route("default")).default_emails == ("ops@operator.example",)
    finally:
        await engine.dispose()
