"""Issue 4 through the real app: request limits (429 + Retry-After) and budgets that
refuse clearly, route to a cheaper chain, and hold under concurrent turns."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.config import (
    BotConfig,
    BudgetConfig,
    EndpointConfig,
    LimitsConfig,
    ModelConfig,
)
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import AbuseSettings, Settings
from tests.apphelpers import Running, new_conversation, parse_sse, send, text_of
from tests.providers.fake_openai import API_KEY, FakeOpenAI, stream_reply
from tests.servers import serve
from tests.threaded import threaded


def _bot(base_url: str, **extra: object) -> BotConfig:
    return BotConfig(
        name="Gw",
        company="Acme",
        system_prompt="You are {bot_name}.",
        model=ModelConfig(chain=["primary"], max_output_tokens=100),
        endpoints=[
            EndpointConfig(
                name="primary",
                dialect="openai",
                model="gpt-4o",
                base_url=base_url,
                api_key_env="FAKE_VENDOR_KEY",
            ),
            EndpointConfig(
                name="standby", dialect="scripted", model="standby-1", script=["Cheap answer."]
            ),
        ],
        version="gw-1",
        **extra,
    )


def test_conversation_rate_limit_is_429_with_retry_after(running: Running) -> None:
    bot = BotConfig(
        name="T",
        company="A",
        system_prompt="x",
        model=ModelConfig(chain=["s"]),
        endpoints=[EndpointConfig(name="s", dialect="scripted", model="s-1")],
        limits=LimitsConfig(conversation_rpm=2),
    )
    with running(ScriptedProvider.from_texts(["ok"]), bot=bot) as client:
        cid = new_conversation(client)
        send(client, cid, "one")
        send(client, cid, "two")
        r = client.post(f"/api/conversations/{cid}/messages", json={"content": "three"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # the refused message was not stored
        assert len(client.get(f"/api/conversations/{cid}").json()["messages"]) == 4
        # another conversation is not affected
        assert text_of(send(client, new_conversation(client), "hi")) == "ok"


def test_over_budget_is_refused_clearly(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    tiny = [BudgetConfig(scope="conversation", window="day", amount_usd=Decimal("0.0001"))]
    with threaded(FakeOpenAI()) as fake, running(None, bot=_bot(fake.base_url, budgets=tiny)) as c:
        cid = new_conversation(c)
        events = send(c, cid, "hello")
        assert events[-1].event == "error"
        assert events[-1].data["code"] == "budget_exceeded"
        assert "usage budget" in events[-1].data["message"]
        assert fake.requests == []  # the vendor was never called


def test_over_budget_routes_to_cheaper_chain(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    tiny = [BudgetConfig(scope="tenant", window="month", amount_usd=Decimal("0.0001"))]
    bot = _bot(
        "http://127.0.0.1:9/v1", budgets=tiny, over_budget="cheaper", cheaper_chain=["standby"]
    )
    with running(None, bot=bot) as client:
        events = send(client, new_conversation(client), "hello")
        assert text_of(events) == "Cheap answer."
        assert events[-1].data["provider"] == "standby"


def test_concurrent_turns_never_spend_past_the_budget(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 turns at once against a budget that fits only a few worst-case calls."""
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    budget = Decimal("0.01")
    bot = _bot("", budgets=[BudgetConfig(scope="tenant", window="day", amount_usd=budget)])
    with threaded(FakeOpenAI()) as fake:
        for _ in range(40):
            fake.push(stream_reply("word " * 90, prompt_tokens=60))
        bot = bot.model_copy(
            update={
                "endpoints": [
                    bot.endpoints[0].model_copy(update={"base_url": fake.base_url}),
                    bot.endpoints[1],
                ]
            }
        )
        # 40 turns at once from one browser session: over the per-session message limit
        unlimited = AbuseSettings(messages_per_session=0, messages_per_address=0)
        app = create_app(migrated.model_copy(update={"abuse": unlimited}), bot=bot)
        with serve(app) as url:

            async def post(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
                # A real client honours 503 + Retry-After: SQLite may answer database_busy when
                # 40 writers arrive at once on a loaded machine; that is not what is tested here.
                for _ in range(20):
                    r = await client.post(path, json=body)
                    if r.status_code != 503:
                        return r
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                return r

            async def one(client: httpx.AsyncClient) -> str:
                cid = (await post(client, "/api/conversations", {})).json()["id"]
                question = {"content": "How do I export data?"}
                r = await post(client, f"/api/conversations/{cid}/messages", question)
                return parse_sse(r.text)[-1].event

            async def all_at_once() -> list[str]:
                async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                    return await asyncio.gather(*(one(client) for _ in range(40)))

            outcomes = asyncio.run(all_at_once())
    assert "done" in outcomes
    assert "error" in outcomes  # some were refused: the budget is smaller than the demand

    async def spent() -> Decimal:
        store = SqlMemoryStore.from_url(migrated.resolved_database_url)
        try:
            total = Decimal(0)
            for conv_turns in [await store.list_turns(c) for c in await _conversations(store)]:
                total += sum((t.cost for t in conv_turns), Decimal(0))
            return total
        finally:
            await store.close()

    total = asyncio.run(spent())
    assert Decimal(0) < total <= budget


async def _conversations(store: SqlMemoryStore) -> list[str]:
    from sqlalchemy import select

    from frontdesk.memory.schema import conversations

    async with store.engine.connect() as conn:
        return [r[0] for r in (await conn.execute(select(conversations.c.id))).all()]
