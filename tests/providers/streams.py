"""Helpers for reading provider streams in tests."""

from __future__ import annotations

from frontdesk.events import CallReport, ProviderEvent


def without_report(events: list[ProviderEvent]) -> list[ProviderEvent]:
    """The events before the closing :class:`CallReport` (which must be last, and only once)."""
    assert events, "the stream produced no events"
    assert isinstance(events[-1], CallReport), f"the last event is {events[-1]!r}, not a report"
    assert not any(isinstance(e, CallReport) for e in events[:-1]), "more than one CallReport"
    return events[:-1]
