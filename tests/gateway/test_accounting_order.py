"""When a gateway call's accounting runs: after the answer is written unless a budget
reservation waits to be settled (then before, so the caller's next request sees the cost)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest
from starlette.types import Message

from frontdesk.admission.buckets import MemoryBuckets
from frontdesk.admission.budgets import MemoryLedger
from frontdesk.admission.gate import Admission
from frontdesk.api.openai_compat import OAIChatRequest
from frontdesk.auth.keys import Principal
from frontdesk.config import BotConfig, BudgetConfig, EndpointConfig, ModelConfig
from frontdesk.gateway.api import serve_completion
from frontdesk.gateway.recorder import UsageRecorder
from frontdesk.gateway.service import Gateway
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.telemetry import Metrics

PRINCIPAL = Principal(key_id="k1", name="client", role="client", tenant_id="default")


class Recorder:
    """A usage recorder that notes when a call was recorded among the messages sent."""

    def __init__(self, order: list[str]) -> None:
        self.order = order
        self.rows: list[dict[str, Any]] = []

    def record(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.order.append(f"recorded {row['status']}")

    async def aclose(self) -> None:
        return None


def _gateway(order: list[str], *, budget: bool) -> tuple[Gateway, Recorder]:
    endpoint = EndpointConfig(name="s", dialect="scripted", model="gpt-4o-mini")
    budgets = [BudgetConfig(scope="user", window="day", amount_usd=Decimal("5"))]
    bot = BotConfig(
        name="T",
        company="A",
        system_prompt="x",
        model=ModelConfig(chain=["s"]),
        endpoints=[endpoint],
        budgets=budgets if budget else [],
    )
    admission = Admission.for_bot(
        bot, buckets=MemoryBuckets(), ledger=MemoryLedger(), prices=load_price_table()
    )
    recorder = Recorder(order)
    provider = ScriptedProvider.from_texts(["Hello there."], provider_name="s")
    gateway = Gateway(
        {"s": provider},
        [endpoint],
        admission=admission,
        recorder=cast(UsageRecorder, recorder),
        metrics=Metrics(),
    )
    return gateway, recorder


async def _answer(gateway: Gateway, order: list[str], body: dict[str, Any]) -> bytes:
    response = await serve_completion(OAIChatRequest.model_validate(body), PRINCIPAL, None, gateway)
    parts: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            order.append("start")
        elif message["type"] == "http.response.body":
            body_part = message.get("body", b"")
            parts.append(body_part)
            if b"[DONE]" in body_part:
                order.append("done")
            if not message.get("more_body", False):
                order.append("end")

    await response({"type": "http", "method": "POST"}, receive, send)
    return b"".join(parts)


ASK = {"model": "s", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("budget", [False, True])
async def test_complete_answer_written_before_its_accounting_without_a_budget(
    budget: bool,
) -> None:
    order: list[str] = []
    gateway, recorder = _gateway(order, budget=budget)
    body = await _answer(gateway, order, ASK)
    assert b"Hello there." in body
    if budget:  # settled (and recorded) before the answer goes out
        assert order == ["recorded complete", "start", "end"]
    else:
        assert order == ["start", "end", "recorded complete"]
    row = recorder.rows[0]
    assert row["status"] == "complete" and row["provider"] == "s" and row["output_tokens"] > 0


@pytest.mark.parametrize("budget", [False, True])
async def test_stream_done_written_before_its_accounting_without_a_budget(budget: bool) -> None:
    order: list[str] = []
    gateway, recorder = _gateway(order, budget=budget)
    streamed = {**ASK, "stream": True, "stream_options": {"include_usage": True}}
    body = await _answer(gateway, order, streamed)
    assert b"Hello" in body and b'"usage"' in body
    if budget:
        assert order == ["start", "recorded complete", "done", "end"]
    else:
        assert order == ["start", "done", "recorded complete", "end"]
    assert recorder.rows[0]["status"] == "complete"
