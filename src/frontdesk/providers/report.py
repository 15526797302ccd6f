"""The :class:`~frontdesk.events.CallReport` every single provider ends its stream with.

An adapter writes its vendor stream as a private generator and returns
``reported(self.name, self.model, self._events(request))`` from ``stream``: the
stream is timed from its first ``__anext__``, passes every event through and,
once the vendor stream finishes, yields one ``CallReport`` (served by this
endpoint, one ``served`` attempt, the last usage seen, time to first token).
A failure propagates unchanged (no report); closing the stream early closes the
vendor stream (which cancels the upstream call).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from frontdesk.domain import Usage
from frontdesk.events import AttemptEvent, CallReport, ProviderEvent, TextDelta, UsageReport


async def reported(
    provider: str, model: str, events: AsyncGenerator[ProviderEvent, None]
) -> AsyncGenerator[ProviderEvent, None]:
    started = time.perf_counter()
    ttft_ms: float | None = None
    usage = Usage()
    async with aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta):
                if ttft_ms is None:
                    ttft_ms = (time.perf_counter() - started) * 1000
            elif isinstance(event, UsageReport):
                usage = event.usage
            elif isinstance(event, CallReport):  # an adapter never reports twice
                continue
            yield event
    duration_ms = (time.perf_counter() - started) * 1000
    served = AttemptEvent(provider, model, "served", duration_ms=duration_ms, usage=usage)
    yield CallReport(provider, model, (served,), usage, ttft_ms, duration_ms)
