"""Server-sent events: encoders for the native API and a heartbeat merger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from frontdesk.events import (
    ActionConfirm,
    Citations,
    Escalated,
    Notice,
    Retracted,
    TextDelta,
    TurnDone,
    TurnError,
    TurnEvent,
    TurnStarted,
    UsageReport,
)

HEARTBEAT = ": ping\n\n"


def sse_frame(event: str | None, data: Any) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def usage_json(ev: TurnDone | UsageReport) -> dict[str, int]:
    u = ev.usage
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cached_tokens": u.cached_tokens,
    }


def native_frame(ev: TurnEvent) -> str | None:
    """Encode one internal event for the native ``/api`` stream."""
    match ev:
        case TurnStarted():
            return sse_frame(
                "start",
                {
                    "conversation_id": ev.conversation_id,
                    "user_message_id": ev.user_message_id,
                    "message_id": ev.assistant_message_id,
                },
            )
        case TextDelta():
            return sse_frame("delta", {"text": ev.text})
        case Citations():
            return sse_frame("citations", {"citations": [asdict(c) for c in ev.citations]})
        case Notice():
            return sse_frame("notice", {"code": ev.code, "message": ev.message})
        case Retracted():
            return sse_frame("retracted", {"reason": ev.reason, "replacement": ev.replacement})
        case Escalated():
            return sse_frame("escalated", {"reason": ev.reason, "ticket_id": ev.ticket_id})
        case ActionConfirm():
            return sse_frame(
                "action_confirm",
                {
                    "id": ev.id,
                    "action": ev.action,
                    "title": ev.title,
                    "question": ev.question,
                    "expires_at": ev.expires_at,
                },
            )
        case TurnDone():
            return sse_frame(
                "done",
                {
                    "message_id": ev.message_id,
                    "usage": usage_json(ev),
                    "finish_reason": ev.finish_reason,
                    "provider": ev.provider,
                    "model": ev.model,
                    "status": ev.status,
                    **ev.extra,
                },
            )
        case TurnError():
            return sse_frame(
                "error",
                {
                    "code": ev.code,
                    "message": ev.message,
                    "message_id": ev.message_id,
                    "retryable": ev.retryable,
                },
            )
        case UsageReport():
            return None


async def with_heartbeats(frames: AsyncIterator[str], interval: float) -> AsyncIterator[str]:
    """Interleave ``HEARTBEAT`` comments whenever ``frames`` is idle for ``interval``.

    The source runs in its own task so a heartbeat timeout never cancels it;
    when the consumer goes away, the source is cancelled and closed.
    """
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=64)

    async def pump() -> None:
        try:
            async for frame in frames:
                await queue.put(("frame", frame))
            await queue.put(("end", None))
        except Exception as exc:  # delivered to the consumer, re-raised there
            await queue.put(("exc", exc))
        finally:
            await frames.aclose()  # type: ignore[attr-defined]

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the queue hands over an item
                async with asyncio.timeout(interval):
                    kind, value = await queue.get()
            except TimeoutError:
                yield HEARTBEAT
                continue
            if kind == "end":
                break
            if kind == "exc":
                raise value
            yield value
    finally:
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our own cancellation, not only the pump's
