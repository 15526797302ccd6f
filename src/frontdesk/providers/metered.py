"""Metering of one provider call: budget, cheaper chain, span, cost, metrics.

One :class:`Metered` per app; one :class:`MeteredCall` per call::

    metered = Metered(budget=admission, prices=prices, metrics=metrics, tracing=tracing)

    call = await metered.start(
        subject,                       # who pays (tenant / user / conversation)
        request,                       # the ChatRequest about to be sent
        Route(chain, endpoints),       # the provider (chain) and the endpoints behind it
        cheaper=Route(cheap, cheap_endpoints),  # or None: over budget refuses
        prompt_tokens=prompt.prompt_tokens,     # default: counted (when a budget applies)
        started=run_started,           # perf_counter origin of ttft/duration (default: now)
        attributes={"gen_ai.conversation.id": conv_id},  # extra span attributes
    )
    async with contextlib.aclosing(call.stream()) as events:
        async for ev in events: ...    # provider events; the CallReport arrives priced
    report = call.report               # a CallReport even when the stream broke or was closed
    await call.settle()                # the actual cost into the reservation (idempotent)
    call.observe("complete", None)     # metrics + the span, named after what served (idempotent)
    # or both at once: await call.finish("complete", None)

``start`` reserves the worst-case cost (the priciest endpoint of the route: the
prompt plus every allowed output token) in every budget that applies; when that
raises :class:`~frontdesk.errors.BudgetExceeded` and a ``cheaper`` route is given,
it reserves for the cheaper route and streams from it instead (``call.cheaper``
is then true); otherwise the error propagates and nothing is held or traced.

A turn that calls no provider (a policy answered, or it failed before the call) is
observed with ``metered.observe_no_call(provider, model, status, error, started=...)``:
the same metrics and span, nothing reserved or spent.

``call.report`` is the stream's :class:`~frontdesk.events.CallReport` with
``cost`` set; when the stream failed or was closed before its report, it is built
from the attempt events seen (``provider``/``model`` empty when nothing served).
``call.cost``, ``call.ttft_ms`` and ``call.elapsed_ms()`` are measured from
``started``. Settling and observing are separate so a caller can settle inside
the transaction that persists the call (the chat turn) and observe afterwards. The span
is written when the call is observed, opened at ``started``, so it is named after what
served from the start.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal, Protocol

from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from frontdesk.admission.budgets import Reservation, Subject
from frontdesk.config import EndpointConfig
from frontdesk.domain import Usage
from frontdesk.errors import BudgetExceeded
from frontdesk.events import (
    AttemptEvent,
    CallReport,
    Finish,
    ProviderEvent,
    TextDelta,
    ToolCallRequested,
    UsageReport,
)
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.pricing import PriceTable
from frontdesk.providers.tokens import count_request
from frontdesk.telemetry import Metrics
from frontdesk.telemetry.tracing import Tracing


class BudgetGate(Protocol):
    """Reserve before a call, settle after (``admission.gate.Admission`` and
    ``admission.budgets.Budgets`` both fit)."""

    def applies(self, subject: Subject) -> bool:
        """Whether any budget applies to ``subject`` (else nothing is reserved)."""
        ...

    async def reserve(self, subject: Subject, amount: Decimal) -> Reservation: ...

    async def settle(self, reservation: Reservation, actual: Decimal) -> None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """A provider (usually a fallback chain) and the endpoints behind it."""

    provider: ChatProvider
    endpoints: Sequence[EndpointConfig] = ()


class Metered:
    def __init__(
        self,
        *,
        metrics: Metrics,
        tracing: Tracing | None = None,
        budget: BudgetGate | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.metrics = metrics
        self.tracing = tracing or Tracing()
        self.budget = budget
        self.prices = prices

    def worst_case(
        self, endpoints: Sequence[EndpointConfig], prompt_tokens: int, max_output_tokens: int
    ) -> Decimal:
        """The most any endpoint of ``endpoints`` could charge for this call."""
        if self.prices is None:
            return Decimal(0)
        return self.prices.worst_case_for(endpoints, prompt_tokens, max_output_tokens)

    async def start(
        self,
        subject: Subject,
        request: ChatRequest,
        route: Route,
        *,
        cheaper: Route | None = None,
        prompt_tokens: int | None = None,
        started: float | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> MeteredCall:
        """Reserve the worst case (or switch to ``cheaper``); the span opens at ``started``."""
        origin = time.perf_counter() if started is None else started
        reservation: Reservation | None = None
        chosen, switched = route, False
        if self.budget is not None and self.budget.applies(subject):
            if prompt_tokens is None:
                prompt_tokens = count_request(route.provider.tokens, request)
            max_out = request.max_output_tokens
            try:
                amount = self.worst_case(route.endpoints, prompt_tokens, max_out)
                reservation = await self.budget.reserve(subject, amount)
            except BudgetExceeded:
                if cheaper is None:
                    raise
                chosen, switched = cheaper, True
                amount = self.worst_case(cheaper.endpoints, prompt_tokens, max_out)
                reservation = await self.budget.reserve(subject, amount)
        provider = chosen.provider
        span_attributes: dict[str, AttributeValue] = {
            "gen_ai.request.model": provider.model,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.max_tokens": request.max_output_tokens,
            "frontdesk.cheaper_chain": switched,
            **(attributes or {}),
        }
        return MeteredCall(
            self,
            request,
            provider,
            switched,
            reservation,
            prompt_tokens or 0,
            origin,
            span_attributes,
        )

    def observe_no_call(
        self,
        provider: str,
        model: str,
        status: str,
        error: str | None,
        *,
        started: float,
        ttft_ms: float | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """Metrics and the span of a turn that called no provider (a policy answered, or it
        failed before the call): served by ``provider``/``model``, nothing spent."""
        self._observe(
            status,
            error,
            CallReport(provider, model, (), Usage(), ttft_ms, 0.0, Decimal(0)),
            started=started,
            attributes=attributes or {},
        )

    def _observe(
        self,
        status: str,
        error: str | None,
        report: CallReport,
        *,
        started: float,
        attributes: Mapping[str, AttributeValue],
        finish_reason: str | None = None,
    ) -> None:
        """One call's metrics and its span, named after what served (``report``)."""
        now = time.perf_counter()
        elapsed_s = now - started
        provider, model = report.provider, report.model
        cost = float(report.cost or 0)
        self.metrics.observe_turn(
            status=status,
            provider=provider,
            model=model,
            usage=report.usage,
            duration_s=elapsed_s,
            ttft_s=None if report.ttft_ms is None else report.ttft_ms / 1000,
            cost_usd=cost,
        )
        for attempt in report.attempts:
            self.metrics.provider_attempts.labels(attempt.provider, attempt.outcome).inc()
        if not self.tracing.recording:
            return
        span = self.tracing.tracer.start_span(
            f"chat {model}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.system": provider,
                "gen_ai.request.model": model,
                "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": report.usage.input_tokens,
                "gen_ai.usage.output_tokens": report.usage.output_tokens,
                "gen_ai.response.finish_reasons": [finish_reason or "none"],
                "frontdesk.provider": provider,
                "frontdesk.status": status,
                "frontdesk.cost_usd": cost,
                "frontdesk.ttft_ms": report.ttft_ms or 0.0,
                **attributes,
            },
            start_time=time.time_ns() - int(elapsed_s * 1e9),
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


