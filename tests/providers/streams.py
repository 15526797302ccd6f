"""Helpers for reading provider streams in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from frontdesk.events import AttemptEvent, CallReport, ProviderEvent, TextDelta


def without_report(events: list[ProviderEvent]) -> list[ProviderEvent]:
    """The events before the closing :class:`CallReport` (which must be last, and only once)."""
    assert events, "the stream produced no events"
    assert isinstance(events[-1], CallReport), f"the last event is {events[-1]!r}, not a report"
    assert not any(isinstance(e, CallReport) for e in events[:-1]), "more than one CallReport"
    return events[:-1]


class Call:
    """What one provider call said about itself: text, attempt events, its report."""

    def __init__(self) -> None:
        self.text = ""
        self.attempts: list[AttemptEvent] = []
        self.report: CallReport | None = None

    async def read(self, stream: AsyncIterator[ProviderEvent]) -> Call:
        """Read to the end (a failure propagates; what was seen before it stays here)."""
        async for event in stream:
            if isinstance(event, TextDelta):
                self.text += event.text
            elif isinstance(event, AttemptEvent):
                self.attempts.append(event)
            elif isinstance(event, CallReport):
                self.report = event
        return self

    @property
    def outcomes(self) -> list[tuple[str, str, str | None]]:
        """(provider, outcome, error code) of each attempt, from the report when there is one."""
        attempts = self.report.attempts if self.report is not None else self.attempts
        return [(a.provider, a.outcome, a.error_code) for a in attempts]


async def call(stream: AsyncIterator[ProviderEvent]) -> Call:
    return await Call().read(stream)
