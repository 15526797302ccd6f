"""The chat turn pipeline: orchestration only.

``ChatService.prepare_turn`` validates and stores the user's message (so a
client error is raised before any stream starts, and the message is committed
before a provider is called); ``Turn.events`` then streams the answer and
persists it as complete, partial or failed, whatever happens to the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from frontdesk.chat.admission import Admission
from frontdesk.chat.prompt import Prompt, build_prompt
from frontdesk.chat.record import TurnRun
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.domain import (
    ChatMessage,
    Conversation,
    StoredMessage,
    Usage,
)
from frontdesk.errors import (
    BudgetExceeded,
    Conflict,
    FrontdeskError,
    NotFound,
    PayloadTooLarge,
    ProviderError,
    ValidationFailed,
)
from frontdesk.escalation import AnswerSignals, Decision, EscalationService, held_turn_events
from frontdesk.events import (
    Finish,
    TextDelta,
    TurnDone,
    TurnError,
    TurnEvent,
    TurnStarted,
    UsageReport,
)
from frontdesk.memory.base import MemoryStore
from frontdesk.memory.window import select_window
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.budget import Subject
from frontdesk.providers.pricing import PriceTable
from frontdesk.telemetry import Metrics, Tracing

log = logging.getLogger(__name__)


@dataclass
class ChatService:
    store: MemoryStore
    provider: ChatProvider
    bot: BotConfig
    max_message_chars: int = 5000
    tenant_id: str = "default"
    today: Callable[[], date] = date.today
    background: BackgroundTasks = field(default_factory=lambda: BackgroundTasks())
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing = field(default_factory=Tracing)
    prices: PriceTable | None = None
    admission: Admission | None = None
    endpoints: list[EndpointConfig] = field(default_factory=list)
    """The endpoints behind ``provider`` (for worst-case cost)."""
    cheaper: ChatProvider | None = None
    cheaper_endpoints: list[EndpointConfig] = field(default_factory=list)
    degraded_mode: bool = True
    """Queue questions for later when every provider is down (else: an error event)."""
    summarize: Callable[[str, int], Coroutine[Any, Any, Any]] | None = None
    """Background job folding messages up to a seq into the stored summary."""
    escalation: EscalationService | None = None
    """Hands conversations to people; None = the bot always answers."""

    def subject(self, conversation: Conversation) -> Subject:
        """Who a turn is accounted to: tenant, user (when known) and conversation."""
        user = conversation.metadata.get("user_id")
        return Subject(
            tenant=conversation.tenant_id,
            user=str(user) if user else None,
            conversation=conversation.id,
        )

    async def start_conversation(self, metadata: dict[str, Any] | None = None) -> Conversation:
        return await self.store.create_conversation(
            tenant_id=self.tenant_id, bot_id=self.bot.name, metadata=metadata or {}
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        conv = await self.store.get_conversation(conversation_id)
        if conv is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conv

    def validate_text(self, content: str) -> str:
        if not content or not content.strip():
            raise ValidationFailed("message content must not be empty")
        if len(content) > self.max_message_chars:
            raise PayloadTooLarge(
                f"message is {len(content)} characters; the limit is {self.max_message_chars}",
                limit=self.max_message_chars,
            )
        return content.strip()

    async def prepare_turn(
        self,
        conversation_id: str,
        content: str,
        *,
        client_message_id: str | None = None,
        history_override: Sequence[ChatMessage] | None = None,
    ) -> Turn:
        text = self.validate_text(content)
        conv = await self.get_conversation(conversation_id)
        if conv.status == "closed":
            raise Conflict("this conversation is closed; start a new one")
        if self.admission is not None:
            await self.admission.admit(self.subject(conv))
        added = await self.store.add_message(
            conv.id, role="user", content=text, client_message_id=client_message_id
        )
        user_msg = added.message
        if not added.created:
            reply = await self.store.find_reply(user_msg.id)
            if reply is not None and reply.status in ("complete", "queued", "answering"):
                return Turn(self, conv, user_msg, reply.id, replay=reply)
            if reply is not None and reply.status == "pending":
                raise Conflict(
                    f"message {client_message_id} is still being answered; retry shortly"
                )
        if self.escalation is not None:
            decision = await self.escalation.on_user_message(conv, user_msg)
            if not decision.bot_answers:
                return Turn(
                    self,
                    conv,
                    user_msg,
                    decision.message_id or "",
                    history_override=history_override,
                    decision=decision,
                )
        pending = await self.store.add_message(
            conv.id, role="assistant", content="", status="pending", reply_to=user_msg.id
        )
        return Turn(self, conv, user_msg, pending.message.id, history_override=history_override)


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

    async def events(self) -> AsyncIterator[TurnEvent]:
        if self.decision is not None:
            as_text = self.history_override is not None  # OpenAI-compatible API: no notices
            for held in held_turn_events(
                self.conversation.id, self.user_message, self.decision, as_text=as_text
            ):
                yield held
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
        async for ev in self._generate():
            yield ev

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

    async def _history(self) -> tuple[str | None, list[ChatMessage], int | None]:
        svc = self.service
        if self.history_override is not None:
            return None, list(self.history_override), None
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
        return window.summary, list(window.messages), gap.last if gap is not None else None

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

    def _prompt(self, summary: str | None, history: Sequence[ChatMessage]) -> Prompt:
        svc = self.service
        return build_prompt(
            system=svc.bot.render_system_prompt(svc.today()),
            summary=summary,
            history=history,
            user_message=self.user_message.content,
            counter=svc.provider.tokens,
            context_length=svc.provider.capabilities.context_length,
            max_output_tokens=svc.bot.model.max_output_tokens,
        )

    async def _generate(self) -> AsyncIterator[TurnEvent]:
        svc = self.service
        run = TurnRun(self, started=time.perf_counter())
        try:
            summary, history, summarize_through = await self._history()
            prompt = self._prompt(summary, history)
            run.prompt_tokens = prompt.prompt_tokens
            request = ChatRequest(
                messages=prompt.messages,
                temperature=svc.bot.model.temperature,
                max_output_tokens=svc.bot.model.max_output_tokens,
                idempotency_key=self.assistant_message_id,
            )
            provider = await self._admit_cost(run, prompt.prompt_tokens)
            stream = provider.stream(request)
            run.stream = stream
            try:
                async for ev in stream:
                    if isinstance(ev, TextDelta):
                        if ev.text:
                            run.add_text(ev.text)
                            yield ev
                    elif isinstance(ev, UsageReport):
                        run.usage = ev.usage
                    elif isinstance(ev, Finish):
                        run.finish = ev.reason
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
            await run.persist("complete", None)
            for extra in await _escalation_events(self, AnswerSignals("complete", run.content)):
                yield extra
            if summarize_through is not None and svc.summarize is not None:
                svc.background.spawn(
                    f"summary:{self.conversation.id}",
                    svc.summarize(self.conversation.id, summarize_through),
                )
            yield TurnDone(
                message_id=self.assistant_message_id,
                usage=run.usage,
                finish_reason=run.finish,
                provider=run.served_provider,
                model=run.served_model,
                content=run.content,
            )
        except ProviderError as exc:
            if run.parts or not svc.degraded_mode:
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


class BackgroundTasks:
    """Fire-and-forget tasks with one task per key, cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, key: str, coro: Any) -> None:
        if key in self._tasks and not self._tasks[key].done():
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._done(key, t))

    def _done(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("background task %s failed: %r", key, task.exception())

    async def drain(self) -> None:
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
