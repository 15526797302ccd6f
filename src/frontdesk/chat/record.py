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

from opentelemetry.trace import Status, StatusCode

from frontdesk.domain import Citation, MessageStatus, TurnRecord, Usage
from frontdesk.events import AttemptEvent, CallReport
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.budget import Reservation

if TYPE_CHECKING:
    from frontdesk.chat.deps import TurnDeps, TurnRequest


@dataclass
class TurnRun:
    deps: TurnDeps
    request: TurnRequest
    started: float
    parts: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish: str = "stop"
    prompt_tokens: int = 0
    ttft_ms: float | None = None
    persisted: bool = False
    attempt_events: list[AttemptEvent] = field(default_factory=list)
    """The provider's attempt events, in order (who failed, who was skipped, who served)."""
    report: CallReport | None = None
    """The provider's call report: who served, every attempt, usage."""
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
    """Set when a policy answered instead of a model (e.g. ``no_answer``, ``extractive``)."""
    answer_mode: str = "generative"

    started_ns: int = field(default_factory=time.time_ns)
    """Wall-clock start, for the span (which is named after what served, once known)."""

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
        attempts = self.report.attempts if self.report is not None else self.attempt_events
        return [a.as_dict() for a in attempts]

    @property
    def served_provider(self) -> str:
        if self.policy is not None:
            return "policy"
        served = self._served
        return served.provider if served is not None else self._provider.name

    @property
    def served_model(self) -> str:
        if self.policy is not None:
            return self.policy
        served = self._served
        return served.model if served is not None else self._provider.model

    @property
    def _served(self) -> AttemptEvent | CallReport | None:
        if self.report is not None and self.report.served:
            return self.report
        return next((a for a in self.attempt_events if a.outcome == "served"), None)

    @property
    def _provider(self) -> ChatProvider:
        return self.provider or self.deps.provider

    def cost(self) -> Decimal:
        prices = self.deps.prices
        if prices is None:
            return Decimal(0)
        return prices.cost_of(self.served_model, self.usage)

    async def persist(
        self, status: MessageStatus, error: str | None, *, content: str | None = None
    ) -> None:
        if self.persisted:
            return
        self.persisted = True
        req, deps = self.request, self.deps
        total_ms = (time.perf_counter() - self.started) * 1000
        cost = self.cost()
        record = TurnRecord(
            id=str(uuid.uuid4()),
            conversation_id=req.conversation.id,
            user_message_id=req.user_message.id,
            assistant_message_id=req.assistant_message_id,
            status=status,
            config_version=deps.bot.version,
            provider=self.served_provider,
            model=self.served_model,
            params={
                "temperature": deps.bot.model.temperature,
                "max_output_tokens": deps.bot.model.max_output_tokens,
                "chain": self._provider.name,
                "answer_mode": self.answer_mode,
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
            if self.reservation is not None and deps.costs is not None:
                await deps.costs.settle(self.reservation, cost)
            await deps.store.complete_turn(
                assistant_message_id=req.assistant_message_id,
                content=self.content if content is None else content,
                status=status,
                error=error,
                turn=record,
            )
            if self.citations:
                await deps.store.merge_message_metadata(
                    req.assistant_message_id,
                    {"citations": [asdict(c) for c in self.citations]},
                )

        try:
            await _uncancellable(save())
        finally:
            self._observe(record, status, error, cost)

    def _observe(
        self, record: TurnRecord, status: MessageStatus, error: str | None, cost: Decimal
    ) -> None:
        deps = self.deps
        deps.metrics.observe_turn(
            status=status,
            provider=record.provider,
            model=record.model,
            usage=record.usage,
            duration_s=record.total_ms / 1000,
            ttft_s=None if record.ttft_ms is None else record.ttft_ms / 1000,
            cost_usd=float(cost),
        )
        for attempt in record.attempts:
            deps.metrics.provider_attempts.labels(attempt["provider"], attempt["outcome"]).inc()
        span = deps.tracing.tracer.start_span(f"chat {record.model}", start_time=self.started_ns)
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": record.provider,
                "gen_ai.request.model": self._provider.model,
                "gen_ai.request.temperature": deps.bot.model.temperature,
                "gen_ai.request.max_tokens": deps.bot.model.max_output_tokens,
                "gen_ai.conversation.id": self.request.conversation.id,
                "frontdesk.config_version": deps.bot.version,
                "frontdesk.answer_mode": self.answer_mode,
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
        if deps.tracing.capture_content:
            span.set_attribute("gen_ai.prompt", self.request.user_message.content)
            span.set_attribute("gen_ai.completion", self.content)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


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
