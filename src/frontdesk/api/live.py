"""Live events of one conversation for the customer's chat (server-sent events).

``GET /api/conversations/{id}/events[?after_seq=N]`` streams, in this order:

- ``status`` once at connect, then on every hand-off change::

    {"status": "bot"|"waiting_for_agent"|"agent"|"closed", "ticket_id": str|null,
     "team": str|null, "agent": str|null, "queue_position": int,
     "estimated_wait_seconds": int|null, "estimate_basis": int}

- ``message`` for each agent message with ``seq > after_seq`` missed while
  disconnected, then live for every agent message and every customer message
  written while a person handles the conversation::

    {"id", "seq", "role": "agent"|"user"|"assistant", "content", "status",
     "author": str|null, "created_at"}

- ``queue`` when the customer's place in the queue changes::

    {"ticket_id", "queue_position", "estimated_wait_seconds", "estimate_basis"}

Comments (``: ping``) keep the connection alive; the stream ends after a
``status`` of ``closed``. The conversation id is the capability (anonymous,
like the chat endpoints).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Query

from frontdesk.api.auth_deps import EscalationDep
from frontdesk.api.deps import ServicesDep
from frontdesk.api.sse import sse_frame, with_heartbeats
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.errors import NotFound
from frontdesk.escalation.build import Escalation
from frontdesk.escalation.handoff import message_json
from frontdesk.escalation.live import conversation_channel

router = APIRouter(prefix="/api", tags=["live"])


@router.get(
    "/conversations/{conversation_id}/events",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def conversation_events(
    conversation_id: str,
    services: ServicesDep,
    escalation: EscalationDep,
    after_seq: int | None = Query(None, ge=0, description="Replay agent messages after this seq"),
) -> EventStreamResponse:
    conversation = await services.store.get_conversation(conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    frames = _frames(escalation, conversation_id, after_seq)
    return EventStreamResponse(with_heartbeats(frames, services.settings.heartbeat_seconds))


async def _frames(
    escalation: Escalation, conversation_id: str, after_seq: int | None
) -> AsyncIterator[str]:
    handoff = escalation.handoff
    async with escalation.bus.subscribe(conversation_channel(conversation_id)) as events:
        # subscribed first: nothing published from here on is missed
        conversation = await handoff.store.get_conversation(conversation_id)
        if conversation is None:
            return
        yield sse_frame("status", await handoff.status_json(conversation))
        if after_seq is not None:
            for message in await handoff.store.list_messages(conversation_id, after_seq=after_seq):
                if message.role == "agent":
                    yield sse_frame("message", message_json(message))
        if conversation.status == "closed":
            return
        async for event in events:
            yield sse_frame(event.name, event.data)
            if event.name == "status" and event.data.get("status") == "closed":
                return
