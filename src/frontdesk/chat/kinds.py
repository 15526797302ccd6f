"""The kinds of turn: answered by the bot, held for a person, or a replay of a stored answer.

Each kind streams :data:`~frontdesk.events.TurnEvent` values from ``events()`` and ends with
``TurnDone`` (or ``TurnError``); :func:`outcome_of` collects a whole turn into a
:class:`TurnOutcome` for callers that don't stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from frontdesk.chat.deps import ApiProtocol
from frontdesk.chat.handoff_events import held_turn_events
from frontdesk.chat.turn import AnswerTurn, redaction_notice
from frontdesk.domain import Citation, Conversation, StoredMessage, Usage
from frontdesk.escalation import Decision
from frontdesk.events import (
    Citations,
    Escalated,
    TextDelta,
    TurnDone,
    TurnError,
    TurnEvent,
    TurnStarted,
)
from frontdesk.guard.base import InputResult
from frontdesk.memory.base import MemoryStore


@dataclass(frozen=True)
class HeldTurn:
    """A person has, or will get, the conversation: the bot does not answer."""

    conversation: Conversation
    user_message: StoredMessage
    decision: Decision
    checked: InputResult | None = None
    protocol: ApiProtocol = "native"

    @property
    def conversation_id(self) -> str:
        return self.conversation.id

    @property
    def assistant_message_id(self) -> str:
        return self.decision.message_id or ""

    async def events(self) -> AsyncGenerator[TurnEvent, None]:
        held = held_turn_events(
            self.conversation.id,
            self.user_message,
            self.decision,
            as_text=self.protocol == "openai",
        )
        for i, ev in enumerate(held):
            yield ev
            if i == 0 and (notice := redaction_notice(self.checked)) is not None:
                yield notice


@dataclass(frozen=True)
class ReplayTurn:
    """The same client message id again: send the stored answer, store nothing."""

    store: MemoryStore
    conversation: Conversation
    user_message: StoredMessage
    reply: StoredMessage

    @property
    def conversation_id(self) -> str:
        return self.conversation.id

    @property
    def assistant_message_id(self) -> str:
        return self.reply.id

    async def events(self) -> AsyncGenerator[TurnEvent, None]:
        reply = self.reply
        yield TurnStarted(
            self.conversation.id, self.user_message.id, reply.id, self.user_message.content
        )
        turns = await self.store.list_turns(self.conversation.id)
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
            cost_usd=float(rec.cost) if rec else 0.0,
        )


Turn = AnswerTurn | HeldTurn | ReplayTurn


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """A whole turn as data: what was answered, with what, at what cost."""

    conversation_id: str
    message_id: str
    status: str
    """complete | partial | failed | queued (or the hand-off action for a held turn)."""
    content: str
    citations: list[Citation] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    provider: str = ""
    model: str = ""
    finish_reason: str = ""
    error: TurnError | None = None
    escalated: bool = False


async def outcome_of(turn: Turn) -> TurnOutcome:
    """Run a turn to its end and collect its outcome."""
    done: TurnDone | None = None
    error: TurnError | None = None
    citations: list[Citation] = []
    escalated = False
    events = turn.events()
    try:
        async for ev in events:
            if isinstance(ev, TurnDone):
                done = ev
            elif isinstance(ev, TurnError):
                error = ev
            elif isinstance(ev, Citations):
                citations = ev.citations
            elif isinstance(ev, Escalated):
                escalated = True
    finally:
        await events.aclose()
    if done is not None:
        return TurnOutcome(
            conversation_id=turn.conversation_id,
            message_id=done.message_id,
            status=done.status,
            content=done.content,
            citations=done.citations or citations,
            usage=done.usage,
            cost_usd=done.cost_usd,
            provider=done.provider,
            model=done.model,
            finish_reason=done.finish_reason,
            escalated=escalated,
        )
    return TurnOutcome(
        conversation_id=turn.conversation_id,
        message_id=turn.assistant_message_id,
        status="partial" if error is not None and error.partial_content else "failed",
        content=error.partial_content if error is not None else "",
        finish_reason="error",
        error=error,
        escalated=escalated,
    )
