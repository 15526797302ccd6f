"""One chat turn: memory, knowledge, prompt, the provider stream, persistence.

Orchestration only; each stage lives in its own module. The answer is stored
as complete, partial, failed or queued whatever happens to the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frontdesk.chat.citations import resolve_citations
from frontdesk.chat.guarding import OutputCheck, with_canary
from frontdesk.chat.knowledge import Grounding
from frontdesk.chat.prompt import Prompt, Source, build_prompt
from frontdesk.chat.record import TurnRun
from frontdesk.domain import ChatMessage, Conversation, StoredMessage, Usage
from frontdesk.errors import BudgetExceeded, FrontdeskError, ProviderError
from frontdesk.escalation import AnswerSignals, Decision, held_turn_events
from frontdesk.events import (
    Citations,
    Finish,
    Notice,
    TextDelta,
    TurnDone,
    TurnError,
    TurnEvent,
    TurnStarted,
    UsageReport,
)
from frontdesk.guard.pipeline import InputResult
from frontdesk.memory.window import select_window
from frontdesk.providers.base import ChatProvider, ChatRequest

if TYPE_CHECKING:
    from frontdesk.chat.service import ChatService

log = logging.getLogger(__name__)


@dataclass
class Turn:
    service: ChatService
    conversation: Conversation
    user_message: StoredMessage
    assistant_message_id: str
    replay: StoredMessage | None = None
    history_override: Sequence[ChatMessage] | None = None
    deferred: bool = False
    """Answering a queued message in the background: a provider failure re-queues it."""
    decision: Decision | None = None
    """Set when the bot does not answer: a person has, or will get, the conversation."""
    checked: InputResult | None = None
    """The input guard's result (redactions, verdicts, the customer's own PII values)."""

    async def events(self) -> AsyncIterator[TurnEvent]:
        if self.decision is not None:
            as_text = self.history_override is not None  # OpenAI-compatible API: no notices
            held = held_turn_events(
                self.conversation.id, self.user_message, self.decision, as_text=as_text
            )
            for i, ev in enumerate(held):
                yield ev
                if i == 0 and (notice := self._redaction_notice()) is not None:
                    yield notice
            return
        yield TurnStarted(
            self.conversation.id,
            self.user_message.id,
            self.assistant_message_id,
            self.user_message.content,
        )
        if self.replay is not None:
            async for ev in self._replay(self.replay):
                yield ev
            return
        checked = self.checked
        if (notice := self._redaction_notice()) is not None:
            yield notice
        if checked is not None and checked.action in ("block", "escalate"):
            async for ev in self._refuse(checked):
                yield ev
            return
        async for ev in self._generate():
            yield ev

    def _redaction_notice(self) -> Notice | None:
        checked = self.checked
        if checked is not None and checked.action == "redact" and checked.message:
            return Notice("pii_redacted", checked.message)
        return None

    async def _refuse(self, checked: InputResult) -> AsyncIterator[TurnEvent]:
        """The input guard blocked the message: answer with its refusal, no model call."""
        run = TurnRun(self, started=time.perf_counter())
        run.policy = f"guard:{checked.action}"
        run.finish = "blocked"
        run.verdicts = _input_records(checked)
        text = checked.message or "I can't help with that request."
        await run.persist("complete", None, content=text)
        yield TextDelta(text)
        reason = None
        if checked.action == "escalate":
            codes = [v.reason for v in checked.verdicts if v.action == "escalate"]
            reason = "guard:" + (codes[0] if codes else "input")
        for extra in await _escalation_events(
            self, AnswerSignals("complete", text, reason_code=reason)
        ):
            yield extra
        yield self._done(run, text)

    async def _replay(self, reply: StoredMessage) -> AsyncIterator[TurnEvent]:
        turns = await self.service.store.list_turns(self.conversation.id)
        rec = next((t for t in turns if t.assistant_message_id == reply.id), None)
        yield TextDelta(reply.content)
        yield TurnDone(
            message_id=reply.id,
            usage=rec.usage if rec else Usage(),
            finish_reason="stop",
            provider=rec.provider if rec else "",
            model=rec.model if rec else "",
            content=reply.content,
            status=reply.status,
            extra={"replayed": True},
        )

    async def _memory(self) -> Memory:
        svc = self.service
        if self.history_override is not None:
            return Memory(None, list(self.history_override), None, [])
        messages = await svc.store.list_messages(self.conversation.id)
        earlier = [m for m in messages if m.seq < self.user_message.seq]
        window = select_window(
            earlier,
            summary=self.conversation.summary,
            summary_through_seq=self.conversation.summary_through_seq,
            counter=svc.provider.tokens,
            budget_tokens=svc.bot.memory.window_tokens,
        )
        gap = window.unsummarized
        return Memory(
            window.summary, list(window.messages), gap.last if gap is not None else None, earlier
        )

    async def _admit_cost(self, run: TurnRun, prompt_tokens: int) -> ChatProvider:
        """Reserve the worst-case cost in every budget that applies; over budget,
        switch to the cheaper chain or refuse (BudgetExceeded), as configured."""
        svc = self.service
        if svc.admission is None:
            return svc.provider
        subject = svc.subject(self.conversation)
        max_out = svc.bot.model.max_output_tokens
        amount = svc.admission.worst_case(svc.endpoints, prompt_tokens, max_out)
        try:
            run.reservation = await svc.admission.reserve(subject, amount)
            return svc.provider
        except BudgetExceeded:
            if svc.bot.over_budget != "cheaper" or svc.cheaper is None:
                raise
        amount = svc.admission.worst_case(svc.cheaper_endpoints, prompt_tokens, max_out)
        run.reservation = await svc.admission.reserve(subject, amount)
        run.provider = svc.cheaper
        return svc.cheaper

    def _prompt(
        self, memory: Memory, sources: Sequence[Source], canary: str | None = None
    ) -> Prompt:
        svc = self.service
        return build_prompt(
            system=with_canary(svc.bot.render_system_prompt(svc.today()), canary),
            summary=memory.summary,
            history=memory.messages,
            user_message=self.user_message.content,
            counter=svc.provider.tokens,
            context_length=svc.provider.capabilities.context_length,
            max_output_tokens=svc.bot.model.max_output_tokens,
            sources=sources,
        )

    async def _ground(self, run: TurnRun, memory: Memory) -> Grounding | None:
        knowledge = self.service.knowledge
        if knowledge is None or not knowledge.ready:
            return None
        grounding = await knowledge.ground(self.user_message.content, memory.earlier)
        run.retrieved_chunk_ids = grounding.chunk_ids()
        return grounding

    async def _stream(
        self, run: TurnRun, request: ChatRequest, check: OutputCheck
    ) -> AsyncIterator[TurnEvent]:
        """Provider deltas through the output guard; a retraction stops the provider."""
        provider = await self._admit_cost(run, run.prompt_tokens)
        stream = provider.stream(request)
        run.stream = stream
        try:
            async for ev in stream:
                if isinstance(ev, TextDelta):
                    if not ev.text:
                        continue
                    run.raw.append(ev.text)
                    for out in check.feed(ev.text):
                        if isinstance(out, TextDelta):
                            run.add_text(out.text)
                        yield out
                    if check.retracted:
                        run.finish = "retracted"
                        return
                elif isinstance(ev, UsageReport):
                    run.usage = ev.usage
                elif isinstance(ev, Finish):
                    run.finish = ev.reason
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _output_check(self, canary: str | None, grounding: Grounding | None) -> OutputCheck:
        svc = self.service
        if svc.guard is None:
            return OutputCheck(None)
        return svc.guard.output(
            canary=canary,
            user_values=self.checked.user_values if self.checked else frozenset(),
            sources=grounding.texts() if grounding else [],
            question=self.user_message.content,
        )

    async def _no_answer(self, run: TurnRun) -> AsyncIterator[TurnEvent]:
        """Nothing in the documents: say so honestly (and hand off, if configured)."""
        config = self.service.bot.knowledge
        run.policy = "no_answer"
        run.finish = "no_answer"
        text = config.no_answer_message
        await run.persist("complete", None, content=text)
        yield TextDelta(text)
        reason = "knowledge:no_answer" if config.no_answer == "handoff" else None
        signals = AnswerSignals("complete", text, reason_code=reason, no_answer=True)
        for extra in await _escalation_events(self, signals):
            yield extra
        yield self._done(run, text)

    def _done(self, run: TurnRun, content: str) -> TurnDone:
        return TurnDone(
            message_id=self.assistant_message_id,
            usage=run.usage,
            finish_reason=run.finish,
            provider=run.served_provider,
            model=run.served_model,
            content=content,
        )

    async def _generate(self) -> AsyncIterator[TurnEvent]:
        svc = self.service
        run = TurnRun(self, started=time.perf_counter())
        run.verdicts = _input_records(self.checked)
        try:
            memory = await self._memory()
            grounding = await self._ground(run, memory)
            if grounding is not None and not grounding.found:
                async for ev in self._no_answer(run):
                    yield ev
                return
            canary = svc.guard.canary() if svc.guard is not None else None
            prompt = self._prompt(memory, grounding.sources() if grounding else [], canary)
            run.prompt_tokens = prompt.prompt_tokens
            check = self._output_check(canary, grounding)
            request = ChatRequest(
                messages=prompt.messages,
                temperature=svc.bot.model.temperature,
                max_output_tokens=svc.bot.model.max_output_tokens,
                idempotency_key=self.assistant_message_id,
            )
            async for ev in self._stream(run, request, check):
                yield ev
            if not check.retracted:
                for ev in await asyncio.to_thread(check.finish, "".join(run.raw)):
                    if isinstance(ev, TextDelta):
                        run.add_text(ev.text)
                    yield ev
            run.verdicts += check.verdicts
            run.groundedness = check.groundedness
            content = check.content
            if grounding is not None:
                cited = resolve_citations(content, grounding.citations())
                content, run.citations = cited.text, cited.citations
            await run.persist("complete", None, content=content)
            if run.citations:
                yield Citations(run.citations)
            signals = AnswerSignals(
                "complete",
                content,
                # an extractive replacement is grounded by construction
                groundedness=None if check.retracted else check.groundedness,
                reason_code=check.escalate_reason,
            )
            for extra in await _escalation_events(self, signals):
                yield extra
            if memory.summarize_through is not None and svc.summarize is not None:
                svc.background.spawn(
                    f"summary:{self.conversation.id}",
                    svc.summarize(self.conversation.id, memory.summarize_through),
                )
            yield self._done(run, content)
        except ProviderError as exc:
            async for ev in self._provider_failed(run, exc):
                yield ev
        except FrontdeskError as exc:
            await run.persist(run.broken_status, f"{exc.code}: {exc}")
            yield _turn_error(self, exc, run)
        except Exception as exc:  # an unexpected bug: keep the conversation usable
            log.exception("turn failed unexpectedly")
            await run.persist(run.broken_status, f"internal_error: {type(exc).__name__}")
            yield TurnError(
                code="internal_error",
                message="Something went wrong on our side. Please try again.",
                message_id=self.assistant_message_id,
                retryable=True,
                partial_content=run.content,
            )
        finally:
            # client disconnect (cancellation / aclose) lands here unpersisted
            await run.persist(run.broken_status, "client disconnected")

    async def _provider_failed(self, run: TurnRun, exc: ProviderError) -> AsyncIterator[TurnEvent]:
        svc = self.service
        if run.raw or not svc.degraded_mode:  # produced text, then broke: not an outage
            await run.persist(run.broken_status, f"{exc.code}: {exc}")
            for extra in await _escalation_events(self, AnswerSignals(run.broken_status)):
                yield extra
            yield _turn_error(self, exc, run)
            return
        # every provider failed before the first token: tell the customer honestly,
        # keep the question queued; the deferred worker answers it when one is back
        reply = svc.bot.degraded_reply
        await run.persist("queued", f"{exc.code}: {exc}", content=reply)
        if self.deferred:
            return
        yield TextDelta(reply)
        yield TurnDone(
            message_id=self.assistant_message_id,
            usage=Usage(),
            finish_reason="degraded",
            provider="",
            model="",
            content=reply,
            status="queued",
        )


@dataclass(frozen=True, slots=True)
class Memory:
    """The conversation as the prompt sees it."""

    summary: str | None
    messages: list[ChatMessage]
    summarize_through: int | None
    """Messages up to this seq fell out of the window unsummarised: fold them in."""
    earlier: list[StoredMessage]


async def _escalation_events(turn: Turn, signals: AnswerSignals) -> list[TurnEvent]:
    """Let escalation judge the finished answer; its events go before done/error."""
    escalation = turn.service.escalation
    if escalation is None or turn.deferred:
        return []
    try:
        decision = await escalation.after_answer(turn.conversation, signals)
    except Exception:  # escalation must never break an answer already given
        log.exception("escalation after the answer failed")
        return []
    return [] if decision is None else decision.events(as_text=turn.history_override is not None)


def _input_records(checked: InputResult | None) -> list[dict[str, Any]]:
    return [{"stage": "input", **r} for r in checked.records()] if checked else []


def _turn_error(turn: Turn, exc: FrontdeskError, run: TurnRun) -> TurnError:
    return TurnError(
        code=exc.code,
        message=_customer_message(exc, partial=bool(run.parts)),
        message_id=turn.assistant_message_id,
        retryable=isinstance(exc, ProviderError) and exc.retryable,
        partial_content=run.content,
    )


def _customer_message(exc: FrontdeskError, *, partial: bool) -> str:
    if isinstance(exc, BudgetExceeded):
        return (
            "This service has reached its usage budget for now, so I can't answer. "
            "Please try again later or contact support."
        )
    if isinstance(exc, ProviderError):
        if partial:
            return "The answer was interrupted. Please send your message again."
        return (
            "Our assistant is temporarily unavailable. Your message is saved; "
            "please try again in a moment."
        )
    return exc.message
