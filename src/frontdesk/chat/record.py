"""One generation's mutable state and its single persistence: the turn record, then the
metrics and trace span through :class:`~frontdesk.providers.metered.Metered` (the same
accounting as the gateway's)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from frontdesk.domain import Citation, MessageStatus, ToolCall, TurnRecord, Usage
from frontdesk.memory.base import TurnSignal
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.metered import MeteredCall

if TYPE_CHECKING:
    from frontdesk.chat.deps import TurnDeps, TurnRequest


@dataclass
class TurnRun:
    deps: TurnDeps
    request: TurnRequest
    started: float
    parts: list[str] = field(default_factory=list)
    finish: str = "stop"
    prompt_tokens: int = 0
    ttft_ms: float | None = None
    """Time to the first text the customer was shown (after the output guard)."""
    persisted: bool = False
    call: MeteredCall | None = None
    """The metered provider call (budget, who served, usage, cost); None: no model was called."""
    retrieved_chunk_ids: list[str] = field(default_factory=list)
    retrieval_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds of each retrieval stage."""
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    """What the model produced (``parts`` is what the customer was shown)."""
    groundedness: float | None = None
    policy: str | None = None
    """Set when a policy answered instead of a model (e.g. ``no_answer``, ``extractive``)."""
    answer_mode: str = "generative"
    actions: list[dict[str, Any]] = field(default_factory=list)
    """Each action call of the turn, as its audit record (never the acting-for token)."""
    action_citations: list[Citation] = field(default_factory=list)
    """The successful action results of a vendor model's tool calls, cited after its text."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The tool calls the model asked for in the current provider call."""
    earlier_calls: list[MeteredCall] = field(default_factory=list)
    """Provider calls of earlier tool rounds (settled and observed; counted in usage/cost)."""

    async def next_call(self) -> None:
        """A tool round ends the current provider call: settle and observe it, keep its
        usage and cost for the turn record."""
        if self.call is not None:
            await self.call.settle()
            self.call.observe("complete", None)
            self.earlier_calls.append(self.call)
            self.call = None

    inputs: dict[str, Any] = field(default_factory=dict)
    """What the answer is made from, for replay (:mod:`frontdesk.chat.inputs`)."""

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
    def _calls(self) -> list[MeteredCall]:
        return [*self.earlier_calls, *([self.call] if self.call is not None else [])]

    @property
    def usage(self) -> Usage:
        return sum((c.usage for c in self._calls), Usage())

    @property
    def attempts(self) -> list[dict[str, Any]]:
        return [a.as_dict() for c in self._calls for a in c.report.attempts]

    @property
    def served_provider(self) -> str:
        if self.policy is not None:
            return "policy"
        if self.call is not None and (served := self.call.report.provider):
            return served
        return self._provider.name

    @property
    def served_model(self) -> str:
        if self.policy is not None:
            return self.policy
        if self.call is not None and (model := self.call.report.model):
            return model
        return self._provider.model

    @property
    def _provider(self) -> ChatProvider:
        """The chain called: the bot's, or the cheaper one when over budget."""
        return self.call.provider if self.call is not None else self.deps.provider

    def cost(self) -> Decimal:
        return sum((c.cost for c in self._calls), Decimal(0))

    def span_attributes(self) -> dict[str, AttributeValue]:
        """What the turn adds to the span of its call."""
        out: dict[str, AttributeValue] = {
            "gen_ai.conversation.id": self.request.conversation.id,
            "frontdesk.config_version": self.deps.bot.version,
            "frontdesk.answer_mode": self.answer_mode,
        }
        for stage, ms in self.retrieval_ms.items():
            out[f"frontdesk.retrieval.{stage}_ms"] = round(ms, 3)
        return out

    async def persist(
        self,
        status: MessageStatus,
        error: str | None,
        *,
        content: str | None = None,
        signal: TurnSignal | None = None,
    ) -> list[str] | None:
        """Store the answer and its turn record (once: later calls do nothing and return
        None). With ``signal`` (escalation's), the signal is stored in the same transaction
        and the conversation's newest signal kinds are returned."""
        if self.persisted:
            return None
        self.persisted = True
        req, deps = self.request, self.deps
        total_ms = (time.perf_counter() - self.started) * 1000
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
                "retrieval_ms": {k: round(v, 3) for k, v in self.retrieval_ms.items()},
                **({"actions": self.actions} if self.actions else {}),
            },
            usage=self.usage,
            prompt_tokens_counted=self.prompt_tokens,
            ttft_ms=self.ttft_ms,
            total_ms=total_ms,
            error=error,
            cost=self.cost(),
            attempts=self.attempts,
            retrieved_chunk_ids=self.retrieved_chunk_ids,
            verdicts=self.verdicts,
            created_at=datetime.now(UTC),
            inputs=self.inputs,
        )
        shown = self.content if content is None else content
        recent: list[str] | None = None

        async def save() -> None:
            nonlocal recent
            if self.call is not None:
                await self.call.settle()  # the actual cost into the budget reservation
            cited = {"citations": [asdict(c) for c in self.citations]} if self.citations else None
            kinds = await deps.store.complete_turn(
                assistant_message_id=req.assistant_message_id,
                content=shown,
                status=status,
                error=error,
                turn=record,
                metadata=cited,
                signal=signal,
            )
            recent = kinds if signal is not None else None

        try:
            await _uncancellable(save())
        finally:
            self._observe(status, error)
        return recent

    def _observe(self, status: MessageStatus, error: str | None) -> None:
        """Metrics and the span, through the same metering as every provider call."""
        deps = self.deps
        attributes: dict[str, AttributeValue] = {
            "gen_ai.response.finish_reasons": [self.finish],
        }
        if deps.metered.tracing.capture_content:
            attributes["gen_ai.prompt"] = self.request.user_message.content
            attributes["gen_ai.completion"] = self.content
        if self.call is not None:
            self.call.observe(status, error, ttft_ms=self.ttft_ms, attributes=attributes)
            return
        deps.metered.observe_no_call(
            self.served_provider,
            self.served_model,
            status,
            error,
            started=self.started,
            ttft_ms=self.ttft_ms,
            attributes={
                **self.span_attributes(),
                "gen_ai.request.model": deps.provider.model,
                "gen_ai.request.temperature": deps.bot.model.temperature,
                "gen_ai.request.max_tokens": deps.bot.model.max_output_tokens,
                **attributes,
            },
        )


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
