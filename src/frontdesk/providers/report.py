"""The :class:`~frontdesk.events.CallReport` every single provider ends its stream with.

An adapter writes its vendor stream as a private generator and returns
``reported(self.name, self.model, self._events(request))`` from ``stream``: the
stream is timed from its first ``__anext__``, passes every event through and,
once the vendor stream finishes, yields one ``CallReport`` (served by this
endpoint, one ``served`` attempt, the last usage seen, time to first token).
A failure propagates unchanged (no report); closing the stream early closes the
vendor stream (which cancels the upstream call). An adapter on the hot path may keep a
:class:`Reporter` in its own generator instead (the OpenAI dialect does).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from frontdesk.domain import Usage
from frontdesk.events import AttemptEvent, CallReport, ProviderEvent, TextDelta, UsageReport


class Reporter:
    """The report of one adapter's stream, for an adapter that writes it into its own
    generator (one layer fewer than :func:`reported`): created when the stream starts,
    told of the first text delta and of the usage, asked for the report at the end."""

    __slots__ = ("model", "provider", "started", "ttft_ms", "usage")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.started = time.perf_counter()
        self.ttft_ms: float | None = None
        self.usage = Usage()

    def first_text(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def report(self) -> CallReport:
        duration_ms = (time.perf_counter() - self.started) * 1000
        served = AttemptEvent(
            self.provider, self.model, "served", duration_ms=duration_ms, usage=self.usage
        )
        return CallReport(
            self.provider, self.model, (served,), self.usage, self.ttft_ms, duration_ms
        )


async def reported(
    provider: str, model: str, events: AsyncGenerator[ProviderEvent, None]
) -> AsyncGenerator[ProviderEvent, None]:
    report = Reporter(provider, model)
    async with aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta):
                report.first_text()
            elif isinstance(event, UsageReport):
                report.usage = event.usage
            elif isinstance(event, CallReport):  # an adapter never reports twice
                continue
            yield event
    yield report.report()
