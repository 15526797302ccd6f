"""Deadlines for one provider call: first token, idle gap between events, total.

``connect`` is carried here so one :class:`Timeouts` value configures a whole
endpoint, but it is enforced by the vendor adapter's HTTP client (a TCP connect is
invisible from outside); the first-token deadline bounds it as well.

A request that is not ``streamed`` (the caller waits for the complete answer, which an
adapter may then fetch as one response) has no first-token deadline, only the total.

Any deadline that passes raises :class:`~frontdesk.errors.ProviderTimeout` and
closes the inner stream (which cancels the upstream HTTP request). Each deadline bounds
one read of the inner stream (the time the caller holds an event is not counted), with
one timer per stream rather than an ``asyncio.timeout`` per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from frontdesk.errors import ProviderTimeout
from frontdesk.events import ProviderEvent, TextDelta
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.wrapper import ProviderWrapper


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 5.0
    first_token: float = 20.0
    idle: float = 15.0
    total: float = 120.0

    def __post_init__(self) -> None:
        for name in ("connect", "first_token", "idle", "total"):
            if getattr(self, name) <= 0:
                raise ValueError(f"timeout {name} must be positive")


class _Deadline:
    """One timer for a whole stream: it cancels the reading task only while a read of the
    inner stream is out and that read's deadline has passed (what ``asyncio.timeout_at``
    around each read does, without a timer handle per event).

    A read's deadline never moves earlier than the armed timer except once, when the idle
    gap after the first text is shorter than the first-token deadline; a later one leaves
    the timer armed, and when it fires early it re-arms itself for the current deadline.
    """

    __slots__ = ("_armed_at", "_handle", "_loop", "at", "cancelling", "fired", "reading", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = 0.0
        self.at = 0.0
        self.task: asyncio.Task[object] | None = None
        self.cancelling = 0
        self.reading = False
        self.fired = False

    def arm(self, at: float) -> None:
        """A read begins; it may last until ``at`` (loop time)."""
        task = self.task = asyncio.current_task(self._loop)
        self.cancelling = task.cancelling() if task is not None else 0
        self.at = at
        self.reading = True
        handle = self._handle
        if handle is None or at < self._armed_at:
            if handle is not None:
                handle.cancel()
            self._armed_at = at
            self._handle = self._loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if not self.reading:
            return  # the caller holds the stream: the next read arms it again
        if self.at > self._armed_at:  # this read's deadline is later than the armed one
            self._armed_at = self.at
            self._handle = self._loop.call_at(self.at, self._fire)
            return
        if self.task is not None:
            self.fired = True
            self.task.cancel()

    def expired(self, exc: BaseException | None) -> bool:
        """After the read: whether it was cut by this deadline (the cancellation is
        withdrawn as ``asyncio.timeout`` does; one from elsewhere stays)."""
        self.reading = False
        if not self.fired:
            return False
        self.fired = False
        assert self.task is not None
        return self.task.uncancel() <= self.cancelling and isinstance(exc, asyncio.CancelledError)

    def close(self) -> None:
        self.reading = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class WithTimeouts(ProviderWrapper):
    def __init__(self, inner: ChatProvider, timeouts: Timeouts | None = None) -> None:
        super().__init__(inner)
        self.timeouts = timeouts or Timeouts()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        loop = asyncio.get_running_loop()
        limits = self.timeouts
        total_deadline = loop.time() + limits.total
        upstream = self._inner.stream(request)
        seen_text = False
        # a complete response has its first token at the end: only the total bounds it
        step = limits.first_token if request.streamed else limits.total
        timer = _Deadline(loop)
        try:
            while True:
                deadline = min(loop.time() + step, total_deadline)
                timer.arm(deadline)
                try:
                    event = await anext(upstream)
                except StopAsyncIteration:
                    timer.expired(None)
                    return
                except BaseException as exc:
                    if timer.expired(exc):
                        raise self._timeout(seen_text, deadline == total_deadline) from None
                    raise
                timer.reading = False
                if timer.fired:  # the inner stream went on despite the cancellation
                    timer.expired(None)
                if not seen_text and isinstance(event, TextDelta):
                    seen_text = True
                    step = limits.idle
                yield event
        finally:
            timer.close()
            await upstream.aclose()

    def _timeout(self, seen_text: bool, total: bool) -> ProviderTimeout:
        limits = self.timeouts
        if total:
            what = f"no complete answer within {limits.total:g} s"
        elif seen_text:
            what = f"no new token for {limits.idle:g} s"
        else:
            what = f"no first token within {limits.first_token:g} s"
        return ProviderTimeout(what, provider=self.name)
