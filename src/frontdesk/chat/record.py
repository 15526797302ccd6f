"""One generation's mutable state and its single persistence (turn record,
metrics, trace span)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, Status, StatusCode

from frontdesk.domain import Citation, MessageStatus, TurnRecord, Usage
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.budget import Reservation

if TYPE_CHECKING:
    from frontdesk.chat.turn import Turn


@dataclass
class TurnRun:
    turn: Turn
    started: float
    parts: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish: str = "stop"
    prompt_tokens: int = 0
    ttft_ms: float | None = None
    persisted: bool = False
    stream: object | None = None
    """The provider stream; a fallback chain's stream tells who served and who was skipped."""
    span: Span | None = None
    provider: ChatProvider | None = None
    """The provider (chain) called; the bot's chain unless over budget."""
    reservation: Reservation | None = None
    """Budget reservation to settle with the actual cost."""
    retrieved_chunk_ids: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    """What the model produced (``parts`` is what the customer was shown)."""
    groundedness: float | None = None
    policy: str | None = None
    """Set when a policy answered instead of a model (e.g. ``no_answer``)."""

    def __post_init__(self) -> None:
        svc = self.turn.service
        if self.provider is None:
            self.provider = svc.provider
        self.span = svc.tracing.tracer.start_span(
            f"chat {svc.provider.model}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.system": svc.provider.name,
                "gen_ai.request.model": svc.provider.model,
                "gen_ai.request.temperature": svc.bot.model.temperature,
                "gen_ai.request.max_tokens": svc.bot.model.max_output_tokens,
                "gen_ai.conversation.id": self.turn.conversation.id,
                "frontdesk.config_version": svc.bot.version,
            },
        )

    def add_text(self, text: str) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000
        self.parts.append(text)

    @property
    def content(self) -> str:
        return "".join(self.parts)

    @property
    def broken_status(self) -> MessageStatus:
        return "partial" if self.parts else "failed"

    @property
    def attempts(self) -> list[dict[str, Any]]:
        attempts = getattr(self.stream, "attempts", None) or []
        return [a.as_dict() for a in attempts]

    @property
    def served_provider(self) -> str:
        if self.policy is not None:
            return "policy"
        served = getattr(self.stream, "served_by", None)
        return str(served.provider) if served is not None else self._provider.name

    @property
    def served_model(self) -> str:
        if self.policy is not None:
            return self.policy
        served = getattr(self.stream, "served_by", None)
        return str(served.model) if served is not None else self._provider.model

    @property
    def _provider(self) -> ChatProvider:
        return self.provider or self.turn.service.provider

    def cost(self) -> Decimal:
        prices = self.turn.service.prices
        if prices is None:
            return Decimal(0)
        return prices.cost_of(self.served_model, self.usage)

    async def persist(
        self, status: MessageStatus, error: str | None, *, content: str | None = None
    ) -> None:
        if self.persisted:
            return
        self.persisted = True
        turn, svc = self.turn, self.turn.service
        total_ms = (time.perf_counter() - self.started) * 1000
        cost = self.cost()
        record = TurnRecord(
            id=str(uuid.uuid4()),
            conversation_id=turn.conversation.id,
            user_message_id=turn.user_message.id,
            assistant_message_id=turn.assistant_message_id,
            status=status,
            config_version=svc.bot.version,
            provider=self.served_provider,
            model=self.served_model,
            params={
                "temperature": svc.bot.model.temperature,
                "max_output_tokens": svc.bot.model.max_output_tokens,
                "chain": svc.provider.name,
                "finish_reason": self.finish,
            },
            usage=self.usage,
            prompt_tokens_counted=self.prompt_tokens,
            ttft_ms=self.ttft_ms,
            total_ms=total_ms,
            error=error,
            cost=cost,
            attempts=self.attempts,
            retrieved_chunk_ids=self.retrieved_chunk_ids,
            verdicts=self.verdicts,
            created_at=datetime.now(UTC),
        )

        async def save() -> None:
            if self.reservation is not None and svc.admission is not None:
                await svc.admission.settle(self.reservation, cost)
            await svc.store.complete_turn(
                assistant_message_id=turn.assistant_message_id,
                content=self.content if content is None else content,
                status=status,
                error=error,
                turn=record,
            )
            if self.citations:
                await svc.store.merge_message_metadata(
                    turn.assistant_message_id,
                    {"citations": [asdict(c) for c in self.citations]},
                )

        try:
            await _uncancellable(save())
        finally:
            self._observe(record, status, error, cost)

    def _observe(
        self, record: TurnRecord, status: MessageStatus, error: str | None, cost: Decimal
    ) -> None:
        svc = self.turn.service
        svc.metrics.observe_turn(
            status=status,
            provider=record.provider,
            model=record.model,
            usage=record.usage,
            duration_s=record.total_ms / 1000,
            ttft_s=None if record.ttft_ms is None else record.ttft_ms / 1000,
            cost_usd=float(cost),
        )
        for attempt in record.attempts:
            svc.metrics.provider_attempts.labels(attempt["provider"], attempt["outcome"]).inc()
        span = self.span
        if span is None:
            return
        span.set_attributes(
            {
                "gen_ai.response.model": record.model,
                "gen_ai.usage.input_tokens": record.usage.input_tokens,
                "gen_ai.usage.output_tokens": record.usage.output_tokens,
                "gen_ai.response.finish_reasons": [self.finish],
                "frontdesk.provider": record.provider,
                "frontdesk.status": status,
                "frontdesk.cost_usd": float(cost),
                "frontdesk.ttft_ms": record.ttft_ms or 0.0,
            }
        )
        if svc.tracing.capture_content:
            span.set_attribute("gen_ai.prompt", turn_text(self.turn))
            span.set_attribute("gen_ai.completion", self.content)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


def turn_text(turn: Turn) -> str:
    return turn.user_message.content


async def _uncancellable(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion even if the calling task is being cancelled
    (a client disconnect must not lose the partial answer), then re-raise the
    cancellation."""
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError
