"""An honest queue wait estimate from recent claim times (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueInfo:
    position: int
    """1 = next to be claimed; 0 = not waiting."""
    estimated_wait_seconds: int | None
    """None when there is too little history to say."""
    basis: int
    """How many recent claims the estimate rests on."""

    def as_json(self) -> dict[str, int | None]:
        return {
            "queue_position": self.position,
            "estimated_wait_seconds": self.estimated_wait_seconds,
            "estimate_basis": self.basis,
        }


def estimate_wait(
    position: int, claim_seconds: Sequence[float], elapsed_seconds: float, *, min_samples: int = 3
) -> int | None:
    """Median time-to-claim of recent tickets per place in the queue, minus time already waited.

    With fewer than ``min_samples`` recent claims there is no honest number: None.
    """
    if position <= 0 or len(claim_seconds) < min_samples:
        return None
    median = statistics.median(claim_seconds)
    return max(0, round(median * position - elapsed_seconds))


def describe_wait(info: QueueInfo) -> str:
    place = f"You're number {info.position} in the queue"
    if info.estimated_wait_seconds is None:
        return f"{place}. We can't estimate the wait yet; please keep this chat open."
    minutes = round(info.estimated_wait_seconds / 60)
    if minutes <= 1:
        return f"{place}; someone should be with you in about a minute."
    return f"{place}; the estimated wait is about {minutes} minutes."
