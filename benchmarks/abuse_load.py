"""Abuse load test (issue 9): one address floods the app; real customers stay visible.

Starts the real app (``create_app``, shipped abuse defaults unless overridden) on a loopback
port in this process, with a scripted model that answers ~100 tokens, then, from 127.0.0.1:

1. ``--conversations`` (1,000) new conversations, each followed by one message (cookies
   dropped: every request is a new anonymous caller, as a script would be);
2. ``--escalations`` (1,000) "I want to talk to a human" attempts, spread over the
   conversations that were created;

then two real customers ask for a person: an anonymous one from another address
(127.0.0.2) with a real question, and a verified one (an API key). Reported: how many
requests were admitted or refused (and why), the tickets the flood produced, the real
customers' places at the top of the agent queue, the tokens the attacking address spent
against its daily anonymous budget, and escalation / queue timings, also after 10,000
open tickets are added. Everything is bounded (``--concurrency``, timeouts) and stops by
itself; nothing leaves 127.0.0.0/8.

The spend is read from the server's own anonymous ledger (what the budget enforces), not
summed by the client. ``--rate-limits off`` turns the per-address/session request limits
off so that only the daily budget bounds the flood (``--daily-tokens-per-address`` lowers
it to see it bind).

    .venv/bin/python benchmarks/abuse_load.py [--conversations 1000] [--escalations 1000]
        [--rate-limits on|off] [--daily-tokens-per-address N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert

from frontdesk.admission.anonymous import Client
from frontdesk.api.session import session_secret
from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.config import (
    BotConfig,
    Contact,
    EndpointConfig,
    KnowledgeConfig,
    MemoryConfig,
    ModelConfig,
)
from frontdesk.escalation.priority import address_key
from frontdesk.guard.config import GuardConfig
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.schema import conversations, tickets
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.services import Services
from frontdesk.settings import AbuseSettings, Settings, load_settings

FLOOD = "I want to talk to a human"
REAL = "I want to talk to a human: I was charged twice for my annual plan invoice"
VERIFIED = "Please connect me with a person, my team's invoices show a wrong VAT number"
ANSWER = " ".join(["Our support team can help with that."] * 12)


def _bot() -> BotConfig:
    return BotConfig(
        name="Loadbot",
        company="Acme",
        system_prompt="You are {bot_name} of {company}. Today is {today}.\n{contacts}",
        model=ModelConfig(chain=["scripted"]),
        memory=MemoryConfig(window_tokens=400, summary_tokens=32),
        endpoints=[EndpointConfig(name="scripted", dialect="scripted", model="scripted-1")],
        contacts={"billing": Contact(team="Billing team", email="billing@acme.example")},
        knowledge=KnowledgeConfig(enabled=False),
        guard=GuardConfig(enabled=False),
        version="abuse-load",
    )


@contextmanager
def _serve(app: Any, port: int) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _attack(base: str, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.concurrency)
    gate = asyncio.Semaphore(args.concurrency)
    created: list[str] = []
    codes: Counter[str] = Counter()
    tokens = 0
    escalation_seconds: list[float] = []

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def create_and_ask(i: int) -> None:
            nonlocal tokens
            async with gate:
                client.cookies.clear()
                r = await client.post("/api/conversations", json={})
                codes[f"create {r.status_code}"] += 1
                if r.status_code != 201:
                    return
                cid = r.json()["id"]
                created.append(cid)
                client.cookies.clear()
                m = await client.post(
                    f"/api/conversations/{cid}/messages",
                    json={"content": f"How do I export my data? ({i})", "stream": False},
                )
                codes[f"message {m.status_code}"] += 1
                if m.status_code == 200:
                    usage = m.json()["usage"]
                    tokens += usage["input_tokens"] + usage["output_tokens"]

        await asyncio.gather(*(create_and_ask(i) for i in range(args.conversations)))

        async def escalate(i: int) -> None:
            if not created:
                codes["escalate skipped (no conversation)"] += 1
                return
            cid = created[i % len(created)]
            async with gate:
                client.cookies.clear()
                started = time.perf_counter()
                r = await client.post(
                    f"/api/conversations/{cid}/messages",
                    json={"content": FLOOD, "stream": False},
                )
                escalation_seconds.append(time.perf_counter() - started)
                codes[f"escalate {r.status_code}"] += 1

        await asyncio.gather(*(escalate(i) for i in range(args.escalations)))
    return {
        "codes": codes,
        "created": len(created),
        "tokens": tokens,
        "escalation_seconds": escalation_seconds,
    }


def _customer(base: str, address: str, text: str, headers: dict[str, str]) -> tuple[str, float]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base, transport=transport, timeout=30) as client:
        cid = client.post("/api/conversations", json={}, headers=headers).json()["id"]
        started = time.perf_counter()
        r = client.post(
            f"/api/conversations/{cid}/messages",
            json={"content": text, "stream": False},
            headers=headers,
        )
        took = time.perf_counter() - started
        r.raise_for_status()
        return cid, took


async def _bulk_tickets(url: str, count: int) -> None:
    store = SqlMemoryStore.from_url(url)
    now = datetime.now(UTC) - timedelta(hours=2)
    conv_rows: list[dict[str, Any]] = []
    ticket_rows: list[dict[str, Any]] = []
    for i in range(count):
        cid = str(uuid.uuid4())
        created = now + timedelta(milliseconds=i)
        conv_rows.append(
            {
                "id": cid,
                "tenant_id": "default",
                "bot_id": "Loadbot",
                "status": "waiting_for_agent",
                "metadata": {},
                "summary": None,
                "summary_through_seq": 0,
                "created_at": created,
                "updated_at": created,
            }
        )
        ticket_rows.append(
            {
                "id": str(uuid.uuid4()),
                "tenant_id": "default",
                "conversation_id": cid,
                "status": "waiting",
                "reason": "customer_request",
                "detail": "bulk",
                "created_at": created,
                "priority": 0,
                "merged": 0,
            }
        )
    try:
        async with store.engine.begin() as conn:
            await conn.execute(insert(conversations), conv_rows)
            await conn.execute(insert(tickets), ticket_rows)
    finally:
        await store.close()


def _abuse(args: argparse.Namespace) -> AbuseSettings:
    shipped = AbuseSettings()
    changes: dict[str, Any] = {}
    if args.rate_limits == "off":
        for field in AbuseSettings.model_fields:
            if field.endswith(("_per_address", "_per_session")) and field.startswith(
                ("conversations", "messages", "escalations")
            ):
                changes[field] = 0
    if args.daily_tokens_per_address is not None:
        changes["anonymous_daily_tokens_per_address"] = args.daily_tokens_per_address
    return shipped.model_copy(update=changes)


async def _spent(services: Services, settings: Settings) -> tuple[int, Decimal]:
    """Tokens and USD the attacking address (127.0.0.1) has settled today."""
    anonymous = services.chat.admission.anonymous if services.chat.admission else None
    if anonymous is None:
        return 0, Decimal(0)
    key = address_key("127.0.0.1", session_secret(settings))
    return await anonymous.spent(Client("default", key))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--escalations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bulk-tickets", type=int, default=10_000)
    parser.add_argument("--rate-limits", choices=["on", "off"], default="on")
    parser.add_argument("--daily-tokens-per-address", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="frontdesk-abuse-") as tmp:
        settings = load_settings(
            env="test", home=Path(tmp) / "home", log_json=False, abuse=_abuse(args)
        )
        settings.data_dir.mkdir(parents=True)
        url = settings.resolved_database_url
        upgrade(url)
        agent = create_key(url, role="agent", name="agent").token
        verified = create_key(url, role="client", name="shop").token
        abuse = settings.abuse
        app = create_app(
            settings, bot=_bot(), provider=ScriptedProvider(responder=lambda _r: ANSWER)
        )
        with _serve(app, _free_port()) as base:
            started = time.perf_counter()
            attack = asyncio.run(_attack(base, args))
            attack_s = time.perf_counter() - started
            spent_tokens, spent_usd = asyncio.run(_spent(app.state.services, settings))
            real_cid, real_s = _customer(base, "127.0.0.2", REAL, {})
            key = {"Authorization": f"Bearer {verified}"}
            verified_cid, verified_s = _customer(base, "127.0.0.3", VERIFIED, key)
            with httpx.Client(base_url=base, timeout=30) as http:
                auth = {"Authorization": f"Bearer {agent}"}
                queue = http.get("/api/agent/queue?limit=10", headers=auth).json()
                top = [t["conversation_id"] for t in queue["tickets"]]
                total_after_flood = queue["total"]
                merged = sum(t["merged"] for t in queue["tickets"])
                if args.bulk_tickets:
                    asyncio.run(_bulk_tickets(url, args.bulk_tickets))
                t0 = time.perf_counter()
                big = http.get("/api/agent/queue?limit=50", headers=auth).json()
                queue_page_s = time.perf_counter() - t0
                late_cid, late_s = _customer(base, "127.0.0.4", REAL + " (later)", {})
                last_page = http.get(
                    f"/api/agent/queue?offset={big['total'] - 1}&limit=50", headers=auth
                ).json()
        esc = attack["escalation_seconds"]
        first, last = esc[:50], esc[-50:]
        print("## Abuse load test (benchmarks/abuse_load.py)")
        print(
            f"- attacker 127.0.0.1: {args.conversations} new conversations + 1 message each, "
            f"{args.escalations} escalation attempts, concurrency {args.concurrency}, "
            f"{attack_s:.1f} s"
        )
        for what, n in sorted(attack["codes"].items()):
            print(f"  - {what}: {n}")
        print(f"- conversations the attacker got: {attack['created']}")
        print(
            f"- tickets after the flood (whole queue): {total_after_flood} "
            f"(merged repeats on page 1: {merged})"
        )
        print(
            f"- real customer (127.0.0.2, anonymous, real question): place "
            f"{top.index(real_cid) + 1 if real_cid in top else 'NOT ON PAGE 1'}, "
            f"escalation {real_s * 1000:.0f} ms"
        )
        print(
            f"- verified customer (API key): place "
            f"{top.index(verified_cid) + 1 if verified_cid in top else 'NOT ON PAGE 1'}, "
            f"escalation {verified_s * 1000:.0f} ms"
        )
        print(f"- rate limits per address/session: {args.rate_limits}")
        budget = abuse.anonymous_daily_tokens_per_address
        usd_budget = abuse.anonymous_daily_usd_per_address
        within = (not budget or spent_tokens <= budget) and (
            not usd_budget or spent_usd <= usd_budget
        )
        print(
            f"- attacker address's spend on the server's anonymous ledger: {spent_tokens} "
            f"tokens, ${spent_usd:.6f}, of the daily budget {budget} tokens / "
            f"${usd_budget} per address "
            f"({abuse.anonymous_daily_tokens_per_session} tokens per session); within: "
            f"{within}"
        )
        print(f"- attacker's tokens summed from the answers' usage: {attack['tokens']}")
        print(
            f"- escalation attempt latency p50 first 50 {_pct(first, 0.5) * 1000:.0f} ms, "
            f"last 50 {_pct(last, 0.5) * 1000:.0f} ms, p99 all {_pct(esc, 0.99) * 1000:.0f} ms"
        )
        print(
            f"- with {args.bulk_tickets} more open tickets ({big['total']} open): agent queue "
            f"page {queue_page_s * 1000:.0f} ms; a new real customer's escalation "
            f"{late_s * 1000:.0f} ms; last page reachable: "
            f"{bool(last_page['tickets'])} (offset {big['total'] - 1})"
        )
        in_top = {real_cid, verified_cid} <= set(top[:2])
        print(f"- real customers are the top 2 of the queue: {in_top}")
        if esc:
            print(f"- mean escalation attempt {statistics.mean(esc) * 1000:.0f} ms")
        _ = late_cid


if __name__ == "__main__":
    main()
