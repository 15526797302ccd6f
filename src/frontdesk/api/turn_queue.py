"""The worker's turn gate on the native message route, and the stream of a queued turn.

A turn that has to wait answers at once with an event stream: ``queued`` events with
its place in the queue (and the usual keep-alive comments) until it runs, then the
turn's own events. It stores nothing while it waits; what would have been an HTTP
error once it runs (a closed conversation, a rate limit) arrives as an ``error`` event.
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


def queued_frame(position: int) -> str:
    return sse_frame("queued", {"position": position})


def error_frame(exc: BaseException) -> str:
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
        "error", {"code": code, "message": message, "message_id": None, "retryable": retryable}
    )


async def queued_stream(
    ticket: TurnTicket,
    run: Callable[[], Awaitable[AsyncGenerator[str, None]]],
    *,
    update_seconds: float,
) -> AsyncIterator[str]:
    """``queued`` events until the ticket runs, then the frames of ``run()``'s turn.

    ``run`` prepares the turn (stores the message) once the ticket is running and returns
    its frames (it cleans up after itself when it fails). The ticket is released when the
    stream ends, however it ends.
    """
    try:
        deadline = ticket.gate.limits.wait_seconds
        waited = 0.0
        shown = -1
        while not ticket.admitted:
            position = ticket.position()
            if position != shown:
                shown = position
                yield queued_frame(position)
            step = min(update_seconds, deadline - waited)
            if step <= 0 or await ticket.wait(step):
                break
            waited += step
        if not ticket.admitted:
            ticket.release()
            yield error_frame(ticket.gate.busy(f"waited {deadline:g} s for a turn"))
            return
        try:
            frames = await run()
        except Exception as exc:
            if not isinstance(exc, FrontdeskError | PoolTimeout):
                log.exception("a queued turn failed to start")
            yield error_frame(exc)
            return
        try:
            async for frame in frames:
                yield frame
        finally:
            await frames.aclose()
    finally:
        ticket.release()
