"""``frontdesk tenants delete NAME --yes`` while the server runs: everything of the tenant
goes (conversations, messages, turn records, attachments, tickets with their outbox rows,
documents and chunks, API keys, usage records), its site key and keys are refused by the
running server at once, and the other tenant's data is untouched, row for row, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import copy
import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.escalation.sinks import SinkError
from frontdesk.knowledge.schema import kb_chunks, kb_collections, kb_documents
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.schema import (
    api_keys,
    conversation_signals,
    conversations,
    escalation_outbox,
    gateway_calls,
    messages,
    ticket_notes,
    tickets,
    turns,
)
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.resolve import SITE_HEADER
from frontdesk.wiring import EscalationOptions
from tests.apphelpers import sse_events, text_of
from tests.cli_run import run_cli
from tests.conftest import make_bot
from tests.memory.pg import temporary_database
from tests.servers import serve
from tests.tenants.world import (
    ACME,
    ACME_DOCS,
    GLOBEX,
    GLOBEX_DOCS,
    create_tenant,
    in_thread,
    ingest_docs,
)

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b2"
    "a5c40000000049454e44ae426082"
)


class Unreachable:
    """A sink that always fails: its deliveries stay in the outbox (pending)."""

    name = "webhook"

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None:
        raise SinkError("unreachable")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _counts(url: str, tenant: str, *, knowledge: bool) -> dict[str, int]:
    """Rows of ``tenant`` in every table that holds a tenant's data."""
    convs = select(conversations.c.id).where(conversations.c.tenant_id == tenant)
    ticket_ids = select(tickets.c.id).where(tickets.c.tenant_id == tenant)
    queries = {
        "conversations": select(func.count()).select_from(convs.subquery()),
        "messages": select(func.count()).where(messages.c.conversation_id.in_(convs)),
        "turns": select(func.count()).where(turns.c.conversation_id.in_(convs)),
        "tickets": select(func.count()).where(tickets.c.tenant_id == tenant),
        "ticket_notes": select(func.count()).where(ticket_notes.c.ticket_id.in_(ticket_ids)),
        "outbox": select(func.count()).where(escalation_outbox.c.ticket_id.in_(ticket_ids)),
        "signals": select(func.count()).where(conversation_signals.c.conversation_id.in_(convs)),
        "api_keys": select(func.count()).where(api_keys.c.tenant_id == tenant),
        "usage": select(func.count()).where(gateway_calls.c.tenant_id == tenant),
    }
    if knowledge:
        queries["kb_collections"] = select(func.count()).where(kb_collections.c.tenant == tenant)
        queries["kb_documents"] = select(func.count()).where(kb_documents.c.tenant == tenant)
        queries["kb_chunks"] = select(func.count()).where(kb_chunks.c.tenant == tenant)
    # every table counted, orphans included: outbox rows have no foreign key
    orphans = select(func.count()).where(escalation_outbox.c.ticket_id.not_in(select(tickets.c.id)))
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            out = {name: int((await conn.execute(q)).scalar_one()) for name, q in queries.items()}
            out["orphan_outbox"] = int((await conn.execute(orphans)).scalar_one())
            return out
    finally:
        await engine.dispose()


