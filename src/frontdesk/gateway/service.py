"""The gateway: one model id per configured endpoint, with the bot's other endpoints
as its fallbacks, admitted and accounted per API key."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from frontdesk.auth.keys import Principal
from frontdesk.chat.admission import Admission
from frontdesk.config import EndpointConfig
from frontdesk.domain import Usage
from frontdesk.errors import NotFound, ProviderError
from frontdesk.events import ProviderEvent, TextDelta, UsageReport
from frontdesk.gateway.recorder import UsageRecorder
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.budget import Reservation, Subject
from frontdesk.providers.fallback import Fallback
from frontdesk.telemetry import Metrics


@dataclass
class GatewayCall:
    """One call's accounting, filled while it streams."""

    principal: Principal
    requested: str
    started: float = field(default_factory=time.perf_counter)
    usage: Usage = field(default_factory=Usage)
    ttft_ms: float | None = None
    provider: str = ""
    model: str = ""
    cost: Decimal = Decimal(0)
    attempts: list[dict[str, Any]] = field(default_factory=list)


class Gateway:
    def __init__(
        self,
        providers: Mapping[str, ChatProvider],
        endpoints: list[EndpointConfig],
        *,
        admission: Admission,
        recorder: UsageRecorder,
        metrics: Metrics,
    ) -> None:
        self._providers = dict(providers)
        self._endpoints = {ep.name: ep for ep in endpoints}
        self._order = [ep.name for ep in endpoints]
        self._admission = admission
        self._recorder = recorder
        self._metrics = metrics

    def models(self) -> list[str]:
        return list(self._order)

    def has(self, model: str) -> bool:
        return model in self._providers

    def _chain(self, model: str) -> tuple[ChatProvider, list[EndpointConfig]]:
        if model not in self._providers:
            raise NotFound(f"model {model!r} not found")
        names = [model, *(n for n in self._order if n != model)]
        return Fallback([self._providers[n] for n in names]), [self._endpoints[n] for n in names]

    @staticmethod
    def subject(principal: Principal) -> Subject:
        return Subject(tenant=principal.tenant_id or "default", user=principal.key_id)

    async def admit(self, principal: Principal) -> None:
        await self._admission.admit(self.subject(principal))

    async def stream(self, call: GatewayCall, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Provider events for ``request``; budget reserved before, settled and recorded after."""
        chain, endpoints = self._chain(call.requested)
        prompt_tokens = chain.tokens.count_messages(request.messages)
        worst = self._admission.worst_case(endpoints, prompt_tokens, request.max_output_tokens)
        reservation = await self._admission.reserve(self.subject(call.principal), worst)
        status, error = "failed", None
        stream = chain.stream(request)
        try:
            async for ev in stream:
                if isinstance(ev, TextDelta) and call.ttft_ms is None:
                    call.ttft_ms = (time.perf_counter() - call.started) * 1000
                elif isinstance(ev, UsageReport):
                    call.usage = ev.usage
                yield ev
            status = "complete"
        except ProviderError as exc:
            error = f"{exc.code}: {exc}"
            raise
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await self._settle(call, stream, reservation, status, error)

    async def _settle(
        self,
        call: GatewayCall,
        stream: object,
        reservation: Reservation,
        status: str,
        error: str | None,
    ) -> None:
        served = getattr(stream, "served_by", None)
        call.provider = served.provider if served is not None else ""
        call.model = served.model if served is not None else ""
        call.attempts = [a.as_dict() for a in getattr(stream, "attempts", [])]
        if call.model:
            call.cost = self._admission.prices.cost_of(call.model, call.usage)
        await self._admission.settle(reservation, call.cost)
        total_ms = (time.perf_counter() - call.started) * 1000
        self._metrics.observe_turn(
            status=status,
            provider=call.provider or "none",
            model=call.model or call.requested,
            usage=call.usage,
            duration_s=total_ms / 1000,
            ttft_s=None if call.ttft_ms is None else call.ttft_ms / 1000,
            cost_usd=float(call.cost),
        )
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
