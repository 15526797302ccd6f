"""Job claims: one winner among concurrent workers, once per interval, renewals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from frontdesk.memory.dialects import create_engine
from frontdesk.retention.claims import JobClaims

HOUR = timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_one_of_many_workers_wins_each_interval(database_url: str) -> None:
    clock = Clock()
    engines = [create_engine(database_url) for _ in range(6)]
    name = f"job-{id(clock)}"
    try:
        workers = [JobClaims(e, clock=clock) for e in engines]
        won = await asyncio.gather(*(w.claim(name, f"w{i}", HOUR) for i, w in enumerate(workers)))
        assert sum(won) == 1
        winner = won.index(True)
        # within the interval nobody claims again, not even the winner
        clock.now += timedelta(minutes=59)
        assert not any(await asyncio.gather(*(w.claim(name, "late", HOUR) for w in workers)))
        clock.now += timedelta(minutes=1)
        again = await asyncio.gather(*(w.claim(name, f"n{i}", HOUR) for i, w in enumerate(workers)))
        assert sum(again) == 1
        row = await workers[0].last(name)
        assert row is not None
        assert row["claimed_by"] == f"n{again.index(True)}" != f"w{winner}"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_renewal_keeps_a_long_run_and_finish_records_the_result(database_url: str) -> None:
    clock = Clock()
    engine = create_engine(database_url)
    try:
        claims = JobClaims(engine, clock=clock)
        name = f"long-{id(clock)}"
        assert await claims.claim(name, "a", HOUR)
        clock.now += timedelta(minutes=50)
        assert await claims.renew(name, "a")
        clock.now += timedelta(minutes=50)  # 100 minutes after the claim, 50 after renewal
        assert not await claims.claim(name, "b", HOUR)
        assert not await claims.renew(name, "b")  # only the owner renews
        await claims.finish(name, "a", {"deleted": 3})
        row = await claims.last(name)
        assert row is not None
        assert (row["claimed_by"], row["result"]) == ("a", {"deleted": 3})
        assert row["finished_at"] == clock.now
    finally:
        await engine.dispose()
