"""What the customer is streamed when escalation decides instead of (or after) the bot.

Escalation returns a :class:`~frontdesk.escalation.Decision` (data); the chat turn renders it
here, so the escalation package never builds chat events.
"""

from __future__ import annotations

from frontdesk.domain import StoredMessage, Usage
from frontdesk.escalation import Decision
from frontdesk.events import Escalated, Notice, TextDelta, TurnDone, TurnEvent, TurnStarted


def decision_events(decision: Decision, *, as_text: bool = False) -> list[TurnEvent]:
    """The events of one decision (no start/done).

    ``as_text`` sends the notice as answer text instead of a ``Notice`` (for protocols
    without notices, e.g. the OpenAI-compatible API).
    """
    out: list[TurnEvent] = []
    if decision.action == "escalated" and decision.ticket is not None:
        reason = decision.trigger.reason if decision.trigger else decision.ticket.reason
        out.append(Escalated(reason=reason, ticket_id=decision.ticket.id))
    if decision.notice:
        if as_text:
            out.append(TextDelta(decision.notice))
        else:
            out.append(Notice(code=f"handoff_{decision.action}", message=decision.notice))
    return out


def held_turn_events(
    conversation_id: str, user_message: StoredMessage, decision: Decision, *, as_text: bool = False
) -> list[TurnEvent]:
    """A whole turn for a message the bot does not answer (start, decision events, done)."""
    message_id = decision.message_id or ""
    return [
        TurnStarted(conversation_id, user_message.id, message_id, user_message.content),
        *decision_events(decision, as_text=as_text),
        TurnDone(
            message_id=message_id,
            usage=Usage(),
            finish_reason=decision.action,
            provider="",
            model="",
            content=decision.notice,
            extra={"handoff": decision.action},
        ),
    ]
