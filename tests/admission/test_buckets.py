"""What only the in-process buckets can show (their clock is injectable), and rate validation."""

from __future__ import annotations

import pytest

from frontdesk.admission.buckets import MemoryBuckets, Rate, Take


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_memory_buckets_refill_with_time() -> None:
    clock = Clock()
    memory = MemoryBuckets(clock)
    rate = Rate(2, per=1.0)
    take = [Take("k", rate)]
    assert await memory.take(take) == 0.0
    assert await memory.take(take) == 0.0
    assert await memory.take(take) == pytest.approx(0.5)
    clock.now = 0.5
    assert await memory.take(take) == 0.0
    clock.now = 100.0
    assert [await memory.take(take) for _ in range(3)][:2] == [0.0, 0.0]  # capped at capacity


def test_rate_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        Rate(0)
    assert Rate(120, per=60).refill == 2.0
