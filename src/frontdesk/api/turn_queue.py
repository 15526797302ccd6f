"""The worker's turn gate on the native message route, and the stream of a queued turn.

A turn that has to wait is stored first: the message is validated, guarded (PII and
secrets redacted) and stored with its pending answer before it joins the queue, so a
worker killed while the turn waits loses nothing (a live worker's sweep ends the dead
worker's pending answer as ``failed``: chat/leases.py). The stream then answers at
once: ``queued`` events with the turn's place in the queue and the ids of the stored
message and of its answer (the usual keep-alive comments meanwhile), then the turn's own
events. A client that loses the connection finds both with ``GET /api/conversations/ID``.
A wait past the gate's ``wait_seconds``, or a client gone while queued, ends the pending
answer as ``failed`` (it was never started).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from fastapi import Request
from sqlalchemy.exc import TimeoutError as PoolTimeout

from frontdesk.admission.turns import TurnGate, TurnLimits, TurnTicket
from frontdesk.api.sse import sse_frame
from frontdesk.errors import FrontdeskError, ProviderError, RateLimited

log = logging.getLogger(__name__)


def turn_gate(request: Request) -> TurnGate:
    """The one gate of this worker (all tenants share its database pool and CPU)."""
    state = request.app.state
    gate: TurnGate | None = getattr(state, "turn_gate", None)
    if gate is None:
        gate = TurnGate(TurnLimits.of(state.services.settings.turns))
        state.turn_gate = gate
    return gate


def queued_frame(position: int, user_message_id: str, message_id: str) -> str:
    return sse_frame(
        "queued",
        {"position": position, "user_message_id": user_message_id, "message_id": message_id},
    )


def error_frame(exc: BaseException, message_id: str | None = None) -> str:
    if isinstance(exc, FrontdeskError):
        code, message = exc.code, exc.message
        retryable = isinstance(exc, RateLimited) or (
            isinstance(exc, ProviderError) and exc.retryable
        )
    elif isinstance(exc, PoolTimeout):
        code, message, retryable = "database_busy", "the service is busy; please retry", True
    else:
        code, message, retryable = "internal_error", "internal server error", False
    return sse_frame(
        "error",
        {"code": code, "message": message, "message_id": message_id, "retryable": retryable},
    )


async def queued_stream(
    ticket: TurnTicket,
    frames: AsyncGenerator[str, None],
    *,
    user_message_id: str,
    message_id: str,
    abandon: Callable[[str], Awaitable[None]],
    update_seconds: float,
) -> AsyncIterator[str]:
    """``queued`` events until the ticket runs, then ``frames`` (the stored turn's).

    ``abandon(error)`` ends the stored turn that never ran (the wait ran out, or the
    client went away while it waited). The ticket is released when the stream ends,
    however it ends.
    """
    started = False
    try:
        deadline = ticket.gate.limits.wait_seconds
        waited = 0.0
        shown = -1
        while not ticket.admitted:
            position = ticket.position()
            if position != shown:
                shown = position
                yield queued_frame(position, user_message_id, message_id)
            step = min(update_seconds, deadline - waited)
            if step <= 0 or await ticket.wait(step):
                break
            waited += step
        if not ticket.admitted:
            ticket.release()
            busy = ticket.gate.busy(f"waited {deadline:g} s for a turn")
            await abandon(f"{busy.code}: {busy}")
            started = True  # ended
            yield error_frame(busy, message_id)
            return
        started = True
        async for frame in frames:
            yield frame
    finally:
        ticket.release()
        try:
            if not started:  # the client went away while it waited
                await abandon("client disconnected while queued")
        finally:
            await frames.aclose()
