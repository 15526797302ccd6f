"""The gateway: one model id per configured endpoint, with the bot's other endpoints
as its fallbacks, admitted and accounted per API key."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from frontdesk.admission.budgets import Subject
from frontdesk.admission.gate import Admission
from frontdesk.auth.keys import Principal
from frontdesk.config import EndpointConfig
from frontdesk.domain import Usage
from frontdesk.errors import NotFound, ProviderError
from frontdesk.events import CallReport, ProviderEvent
from frontdesk.gateway.recorder import UsageRecorder
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.metered import Metered, MeteredCall, Route
from frontdesk.telemetry import Metrics
from frontdesk.telemetry.tracing import Tracing


@dataclass
class GatewayCall:
    """One call's accounting, filled from its CallReport when it ends."""

    principal: Principal
    requested: str
    started: float = field(default_factory=time.perf_counter)
    usage: Usage = field(default_factory=Usage)
    ttft_ms: float | None = None
    provider: str = ""
    model: str = ""
    cost: Decimal = Decimal(0)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    reserved: bool = False
    """A budget reservation is held for the call (set once the call has started): its
    actual cost is settled before the answer goes out, so the caller's next request
    sees it. Without one, the accounting after the CallReport (metrics, span, usage
    record) may run after the answer is written (see :func:`gateway.api.serve_completion`)."""


class Gateway:
    def __init__(
        self,
        providers: Mapping[str, ChatProvider],
        endpoints: list[EndpointConfig],
        *,
        admission: Admission,
        recorder: UsageRecorder,
        metrics: Metrics,
        tracing: Tracing | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._endpoints = {ep.name: ep for ep in endpoints}
        self._order = [ep.name for ep in endpoints]
        self._routes: dict[str, Route] = {}
        self._admission = admission
        self._recorder = recorder
        self._metered = Metered(
            metrics=metrics, tracing=tracing, budget=admission, prices=admission.prices
        )

    def models(self) -> list[str]:
        return list(self._order)

    def has(self, model: str) -> bool:
        return model in self._providers

    def _route(self, model: str) -> Route:
        """The model's endpoint, then the others as fallbacks (built once per model: the
        chain holds no per-call state)."""
        route = self._routes.get(model)
        if route is not None:
            return route
        if model not in self._providers:
            raise NotFound(f"model {model!r} not found")
        names = [model, *(n for n in self._order if n != model)]
        chain = Fallback([self._providers[n] for n in names])
        route = self._routes[model] = Route(chain, [self._endpoints[n] for n in names])
        return route

    @staticmethod
    def subject(principal: Principal) -> Subject:
        return Subject(tenant=principal.tenant_id or "default", user=principal.key_id)

    async def admit(self, principal: Principal) -> None:
        await self._admission.admit(self.subject(principal))

    async def stream(
        self, call: GatewayCall, request: ChatRequest
    ) -> AsyncGenerator[ProviderEvent, None]:
        """Provider events for ``request`` (ending with the priced CallReport);
        budget reserved before, settled and recorded after: when the stream ends, i.e. at
        the read after the CallReport."""
        metered = await self._metered.start(
            self.subject(call.principal),
            request,
            self._route(call.requested),
            started=call.started,
            attributes={"frontdesk.gateway.model": call.requested},
        )
        call.reserved = metered.reservation is not None
        status, error = "failed", None
        try:
            async with contextlib.aclosing(metered.stream()) as events:
                async for ev in events:
                    yield ev
            status = "complete"
        except ProviderError as exc:
            error = f"{exc.code}: {exc}"
            raise
        finally:
            self._fill(call, metered.report, metered)
            await metered.finish(status, error)
            self._record(call, status, error, metered.elapsed_ms())

    @staticmethod
    def _fill(call: GatewayCall, report: CallReport, metered: MeteredCall) -> None:
        call.provider, call.model = report.provider, report.model
        call.usage = report.usage
        call.ttft_ms = metered.ttft_ms
        call.cost = report.cost or Decimal(0)
        call.attempts = [a.as_dict() for a in report.attempts]

    def _record(self, call: GatewayCall, status: str, error: str | None, total_ms: float) -> None:
        self._recorder.record(
            {
                "id": str(uuid.uuid4()),
                "tenant_id": call.principal.tenant_id or "default",
                "key_id": call.principal.key_id,
                "requested_model": call.requested,
                "provider": call.provider,
                "model": call.model,
                "status": status,
                "input_tokens": call.usage.input_tokens,
                "output_tokens": call.usage.output_tokens,
                "cached_tokens": call.usage.cached_tokens,
                "cost": call.cost,
                "ttft_ms": call.ttft_ms,
                "total_ms": total_ms,
                "error": error,
                "attempts": call.attempts,
                "created_at": datetime.now(UTC),
            }
        )

    async def aclose(self) -> None:
        await self._recorder.aclose()
        for provider in self._providers.values():  # closing twice (shared with the bot) is fine
            await provider.aclose()
