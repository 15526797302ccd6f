"""Deadlines for one provider call: first token, idle gap between events, total.

``connect`` is carried here so one :class:`Timeouts` value configures a whole
endpoint, but it is enforced by the vendor adapter's HTTP client (a TCP connect is
invisible from outside); the first-token deadline bounds it as well.

A request that is not ``streamed`` (the caller waits for the complete answer, which an
adapter may then fetch as one response) has no first-token deadline, only the total.

Any deadline that passes raises :class:`~frontdesk.errors.ProviderTimeout` and
closes the inner stream (which cancels the upstream HTTP request).
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


class WithTimeouts(ProviderWrapper):
    def __init__(self, inner: ChatProvider, timeouts: Timeouts | None = None) -> None:
        super().__init__(inner)
        self.timeouts = timeouts or Timeouts()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        loop = asyncio.get_running_loop()
        limits = self.timeouts
        start = loop.time()
        total_deadline = start + limits.total
        upstream = self._inner.stream(request)
        seen_text = False
        # a complete response has its first token at the end: only the total bounds it
        first = limits.first_token if request.streamed else limits.total
        try:
            while True:
                now = loop.time()
                step = limits.idle if seen_text else first
                deadline = min(now + step, total_deadline)
                timer = asyncio.timeout_at(deadline)
                try:
                    async with timer:
                        event = await anext(upstream)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if not timer.expired():
                        raise
                    raise self._timeout(seen_text, deadline == total_deadline) from None
                if isinstance(event, TextDelta):
                    seen_text = True
                yield event
        finally:
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
