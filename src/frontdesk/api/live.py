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

Open streams are capped per client address and per conversation (429 beyond,
``FRONTDESK_ABUSE__LIVE_STREAMS_PER_*``): counted in Redis across every worker when
Redis is configured (:mod:`frontdesk.escalation.stream_slots`), else in this worker.
A waiting customer's stream listens to the tenant's queue channel and recomputes its own
place (one indexed count) when the queue changes, so a queue change costs one publish, not
one per ticket.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request

from frontdesk.admission.streams import StreamSlots as WorkerSlots
from frontdesk.api.auth_deps import EscalationDep
from frontdesk.api.deps import ServicesDep, request_address
from frontdesk.api.params import SQL_INT_MAX
from frontdesk.api.sse import sse_frame, with_heartbeats
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.domain import Conversation
from frontdesk.escalation.build import Escalation
from frontdesk.escalation.handoff import message_json
from frontdesk.escalation.live import conversation_channel, queue_channel
from frontdesk.escalation.stream_slots import (
    LocalStreamSlots,
    RedisStreamSlots,
    Slot,
    StreamSlots,
)
from frontdesk.services import Services

RELEASE_TIMEOUT_SECONDS = 5.0

router = APIRouter(prefix="/api", tags=["live"])


@router.get(
    "/conversations/{conversation_id}/events",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def conversation_events(
    conversation_id: str,
    request: Request,
    services: ServicesDep,
    escalation: EscalationDep,
    after_seq: int | None = Query(
        None, ge=0, le=SQL_INT_MAX, description="Replay agent messages after this seq"
    ),
) -> EventStreamResponse:
    conversation = await services.chat.get_conversation(conversation_id)  # 404: other tenant's
    slot = await stream_slots(services).acquire(request_address(request), conversation_id)
    frames = _held(slot, _frames(escalation, conversation, after_seq))
    # released when the stream ends; a stream that never started gives it back when
    # collected (with Redis: its lease stops being renewed and runs out)
    weakref.finalize(frames, slot.release)
    return EventStreamResponse(with_heartbeats(frames, services.settings.heartbeat_seconds))


def stream_slots(services: Services) -> StreamSlots:
    """Redis-backed caps (every worker) when Redis is configured, else this worker's."""
    abuse = services.settings.abuse
    if services.redis is not None:
        return RedisStreamSlots(
            services.redis,
            per_address=abuse.live_streams_per_address,
            per_conversation=abuse.live_streams_per_conversation,
        )
    admission = services.chat.admission
    return LocalStreamSlots(admission.streams if admission is not None else WorkerSlots(0, 0))


async def _held(slot: Slot, frames: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    try:
        async for frame in frames:
            yield frame
    finally:
        await frames.aclose()
        # shielded: a client leaving cancels this task, and the slot must still go back
        with anyio.CancelScope(shield=True), anyio.move_on_after(RELEASE_TIMEOUT_SECONDS):
            await slot.aclose()


async def _frames(
    escalation: Escalation, conversation: Conversation, after_seq: int | None
) -> AsyncGenerator[str, None]:
    handoff = escalation.handoff
    conversation_id = conversation.id
    channels = (conversation_channel(conversation_id), queue_channel(conversation.tenant_id))
    async with escalation.bus.subscribe(*channels) as events:
        # subscribed first: nothing published from here on is missed
        current = await handoff.store.get_conversation(conversation_id)
        if current is None:
            return
        conversation = current
        status = await handoff.status_json(conversation)
        place = status.get("queue_position")
        yield sse_frame("status", status)
        if after_seq is not None:
            for message in await handoff.store.list_messages(conversation_id, after_seq=after_seq):
                if message.role == "agent":
                    yield sse_frame("message", message_json(message))
        if conversation.status == "closed":
            return
        async for event in events:
            if event.name == "queue" and "ticket_id" not in event.data:
                # the tenant's queue changed: tell this customer their place if it moved
                update = await _place(escalation, conversation_id)
                if update is not None and update["queue_position"] != place:
                    place = update["queue_position"]
                    yield sse_frame("queue", update)
                continue
            yield sse_frame(event.name, event.data)
            if event.name == "status":
                place = event.data.get("queue_position", place)
                if event.data.get("status") == "closed":
                    return


async def _place(escalation: Escalation, conversation_id: str) -> dict[str, Any] | None:
    ticket = await escalation.handoff.tickets.open_for_conversation(conversation_id)
    if ticket is None or ticket.status != "waiting":
        return None
    info = await escalation.handoff.queue_info(ticket)
    return {"ticket_id": ticket.id, **info.as_json()}