TtftSource = float | None | Literal["stream"]


@dataclass
class MeteredCall:
    """One metered call; see the module docstring for the order of use."""

    meter: Metered
    request: ChatRequest
    provider: ChatProvider
    """What is called: the route's provider, or the cheaper route's when over budget."""
    cheaper: bool
    reservation: Reservation | None
    prompt_tokens: int
    """As counted for the reservation (0 when no budget applied and none was given)."""
    started: float
    span_attributes: dict[str, AttributeValue]
    """Attributes of the span (opened at ``started`` once the call is observed)."""
    ttft_ms: float | None = None
    usage: Usage = field(default_factory=Usage)
    attempts: list[AttemptEvent] = field(default_factory=list)
    finish_reason: str | None = None
    tool_called: bool = False
    """The provider asked for a tool call (it served, even without text)."""
    _report: CallReport | None = None
    _settled: bool = False
    _observed: bool = False

    async def stream(self) -> AsyncGenerator[ProviderEvent, None]:
        """The provider's events; its CallReport is passed on with ``cost`` set."""
        upstream = self.provider.stream(self.request)
        try:
            async for event in upstream:
                if isinstance(event, TextDelta):
                    if self.ttft_ms is None:
                        self.ttft_ms = (time.perf_counter() - self.started) * 1000
                elif isinstance(event, UsageReport):
                    self.usage = event.usage
                elif isinstance(event, AttemptEvent):
                    self.attempts.append(event)
                elif isinstance(event, CallReport):
                    self.usage = event.usage
                    event = replace(event, cost=self._price(event.model, event.usage))
                    self._report = event
                elif isinstance(event, Finish):
                    self.finish_reason = event.reason
                elif isinstance(event, ToolCallRequested):
                    self.tool_called = True
                yield event
        finally:
            await upstream.aclose()

    def _price(self, model: str, usage: Usage) -> Decimal:
        prices = self.meter.prices
        if prices is None or not model:
            return Decimal(0)
        return prices.cost_of(model, usage)

    @property
    def report(self) -> CallReport:
        """The priced report; built from what was seen when the stream ended early."""
        if self._report is not None:
            return self._report
        served = next((a for a in reversed(self.attempts) if a.outcome == "served"), None)
        provider, model = (served.provider, served.model) if served else ("", "")
        began = self.ttft_ms is not None or self.tool_called
        if served is None and not self.attempts and began:
            # a single provider (no chain announcing attempts) that began answering
            provider, model = self.provider.name, self.provider.model
        return CallReport(
            provider,
            model,
            tuple(self.attempts),
            self.usage,
            self.ttft_ms,
            self.elapsed_ms(),
            self._price(model, self.usage),
        )

    @property
    def cost(self) -> Decimal:
        return self.report.cost or Decimal(0)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    async def settle(self) -> None:
        """Settle the reservation with the actual cost (once; later calls do nothing)."""
        if self._settled:
            return
        self._settled = True
        if self.reservation is not None and self.meter.budget is not None:
            await self.meter.budget.settle(self.reservation, self.cost)

    def observe(
        self,
        status: str,
        error: str | None,
        *,
        ttft_ms: TtftSource = "stream",
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """Metrics and the span (named after what served), once.

        ``ttft_ms``: ``"stream"`` (the provider's first text delta), or the caller's own
        measure from ``started`` (the chat turn's: the first text the customer saw)."""
        if self._observed:
            return
        self._observed = True
        report = self.report
        served = report.provider
        report = replace(
            report,
            provider=served or "none",
            model=report.model or self.provider.model,
            ttft_ms=self.ttft_ms if ttft_ms == "stream" else ttft_ms,
        )
        self.meter._observe(
            status,
            error,
            report,
            started=self.started,
            attributes={
                **self.span_attributes,
                "gen_ai.system": served or self.provider.name,
                **(attributes or {}),
            },
            finish_reason=self.finish_reason,
        )

    async def finish(
        self,
        status: str,
        error: str | None,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """``settle()`` then ``observe()``; the metrics and span even if settling fails."""
        try:
            await self.settle()
        finally:
            self.observe(status, error, attributes=attributes)
