"""One answered chat turn, as a linear pipeline over explicit inputs.

input verdict → memory → (a fact the customer gave earlier?) → the question made standalone →
retrieval → (nothing found: the no-answer policy) → extractive answer, or prompt → provider
stream through the output guard → citations → persistence → escalation check → done.

The answer is stored as complete, partial, failed or queued whatever happens to the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from frontdesk.chat.acting import TOOLS_INSTRUCTION, routed_step, tool_rounds, tool_specs
from frontdesk.chat.answering import extractive_reply
from frontdesk.chat.citations import resolve_citations
from frontdesk.chat.deps import TurnDeps, TurnRequest
from frontdesk.chat.followup import Question, recall_fact, recalled_answer, standalone
from frontdesk.chat.guarding import OutputCheck, with_canary
from frontdesk.chat.handoff_events import decision_events
from frontdesk.chat.inputs import extractive_inputs, generative_inputs, policy_inputs
from frontdesk.chat.knowledge import Grounding
from frontdesk.chat.prompt import Prompt, build_prompt
from frontdesk.chat.record import TurnRun
from frontdesk.domain import ChatMessage, StoredMessage, Usage
from frontdesk.errors import BudgetExceeded, FrontdeskError, ProviderError
from frontdesk.escalation import AnswerSignals
from frontdesk.events import (
    Citations,
    Finish,
    Notice,
    TextDelta,
    ToolCallRequested,
    TurnDone,
    TurnError,
    TurnEvent,
    TurnStarted,
)
from frontdesk.guard.base import InputResult
from frontdesk.memory.base import TurnSignal
from frontdesk.memory.window import select_window
from frontdesk.providers.base import ChatRequest

if TYPE_CHECKING:
    from frontdesk.actions.routing import Routed  # numpy: only with actions configured

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Memory:
    """The conversation as the prompt sees it."""

    summary: str | None
    messages: list[ChatMessage]
    summarize_through: int | None
    """Messages up to this seq fell out of the window unsummarised: fold them in."""
    earlier: Sequence[ChatMessage | StoredMessage]


class AnswerTurn:
    """The bot answers one customer message."""

    def __init__(self, deps: TurnDeps, request: TurnRequest) -> None:
        self.deps = deps
        self.request = request

    @property
    def conversation_id(self) -> str:
        return self.request.conversation.id

    @property
    def assistant_message_id(self) -> str:
        return self.request.assistant_message_id

    @property
    def user_message(self) -> StoredMessage:
        return self.request.user_message

    async def events(self) -> AsyncGenerator[TurnEvent, None]:
        req = self.request
        yield TurnStarted(
            req.conversation.id,
            req.user_message.id,
            req.assistant_message_id,
            req.user_message.content,
        )
        if (notice := redaction_notice(req.checked)) is not None:
            yield notice
        checked = req.checked
        if checked is not None and checked.action in ("block", "escalate"):
            async for ev in self._refuse(checked):
                yield ev
            return
        async for ev in self._answer():
            yield ev

    def _run(self) -> TurnRun:
        run = TurnRun(self.deps, self.request, started=time.perf_counter())
        run.answer_mode = self.deps.answer_mode
        run.verdicts = input_records(self.request.checked)
        return run

    # --- policies that answer without a model ----------------------------------------------

    async def _refuse(self, checked: InputResult) -> AsyncIterator[TurnEvent]:
        """The input guard blocked the message: answer with its refusal, no model call."""
        run = self._run()
        run.policy = f"guard:{checked.action}"
        run.finish = "blocked"
        run.inputs = policy_inputs("refusal")
        text = checked.message or "I can't help with that request."
        reason = None
        if checked.action == "escalate":
            codes = [v.reason for v in checked.verdicts if v.action == "escalate"]
            reason = "guard:" + (codes[0] if codes else "input")
        async for ev in self._policy_answer(
            run, text, AnswerSignals("complete", text, reason_code=reason)
        ):
            yield ev

    async def _policy_answer(
        self,
        run: TurnRun,
        text: str,
        signals: AnswerSignals,
        after_text: Sequence[TurnEvent] = (),
    ) -> AsyncIterator[TurnEvent]:
        run.add_text(text)
        recent = await run.persist("complete", None, content=text, signal=self._signal(signals))
        yield TextDelta(text)
        for ev in after_text:
            yield ev
        if run.citations:
            yield Citations(run.citations)
        for extra in await self._escalation(signals, recent):
            yield extra
        yield self._done(run, text)

    async def _no_answer(self, run: TurnRun) -> AsyncIterator[TurnEvent]:
        """Nothing in the documents: say so honestly (and hand off, if configured)."""
        config = self.deps.bot.knowledge
        run.policy = "no_answer"
        run.finish = "no_answer"
        run.inputs = policy_inputs("no_answer")
        text = config.no_answer_message
        reason = "knowledge:no_answer" if config.no_answer == "handoff" else None
        signals = AnswerSignals("complete", text, reason_code=reason, no_answer=True)
        async for ev in self._policy_answer(run, text, signals):
            yield ev

    async def _extractive(
        self, run: TurnRun, question: Question, grounding: Grounding
    ) -> AsyncIterator[TurnEvent]:
        """Quote the passages that answer, cited; or say honestly that they don't."""
        deps = self.deps
        assert deps.composer is not None
        sources = grounding.sources()
        composition = await asyncio.to_thread(
            deps.composer.compose, question.text, sources, history_hint=question.previous
        )
        reply = extractive_reply(
            question.text, sources, composition, known_names=(deps.bot.name, deps.bot.company)
        )
        run.policy = "extractive"
        run.finish = "stop" if reply.answered else "not_documented"
        numbered = grounding.citations(self.request.conversation.id)
        run.inputs = extractive_inputs(
            question.text, question.previous, sources=sources, citations=numbered
        )
        cited = resolve_citations(reply.text, numbered)
        run.citations = cited.citations
        run.verdicts.append(
            {
                "stage": "answer",
                "check": "extractive",
                "action": "allow",
                "reason": "answered" if reply.answered else "not_documented",
                "missing": list(reply.missing),
            }
        )
        config = deps.bot.knowledge
        reason = (
            "knowledge:no_answer" if not reply.answered and config.no_answer == "handoff" else None
        )
        signals = AnswerSignals(
            "complete", cited.text, reason_code=reason, no_answer=not reply.answered
        )
        async for ev in self._policy_answer(run, cited.text, signals):
            yield ev

    async def _act(self, run: TurnRun, routed: Routed) -> AsyncIterator[TurnEvent]:
        """An action answers (embedded routing): looked up, or offered for confirmation."""
        step = await routed_step(self.deps, self.request, run, routed)
        signals = AnswerSignals("complete", step.text, no_answer=step.failed)
        async for ev in self._policy_answer(run, step.text, signals, step.events):
            yield ev

    # --- the pipeline ----------------------------------------------------------------------

    async def _answer(self) -> AsyncIterator[TurnEvent]:
        deps, req = self.deps, self.request
        run = self._run()
        try:
            memory = await self._memory()
            fact = recall_fact(req.user_message.content, memory.earlier)
            if fact is not None:
                run.policy = "memory"
                run.inputs = policy_inputs("memory")
                text = recalled_answer(fact)
                async for ev in self._policy_answer(run, text, AnswerSignals("complete", text)):
                    yield ev
                return
            if deps.actions is not None and deps.answer_mode == "extractive":
                routed = await deps.actions.route(req.user_message.content)
                if routed is not None:
                    async for ev in self._act(run, routed):
                        yield ev
                    return
            question = standalone(
                req.user_message.content,
                memory.earlier,
                max_words=deps.bot.answer.follow_up_words,
            )
            if question.previous is not None and deps.rewriter is not None:
                question = await deps.rewriter.rewrite(question, memory.earlier)
            grounding = await self._ground(run, question)
            if grounding is not None and not grounding.found:
                events = self._no_answer(run)
            elif (
                grounding is not None
                and deps.answer_mode == "extractive"
                and deps.composer is not None
            ):
                events = self._extractive(run, question, grounding)
            else:
                events = self._generate(run, memory, grounding)
            async for ev in events:
                yield ev
        except ProviderError as exc:
            async for ev in self._provider_failed(run, exc):
                yield ev
        except FrontdeskError as exc:
            await run.persist(run.broken_status, f"{exc.code}: {exc}")
            yield turn_error(req.assistant_message_id, exc, run)
        except Exception as exc:  # an unexpected bug: keep the conversation usable
            log.exception("turn failed unexpectedly")
            await run.persist(run.broken_status, f"internal_error: {type(exc).__name__}")
            yield TurnError(
                code="internal_error",
                message="Something went wrong on our side. Please try again.",
                message_id=req.assistant_message_id,
                retryable=True,
                partial_content=run.content,
            )
        finally:
            # client disconnect (cancellation / aclose) lands here unpersisted
            await run.persist(run.broken_status, "client disconnected")

    async def _memory(self) -> Memory:
        deps, req = self.deps, self.request
        if req.history is not None:
            return Memory(None, list(req.history), None, list(req.history))
        if req.earlier is not None:
            earlier = list(req.earlier)
        else:
            messages = await deps.store.list_messages(req.conversation.id)
            earlier = [m for m in messages if m.seq < req.user_message.seq]
        window = select_window(
            earlier,
            summary=req.conversation.summary,
            summary_through_seq=req.conversation.summary_through_seq,
            counter=deps.provider.tokens,
            budget_tokens=deps.bot.memory.window_tokens,
        )
        gap = window.unsummarized
        return Memory(
            window.summary, list(window.messages), gap.last if gap is not None else None, earlier
        )

    async def _ground(self, run: TurnRun, question: Question) -> Grounding | None:
        knowledge = self.deps.knowledge
        if knowledge is None or not knowledge.ready:
            return None
        grounding = await knowledge.ground(question.search_text)
        run.retrieved_chunk_ids = grounding.chunk_ids()
        run.retrieval_ms = dict(grounding.timings_ms)
        if grounding.dropped or grounding.fenced:
            run.verdicts.append(
                {
                    "stage": "retrieval",
                    "check": "injection",
                    "action": "screen",
                    "dropped": list(grounding.dropped),
                    "fenced": sorted(grounding.fenced),
                }
            )
        return grounding

    def _prompt(
        self, memory: Memory, grounding: Grounding | None, canary: str | None, tools: bool
    ) -> Prompt:
        deps = self.deps
        system = deps.bot.render_system_prompt(deps.today())
        if tools:
            system += TOOLS_INSTRUCTION.format(company=deps.bot.company)
        return build_prompt(
            system=with_canary(system, canary),
            summary=memory.summary,
            history=memory.messages,
            user_message=self.request.user_message.content,
            counter=deps.provider.tokens,
            context_length=deps.provider.capabilities.context_length,
            max_output_tokens=deps.bot.model.max_output_tokens,
            sources=grounding.sources() if grounding else [],
        )

    def _output_check(
        self, canary: str | None, grounding: Grounding | None, results: Sequence[str] = ()
    ) -> OutputCheck:
        """``results``: the turn's action results, sources too (and the customer's own
        identity values are theirs to see)."""
        guard, checked, identity = self.deps.guard, self.request.checked, self.request.identity
        if guard is None:
            return OutputCheck(None)
        own = set(checked.user_values) if checked else set()
        if results and identity is not None:
            own |= {v for v in (identity.email, identity.name) if v}
        return guard.output(
            canary=canary,
            user_values=frozenset(own),
            sources=[*(grounding.texts() if grounding else []), *results],
            question=self.request.user_message.content,
        )

    async def _generate(
        self, run: TurnRun, memory: Memory, grounding: Grounding | None
    ) -> AsyncIterator[TurnEvent]:
        deps, req = self.deps, self.request
        canary = deps.guard.canary() if deps.guard is not None else None
        tools = tool_specs(deps.actions, req.identity) if deps.provider.capabilities.tools else ()
        prompt = self._prompt(memory, grounding, canary, bool(tools))
        run.prompt_tokens = prompt.prompt_tokens
        check = self._output_check(canary, grounding)
        request = ChatRequest(
            messages=with_images(prompt.messages, req.images),
            temperature=deps.bot.model.temperature,
            max_output_tokens=deps.bot.model.max_output_tokens,
            idempotency_key=req.assistant_message_id,
            tools=tools,
        )
        run.inputs = generative_inputs(
            request.messages,
            canary=canary,
            question=req.user_message.content,
            sources=grounding.sources() if grounding else [],
            citations=grounding.citations(req.conversation.id) if grounding else {},
        )
        async for ev in self._stream(run, request, check):
            yield ev
        if tools and run.tool_calls and not check.retracted:
            rounds = tool_rounds(
                self.deps,
                self.request,
                run,
                request,
                check_for=lambda results: self._output_check(canary, grounding, results),
                stream=self._stream,
                first_index=len(grounding.sources()) + 1 if grounding else 1,
            )
            async for out in rounds:
                if isinstance(out, OutputCheck):
                    check = out  # the final answer's check
                else:
                    yield out
        if not check.retracted and check.guard is not None:  # no guard: nothing to finish
            for ev in await asyncio.to_thread(check.finish, "".join(run.raw)):
                if isinstance(ev, TextDelta):
                    run.add_text(ev.text)
                yield ev
        run.verdicts += check.verdicts
        run.groundedness = check.groundedness
        content = check.content
        if grounding is not None:
            cited = resolve_citations(content, grounding.citations(self.request.conversation.id))
            content, run.citations = cited.text, cited.citations
        run.citations += run.action_citations
        signals = AnswerSignals(
            "complete",
            content,
            # an extractive replacement is grounded by construction
            groundedness=None if check.retracted else check.groundedness,
            reason_code=check.escalate_reason,
        )
        recent = await run.persist("complete", None, content=content, signal=self._signal(signals))
        if run.citations:
            yield Citations(run.citations)
        for extra in await self._escalation(signals, recent):
            yield extra
        if memory.summarize_through is not None and deps.summarize is not None:
            deps.background.spawn(
                f"summary:{req.conversation.id}",
                deps.summarize(req.conversation.id, memory.summarize_through),
            )
        yield self._done(run, content)

    async def _stream(
        self, run: TurnRun, request: ChatRequest, check: OutputCheck
    ) -> AsyncIterator[TurnEvent]:
        """Provider deltas through the output guard; a retraction stops the provider."""
        deps = self.deps
        run.call = await deps.metered.start(
            self.request.subject,
            request,
            deps.route,
            cheaper=deps.cheaper,
            prompt_tokens=run.prompt_tokens,
            started=run.started,
            attributes=run.span_attributes(),
        )
        stream = run.call.stream()
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
                elif isinstance(ev, ToolCallRequested):
                    run.tool_calls.append(ev.call)
                elif isinstance(ev, Finish):
                    run.finish = ev.reason
        finally:
            await stream.aclose()

    async def _provider_failed(self, run: TurnRun, exc: ProviderError) -> AsyncIterator[TurnEvent]:
        deps, req = self.deps, self.request
        if run.raw or not deps.degraded_mode:  # produced text, then broke: not an outage
            await run.persist(run.broken_status, f"{exc.code}: {exc}")
            for extra in await self._escalation(AnswerSignals(run.broken_status)):
                yield extra
            yield turn_error(req.assistant_message_id, exc, run)
            return
        # every provider failed before the first token: tell the customer honestly,
        # keep the question queued; the deferred worker answers it when one is back
        reply = deps.bot.degraded_reply
        await run.persist("queued", f"{exc.code}: {exc}", content=reply)
        if req.deferred:
            return
        yield TextDelta(reply)
        yield TurnDone(
            message_id=req.assistant_message_id,
            usage=Usage(),
            finish_reason="degraded",
            provider="",
            model="",
            content=reply,
            status="queued",
        )

    # --- endings ---------------------------------------------------------------------------

    def _done(self, run: TurnRun, content: str) -> TurnDone:
        return TurnDone(
            message_id=self.request.assistant_message_id,
            usage=run.usage,
            finish_reason=run.finish,
            provider=run.served_provider,
            model=run.served_model,
            content=content,
            citations=list(run.citations),
            cost_usd=float(run.cost()),
        )

    def _signal(self, signals: AnswerSignals) -> TurnSignal | None:
        """What escalation keeps about this answer, to store with it (None: no escalation
        after this turn)."""
        escalation = self.deps.escalation
        if escalation is None or self.request.deferred:
            return None
        try:
            return escalation.answer_signal(signals)
        except Exception:  # escalation must never break an answer: it writes its own later
            log.exception("escalation's answer signal failed")
            return None

    async def _escalation(
        self, signals: AnswerSignals, recent: Sequence[str] | None = None
    ) -> list[TurnEvent]:
        """Let escalation judge the finished answer; its events go before done/error.
        ``recent``: the newest signal kinds, when the answer's signal was stored with it."""
        escalation, req = self.deps.escalation, self.request
        if escalation is None or req.deferred:
            return []
        try:
            decision = await escalation.after_answer(req.conversation, signals, recent)
        except Exception:  # escalation must never break an answer already given
            log.exception("escalation after the answer failed")
            return []
        return [] if decision is None else decision_events(decision, as_text=req.as_text)


def with_images(messages: Sequence[ChatMessage], images: Sequence[str]) -> Sequence[ChatMessage]:
    """The customer's images on the last (their) message of the prompt."""
    if not images or not messages:
        return messages
    return [*messages[:-1], replace(messages[-1], images=tuple(images))]


def redaction_notice(checked: InputResult | None) -> Notice | None:
    if checked is not None and checked.action == "redact" and checked.message:
        return Notice("pii_redacted", checked.message)
    return None


def input_records(checked: InputResult | None) -> list[dict[str, Any]]:
    return [{"stage": "input", **r} for r in checked.records()] if checked else []


def turn_error(message_id: str, exc: FrontdeskError, run: TurnRun) -> TurnError:
    return TurnError(
        code=exc.code,
        message=customer_message(exc, partial=bool(run.parts)),
        message_id=message_id,
        retryable=isinstance(exc, ProviderError) and exc.retryable,
        partial_content=run.content,
    )


def customer_message(exc: FrontdeskError, *, partial: bool) -> str:
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
