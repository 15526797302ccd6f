"""Metered: worst-case reservation, the cheaper chain, settling from the CallReport,
the span named after what served, and the metrics."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from frontdesk.admission.budgets import BudgetLimit, Budgets, MemoryLedger, Subject, from_units
from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import BudgetExceeded, ProviderError, ProviderUnavailable
from frontdesk.events import CallReport, ProviderEvent, TextDelta
from frontdesk.providers.base import ChatRequest, TokenCounter
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.metered import Metered, MeteredCall, Route
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.providers.wrapper import ProviderWrapper
from frontdesk.telemetry import Metrics
from frontdesk.telemetry.tracing import Tracing

ACME = Subject("acme", user="u1")
REQUEST = ChatRequest([ChatMessage("user", "Where is my parcel?")], max_output_tokens=1000)
PRICES = load_price_table()


def endpoint(name: str, model: str) -> EndpointConfig:
    return EndpointConfig(name=name, dialect="openai", model=model, api_key_env="X_KEY")


def scripted(name: str, model: str, *steps: Step) -> ScriptedProvider:
    return ScriptedProvider(steps=list(steps), provider_name=name, model_name=model)


class Setup:
    def __init__(self, limit: str | None = None) -> None:
        self.ledger = MemoryLedger()
        limits = [BudgetLimit("tenant", "day", Decimal(limit))] if limit else []
        now = datetime(2026, 11, 30, 12, tzinfo=UTC)
        self.budgets = Budgets(self.ledger, limits, now=lambda: now)
        self.metrics = Metrics()
        self.spans = InMemorySpanExporter()
        self.metered = Metered(
            metrics=self.metrics,
            tracing=Tracing(span_exporter=self.spans),
            budget=self.budgets,
            prices=PRICES,
        )

    async def spent(self) -> tuple[Decimal, Decimal]:
        key = self.budgets.lines(ACME)[0].key
        spent, reserved = await self.ledger.balance(key)
        return from_units(spent), from_units(reserved)

    def span(self) -> ReadableSpan:
        (span,) = self.spans.get_finished_spans()
        return span

    def counted(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


async def drain(call: MeteredCall) -> list[ProviderEvent]:
    async with aclosing(call.stream()) as events:
        return [ev async for ev in events]


async def read_text(call: MeteredCall, seen: list[str]) -> None:
    async with aclosing(call.stream()) as events:
        async for ev in events:
            if isinstance(ev, TextDelta):
                seen.append(ev.text)


async def test_reserves_the_worst_case_and_settles_the_actual_cost() -> None:
    s = Setup(limit="1.00")
    chain = Fallback([scripted("main", "gpt-4o-mini", Step("Tomorrow by noon."))])
    call = await s.metered.start(ACME, REQUEST, Route(chain, [endpoint("main", "gpt-4o-mini")]))
    worst = PRICES.worst_case("gpt-4o-mini", call.prompt_tokens, 1000)
    assert worst > 0
    assert await s.spent() == (Decimal(0), worst)
    events = await drain(call)
    report = events[-1]
    assert isinstance(report, CallReport)
    assert report.cost == PRICES.cost_of("gpt-4o-mini", report.usage) > 0
    assert call.report is report
    await call.finish("complete", None)
    await call.finish("complete", None)  # idempotent: settled and observed once
    assert await s.spent() == (report.cost, Decimal(0))
    assert s.counted("frontdesk_turns_total", status="complete", provider="main") == 1
    assert s.counted("frontdesk_provider_attempts_total", provider="main", outcome="served") == 1
    assert s.span().name == "chat gpt-4o-mini"


async def test_over_budget_switches_to_the_cheaper_route_and_names_the_span_after_it() -> None:
    s = Setup(limit="0.0005")  # too little for gpt-4o's worst case, enough for nano's
    main = Fallback([scripted("big", "gpt-4o", Step("expensive"))])
    cheap_down = scripted("cheap-a", "gpt-4.1-nano", Step(fail_before=ProviderUnavailable("x")))
    cheap = Fallback([cheap_down, scripted("cheap-b", "gpt-4o-mini", Step("Cheap answer."))])
    call = await s.metered.start(
        ACME,
        REQUEST,
        Route(main, [endpoint("big", "gpt-4o")]),
        cheaper=Route(cheap, [endpoint("cheap-a", "gpt-4.1-nano")]),
    )
    assert call.cheaper and call.provider is cheap
    await drain(call)
    await call.finish("complete", None)
    assert (call.report.provider, call.report.model) == ("cheap-b", "gpt-4o-mini")
    assert [(a.provider, a.outcome) for a in call.report.attempts] == [
        ("cheap-a", "failed"),
        ("cheap-b", "served"),
    ]
    span = s.span()
    assert span.name == "chat gpt-4o-mini"  # what served, not the primary chain
    assert span.attributes is not None
    assert span.attributes["frontdesk.cheaper_chain"] is True
    assert span.attributes["frontdesk.provider"] == "cheap-b"
    assert (await s.spent())[1] == 0


async def test_over_budget_without_a_cheaper_route_refuses_and_holds_nothing() -> None:
    s = Setup(limit="0.0000001")
    chain = scripted("main", "gpt-4o", Step("never"))
    with pytest.raises(BudgetExceeded):
        await s.metered.start(ACME, REQUEST, Route(chain, [endpoint("main", "gpt-4o")]))
    assert await s.spent() == (Decimal(0), Decimal(0))
    assert s.spans.get_finished_spans() == ()
    assert chain.requests == []


async def test_a_break_after_text_still_reports_who_served_and_settles() -> None:
    s = Setup(limit="1.00")
    broken = Step("one two three four", fail_after_tokens=2)
    chain = Fallback([scripted("main", "gpt-4o-mini", broken)])
    call = await s.metered.start(ACME, REQUEST, Route(chain, [endpoint("main", "gpt-4o-mini")]))
    seen: list[str] = []
    with pytest.raises(ProviderError):
        await read_text(call, seen)
    assert seen == ["one ", "two "]
    await call.finish("partial", "provider_error: broke")
    assert (call.report.provider, call.report.model) == ("main", "gpt-4o-mini")
    assert call.ttft_ms is not None
    assert await s.spent() == (Decimal(0), Decimal(0))  # no usage reported: nothing charged
    assert s.counted("frontdesk_turns_total", status="partial", provider="main") == 1
    assert s.span().status.description == "provider_error: broke"


async def test_closing_early_closes_the_provider_and_releases_the_reservation() -> None:
    s = Setup(limit="1.00")
    closed: list[bool] = []

    class Watching(ScriptedProvider):
        async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
            try:
                async for ev in super()._call(request):
                    yield ev
            finally:
                closed.append(True)

    chain = Watching(steps=[Step("a b c d e f")], provider_name="w", model_name="gpt-4o-mini")
    call = await s.metered.start(ACME, REQUEST, Route(chain, [endpoint("w", "gpt-4o-mini")]))
    events = call.stream()
    while not isinstance(await anext(events), TextDelta):
        pass
    await events.aclose()
    assert closed == [True]
    await call.finish("partial", "client disconnected")
    report = call.report
    assert (report.provider, report.usage, report.cost) == ("w", Usage(), Decimal(0))
    assert await s.spent() == (Decimal(0), Decimal(0))


async def test_without_budgets_or_prices_it_only_observes() -> None:
    metrics = Metrics()
    metered = Metered(metrics=metrics)
    call = await metered.start(ACME, REQUEST, Route(scripted("s", "scripted-1", Step("hi"))))
    assert call.reservation is None
    await drain(call)
    await call.finish("complete", None)
    assert call.cost == Decimal(0)
    assert call.report.usage.output_tokens == 1


async def test_no_token_count_or_reservation_when_no_budget_applies() -> None:
    s = Setup(limit=None)
    s.budgets = Budgets(s.ledger, [BudgetLimit("user", "day", Decimal("1.00"))])
    metered = Metered(metrics=s.metrics, budget=s.budgets, prices=PRICES)
    counted: list[int] = []

    class Counter:
        def __init__(self, inner: TokenCounter) -> None:
            self.inner = inner

        def count(self, text: str) -> int:
            return self.inner.count(text)

        def count_messages(self, messages: Sequence[ChatMessage]) -> int:
            counted.append(1)
            return self.inner.count_messages(messages)

    class Counting(ProviderWrapper):
        @property
        def tokens(self) -> TokenCounter:
            return Counter(self.inner.tokens)

    provider = Counting(scripted("c", "gpt-4o", Step("ok"), Step("ok")))
    anonymous = Subject("acme")  # a user budget does not apply to a caller without a user
    call = await metered.start(anonymous, REQUEST, Route(provider, [endpoint("c", "gpt-4o")]))
    assert (call.reservation, call.prompt_tokens, counted) == (None, 0, [])
    await drain(call)
    await call.finish("complete", None)
    assert call.cost == PRICES.cost_of("gpt-4o", call.report.usage) > 0  # still priced
    keyed = await metered.start(ACME, REQUEST, Route(provider, [endpoint("c", "gpt-4o")]))
    assert keyed.reservation is not None and counted == [1]
    assert not Tracing().recording and Tracing(span_exporter=s.spans).recording
