"""A chat turn is metered by the gateway's own wrapper (``Metered``): budget reservation,
the switch to the cheaper chain, the span named after what served, the actual cost settled
with the turn record, and the metrics. Run without a server, on a real SQLite database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from frontdesk.admission.budgets import BudgetLimit, Budgets, MemoryLedger, Subject, from_units
from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.deps import TurnDeps, TurnRequest
from frontdesk.chat.kinds import TurnOutcome, outcome_of
from frontdesk.chat.turn import AnswerTurn
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.domain import TurnRecord
from frontdesk.errors import ProviderUnavailable
from frontdesk.events import TextDelta
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.metered import Metered, Route
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing
from tests.conftest import make_bot

PRICES = load_price_table()
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def endpoint(name: str, model: str) -> EndpointConfig:
    return EndpointConfig(name=name, dialect="openai", model=model, api_key_env="X_KEY")


def scripted(name: str, model: str, *steps: Step) -> ScriptedProvider:
    return ScriptedProvider(steps=list(steps), provider_name=name, model_name=model)


@dataclass
class Bench:
    store: SqlMemoryStore
    ledger: MemoryLedger
    metrics: Metrics
    spans: InMemorySpanExporter

    def meter(self, limit: str | None) -> Metered:
        limits = [BudgetLimit("tenant", "day", Decimal(limit))] if limit else []
        budgets = Budgets(self.ledger, limits, now=lambda: NOW)
        return Metered(
            metrics=self.metrics,
            tracing=Tracing(span_exporter=self.spans),
            budget=budgets,
            prices=PRICES,
        )

    async def turn(
        self,
        metered: Metered,
        route: Route,
        *,
        cheaper: Route | None = None,
        bot: BotConfig | None = None,
    ) -> AnswerTurn:
        bot = bot or make_bot(max_output_tokens=200)
        conv = await self.store.create_conversation(tenant_id="acme", bot_id=bot.name)
        user = await self.store.add_message(conv.id, role="user", content="Where is my parcel?")
        pending = await self.store.add_message(
            conv.id, role="assistant", content="", status="pending", reply_to=user.message.id
        )
        deps = TurnDeps(
            store=self.store,
            provider=route.provider,
            bot=bot,
            metered=metered,
            route=route,
            cheaper=cheaper,
            background=BackgroundTasks(),
        )
        request = TurnRequest(
            conversation=conv,
            user_message=user.message,
            assistant_message_id=pending.message.id,
            subject=Subject("acme", conversation=conv.id),
        )
        return AnswerTurn(deps, request)

    async def record(self, outcome: TurnOutcome) -> TurnRecord:
        (record,) = await self.store.list_turns(outcome.conversation_id)
        return record

    async def tenant_balance(self) -> tuple[Decimal, Decimal]:
        spent, reserved = await self.ledger.balance("tenant:acme:day:2026-12-01")
        return from_units(spent), from_units(reserved)

    def span(self) -> ReadableSpan:
        (span,) = self.spans.get_finished_spans()
        return span

    def counted(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


async def _turns_when_stored(store: SqlMemoryStore, conversation_id: str) -> list[TurnRecord]:
    deadline = time.monotonic() + 5
    turns = await store.list_turns(conversation_id)
    while not turns and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        turns = await store.list_turns(conversation_id)
    return turns


@pytest.fixture
async def bench(migrated: Settings) -> AsyncIterator[Bench]:
    engine = create_engine(migrated.resolved_database_url)
    store = SqlMemoryStore(engine)
    try:
        yield Bench(store, MemoryLedger(), Metrics(), InMemorySpanExporter())
    finally:
        await store.close()
        await engine.dispose()


async def test_a_turn_settles_its_actual_cost_and_names_the_span_after_what_served(
    bench: Bench,
) -> None:
    down = scripted("primary", "gpt-4o-mini", Step(fail_before=ProviderUnavailable("down")))
    chain = Fallback([down, scripted("backup", "gpt-4o", Step("Tomorrow by noon."))])
    route = Route(chain, [endpoint("primary", "gpt-4o-mini"), endpoint("backup", "gpt-4o")])
    outcome = await outcome_of(await bench.turn(bench.meter("1.00"), route))
    assert (outcome.status, outcome.content) == ("complete", "Tomorrow by noon.")
    assert (outcome.provider, outcome.model) == ("backup", "gpt-4o")
    record = await bench.record(outcome)
    assert record.cost == PRICES.cost_of("gpt-4o", outcome.usage) > 0
    assert outcome.cost_usd == float(record.cost)
    assert [(a["provider"], a["outcome"]) for a in record.attempts] == [
        ("primary", "failed"),
        ("backup", "served"),
    ]
    assert await bench.tenant_balance() == (record.cost, Decimal(0))
    span = bench.span()
    assert span.name == "chat gpt-4o"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.system"] == "backup"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"  # what was asked for
    assert attrs["gen_ai.conversation.id"] == outcome.conversation_id
    assert attrs["frontdesk.config_version"] == "test-1"
    assert attrs["frontdesk.cost_usd"] == float(record.cost)
    assert attrs["frontdesk.cheaper_chain"] is False
    assert bench.counted("frontdesk_turns_total", status="complete", provider="backup") == 1
    assert bench.counted("frontdesk_provider_attempts_total", provider="primary", outcome="failed")
    assert bench.counted("frontdesk_cost_usd_total", provider="backup", model="gpt-4o") == float(
        record.cost
    )


async def test_over_budget_the_cheaper_chain_answers_and_the_span_says_so(bench: Bench) -> None:
    main = scripted("big", "gpt-4o", Step("never"))
    cheap = scripted("small", "gpt-4.1-nano", Step("Cheap but right."))
    metered = bench.meter("0.0005")  # too little for gpt-4o's worst case, enough for nano's
    turn = await bench.turn(
        metered,
        Route(main, [endpoint("big", "gpt-4o")]),
        cheaper=Route(cheap, [endpoint("small", "gpt-4.1-nano")]),
    )
    outcome = await outcome_of(turn)
    assert (outcome.content, outcome.provider, outcome.model) == (
        "Cheap but right.",
        "small",
        "gpt-4.1-nano",
    )
    assert main.requests == []
    record = await bench.record(outcome)
    assert record.params["chain"] == "small"
    assert await bench.tenant_balance() == (record.cost, Decimal(0))
    span = bench.span()
    assert span.name == "chat gpt-4.1-nano"
    assert dict(span.attributes or {})["frontdesk.cheaper_chain"] is True


async def test_over_budget_without_a_cheaper_chain_refuses_and_holds_nothing(
    bench: Bench,
) -> None:
    main = scripted("big", "gpt-4o", Step("never"))
    turn = await bench.turn(bench.meter("0.0000001"), Route(main, [endpoint("big", "gpt-4o")]))
    outcome = await outcome_of(turn)
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.code == "budget_exceeded"
    assert main.requests == []
    record = await bench.record(outcome)
    assert (record.status, record.cost, record.provider) == ("failed", Decimal(0), "big")
    assert await bench.tenant_balance() == (Decimal(0), Decimal(0))
    span = bench.span()  # the refused turn is still traced, with its error, and nothing spent
    assert span.name == "chat gpt-4o"
    assert span.status.description is not None and "budget" in span.status.description
    assert bench.counted("frontdesk_turns_total", status="failed", provider="big") == 1


async def test_a_client_disconnect_mid_answer_stores_the_partial_and_releases_the_budget(
    bench: Bench,
) -> None:
    main = scripted("main", "gpt-4o-mini", Step("one two three four five six"))
    turn = await bench.turn(bench.meter("1.00"), Route(main, [endpoint("main", "gpt-4o-mini")]))
    events = turn.events()
    while not isinstance(await anext(events), TextDelta):
        pass
    await events.aclose()
    # the inner pipeline generators are closed by the event loop's async-generator finalizer
    (record,) = await _turns_when_stored(bench.store, turn.conversation_id)
    assert (record.status, record.error) == ("partial", "client disconnected")
    assert (record.provider, record.model) == ("main", "gpt-4o-mini")
    assert await bench.tenant_balance() == (record.cost, Decimal(0))  # nothing left reserved
    assert bench.span().status.description == "client disconnected"
    assert bench.counted("frontdesk_turns_total", status="partial", provider="main") == 1
