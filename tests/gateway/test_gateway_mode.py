"""/v1/chat/completions as a plain gateway: API keys, fallback, usage and cost accounting."""

from __future__ import annotations

import time

import openai
import pytest
from sqlalchemy import create_engine, select

from frontdesk.auth.cli import create_key
from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from frontdesk.memory.schema import gateway_calls
from frontdesk.settings import Settings
from tests.apphelpers import Running
from tests.providers.fake_openai import API_KEY, FakeOpenAI, error_reply, stream_reply
from tests.threaded import threaded


def _bot(base_url: str) -> BotConfig:
    return BotConfig(
        name="Gw",
        company="Acme",
        system_prompt="You are {bot_name}.",
        model=ModelConfig(chain=["primary", "standby"]),
        endpoints=[
            EndpointConfig(
                name="primary",
                dialect="openai",
                model="gpt-4o-mini",
                base_url=base_url,
                api_key_env="FAKE_VENDOR_KEY",
                max_attempts=1,
            ),
            EndpointConfig(
                name="standby", dialect="scripted", model="standby-1", script=["From standby."]
            ),
        ],
        version="gw-1",
    )


def _rows(settings: Settings) -> list[dict[str, object]]:
    engine = create_engine(settings.resolved_database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(gateway_calls)).mappings()]
    finally:
        engine.dispose()


def test_gateway_with_keys_fallback_usage_and_cost(
    migrated: Settings, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    agent = create_key(migrated.resolved_database_url, role="agent", name="al").token
    with threaded(FakeOpenAI()) as fake, running(None, bot=_bot(fake.base_url)) as http:
        base = str(http.base_url).rstrip("/") + "/v1"
        client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
        ids = [m.id for m in client.models.list().data]
        assert ids == ["frontdesk", "primary", "standby"]

        fake.push(stream_reply("Hello from the vendor.", prompt_tokens=20))
        raw = client.chat.completions.with_raw_response.create(
            model="primary",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
            ],
        )
        resp = raw.parse()
        assert resp.choices[0].message.content == "Hello from the vendor."
        assert resp.usage is not None
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (20, 4)
        assert raw.headers["x-frontdesk-provider"] == "primary"
        assert float(raw.headers["x-frontdesk-cost-usd"]) > 0
        # the system message reached the vendor unchanged (no bot prompt in gateway mode)
        sent = fake.requests[-1].json()["messages"]
        assert sent[0] == {"role": "system", "content": "Be brief."}

        fake.push(error_reply(503, "down"))
        stream = client.chat.completions.create(
            model="primary",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "From standby."

        anonymous = openai.OpenAI(base_url=base, api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            anonymous.chat.completions.create(
                model="primary", messages=[{"role": "user", "content": "hi"}]
            )
        agent_client = openai.OpenAI(base_url=base, api_key=agent, max_retries=0)
        with pytest.raises(openai.PermissionDeniedError):
            agent_client.chat.completions.create(
                model="primary", messages=[{"role": "user", "content": "hi"}]
            )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(_rows(migrated)) < 2:
            time.sleep(0.1)
    rows = sorted(_rows(migrated), key=lambda r: str(r["created_at"]))
    assert [(r["requested_model"], r["provider"], r["status"]) for r in rows] == [
        ("primary", "primary", "complete"),
        ("primary", "standby", "complete"),
    ]
    assert rows[0]["input_tokens"] == 20
    attempts = rows[1]["attempts"]
    assert isinstance(attempts, list)
    assert [a["outcome"] for a in attempts] == ["failed", "served"]


def test_a_request_without_stream_asks_the_upstream_for_one_complete_response(
    migrated: Settings, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an OpenAI client would: no stream upstream (the answer, usage and cost come in
    one response); a streamed request still streams."""
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    with threaded(FakeOpenAI()) as fake, running(None, bot=_bot(fake.base_url)) as http:
        client = openai.OpenAI(
            base_url=str(http.base_url).rstrip("/") + "/v1", api_key=key, max_retries=0
        )
        raw = client.chat.completions.with_raw_response.create(
            model="primary", messages=[{"role": "user", "content": "hi there"}]
        )
        sent = fake.requests[-1].json()
        assert "stream" not in sent and "stream_options" not in sent
        resp = raw.parse()
        assert resp.choices[0].message.content == fake.default_text
        assert resp.usage is not None and resp.usage.prompt_tokens == 5
        assert raw.headers["x-frontdesk-provider"] == "primary"
        assert float(raw.headers["x-frontdesk-cost-usd"]) > 0
        stream = client.chat.completions.create(
            model="primary", messages=[{"role": "user", "content": "hi there"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert fake.requests[-1].json()["stream"] is True


def test_costs_report_includes_gateway_calls(migrated: Settings) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime
    from decimal import Decimal

    from frontdesk.memory.dialects import create_engine as create_async
    from frontdesk.memory.reports import SpendRow, spend

    row = {
        "id": "g1",
        "tenant_id": "default",
        "key_id": "k1",
        "requested_model": "primary",
        "provider": "primary",
        "model": "gpt-4o-mini",
        "status": "complete",
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_tokens": 0,
        "cost": Decimal("0.000123"),
        "ttft_ms": 1.0,
        "total_ms": 2.0,
        "error": None,
        "attempts": [],
        "created_at": datetime.now(UTC),
    }

    async def run() -> list[SpendRow]:
        engine = create_async(migrated.resolved_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(gateway_calls.insert(), [row])
            return await spend(engine, ["bot", "model"])
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        rows = pool.submit(asyncio.run, run()).result()
    assert len(rows) == 1
    only = rows[0]
    assert only.key == ("(gateway)", "primary/gpt-4o-mini")
    assert only.cost == Decimal("0.000123")