async def _usage_row(url: str, tenant: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(gateway_calls).values(
                    id=uuid.uuid4().hex,
                    tenant_id=tenant,
                    key_id="k",
                    requested_model="m",
                    provider="p",
                    model="m",
                    status="ok",
                    input_tokens=3,
                    output_tokens=4,
                    cached_tokens=0,
                    cost=Decimal("0.001"),
                    ttft_ms=None,
                    total_ms=5.0,
                    error=None,
                    attempts=[],
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        await engine.dispose()


def _count(url: str, tenant: str, knowledge: bool) -> dict[str, int]:
    return in_thread(partial(_counts, url, tenant, knowledge=knowledge))


def _media_files(settings: Settings, conversation_id: str) -> list[Path]:
    root = settings.data_dir / "media"
    return [p for p in root.rglob("*") if p.is_file() and conversation_id in str(p)]


def _generative(document: dict[str, Any], reply: str) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["bot"]["endpoints"][0]["script"] = [reply] * 6
    doc["bot"]["knowledge"] = {"enabled": False}
    doc["bot"]["answer"] = {"mode": "generative"}
    return doc


def _exercise(settings: Settings, env: dict[str, str], *, knowledge: bool) -> None:
    url = settings.resolved_database_url
    if knowledge:
        acme_doc, globex_doc = copy.deepcopy(ACME), copy.deepcopy(GLOBEX)
    else:
        acme_doc = _generative(ACME, "Acme answers.")
        globex_doc = _generative(GLOBEX, "Globex answers.")
    records = {
        "acme": create_tenant(settings, "acme", acme_doc),
        "globex": create_tenant(settings, "globex", globex_doc),
    }
    if knowledge:
        ingest_docs(settings, settings.home, ACME_DOCS, tenant="acme", collection="acme-docs")
        ingest_docs(settings, settings.home, GLOBEX_DOCS, tenant="globex", collection="globex-docs")
    keys = {
        t: {
            role: _bearer(create_key(url, role=role, name=role, tenant_id=t).token)
            for role in ("admin", "agent")
        }
        for t in records
    }
    app = create_app(
        settings,
        bot=make_bot(),
        provider=ScriptedProvider.from_texts(["Default."] * 4),
        escalation=EscalationOptions(sinks={"webhook": Unreachable()}),
    )
    conversation_of: dict[str, str] = {}
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        for tenant, record in records.items():
            site = {SITE_HEADER: record.site_key}
            cid = http.post("/api/conversations", json={}, headers=site).json()["id"]
            answer = http.post(
                f"/api/conversations/{cid}/messages",
                json={"content": "How many days do I have to get a refund on an annual plan?"},
                headers=site,
            )
            assert text_of(sse_events(answer)), answer.text
            upload = http.post(
                "/api/attachments",
                data={"conversation_id": cid},
                files={"file": ("shot.png", TINY_PNG, "image/png")},
                headers=site,
            )
            assert upload.status_code == 201, upload.text
            assert _media_files(settings, cid)
            escalated = http.post("/api/conversations", json={}, headers=site).json()["id"]
            human = http.post(
                f"/api/conversations/{escalated}/messages",
                json={"content": "I want to talk to a person please"},
                headers=site,
            )
            assert human.status_code == 200
            (ticket,) = http.get("/api/agent/queue", headers=keys[tenant]["agent"]).json()[
                "tickets"
            ]
            note = http.post(
                f"/api/agent/tickets/{ticket['id']}/notes",
                json={"content": "customer is on the annual plan"},
                headers=keys[tenant]["agent"],
            )
            assert note.status_code in (200, 201), note.text
            in_thread(partial(_usage_row, url, tenant))
            conversation_of[tenant] = cid
        before = {t: _count(url, t, knowledge) for t in records}
        for tenant in records:
            for table, n in before[tenant].items():
                if table != "orphan_outbox":
                    assert n > 0, (tenant, table)  # every table holds something to delete

        refused = run_cli(["tenants", "delete", "acme"], env)
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert run_cli(["tenants", "delete", "default", "--yes"], env).returncode == 2
        assert _count(url, "acme", knowledge) == before["acme"]

        done = run_cli(["tenants", "delete", "acme", "--yes"], env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["record"] is True and report["conversations"] == 2
        assert report["attachments"] >= 1 and report["api_keys"] == 2
        assert report["usage_records"] == 1
        assert report["documents"] == (len(ACME_DOCS) if knowledge else 0)
        assert "tenant acme deleted by cli" in done.stderr  # the audit line

        acme_site = {SITE_HEADER: records["acme"].site_key}
        # refused by the running server at once (the CLI waited out its caches)
        assert http.post("/api/conversations", json={}, headers=acme_site).status_code == 404
        assert http.get(f"/api/site/{records['acme'].site_key}").status_code == 404
        assert http.get("/api/agent/queue", headers=keys["acme"]["agent"]).status_code == 401
        assert http.get("/api/admin/stats", headers=keys["acme"]["admin"]).status_code == 401
        after = {t: _count(url, t, knowledge) for t in records}
        assert set(after["acme"].values()) == {0}, after["acme"]
        assert after["globex"] == before["globex"]  # untouched, row for row
        assert not _media_files(settings, conversation_of["acme"])
        assert _media_files(settings, conversation_of["globex"])
        # the other tenant still works end to end
        globex_site = {SITE_HEADER: records["globex"].site_key}
        own = http.get(f"/api/conversations/{conversation_of['globex']}", headers=globex_site)
        assert own.status_code == 200
        assert http.post("/api/conversations", json={}, headers=globex_site).status_code == 201

        again = run_cli(["tenants", "delete", "acme", "--yes"], env)
        assert again.returncode == 2 and "no tenant 'acme'" in again.stderr


def _env(settings: Settings, database_url: str | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env = {
        **base,
        "FRONTDESK_HOME": str(settings.home),
        "FRONTDESK_LOG_JSON": "false",
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_API_KEY_CACHE_SECONDS": str(settings.api_key_cache_seconds),
    }
    if database_url is not None:
        env["FRONTDESK_DATABASE_URL"] = database_url
    return env


def test_delete_a_tenant_on_sqlite(migrated: Settings) -> None:
    settings = migrated.model_copy(update={"api_key_cache_seconds": 1.0})
    _exercise(settings, _env(settings), knowledge=True)


@pytest.mark.postgres
def test_delete_a_tenant_on_postgresql(settings: Settings) -> None:
    with temporary_database("frontdesk_tenant_delete") as url:
        in_thread(lambda: _upgrade(url))
        plain = url.replace("+asyncpg", "")
        pg = settings.model_copy(update={"database_url": plain, "api_key_cache_seconds": 1.0})
        pg.data_dir.mkdir(parents=True, exist_ok=True)
        _exercise(pg, _env(pg, plain), knowledge=False)


async def _upgrade(url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, url)
