"""What only one backend of the budget ledger can show: expiry by its own clock; exact units."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from frontdesk.admission.budgets import (
    BudgetLimit,
    MemoryLedger,
    RedisLedger,
    from_units,
    to_units,
)
from frontdesk.errors import BudgetExceeded
from tests.contracts.admission_contract import ACME, budgets
from tests.providers.redis_scratch import scratch_redis


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_unsettled_reservation_expires() -> None:
    clock = Clock()
    b = budgets(MemoryLedger(clock), BudgetLimit("tenant", "total", Decimal("1")), ttl=30)
    await b.reserve(ACME, Decimal("1"))
    with pytest.raises(BudgetExceeded):
        await b.reserve(ACME, Decimal("0.1"))
    clock.now = 31
    late = await b.reserve(ACME, Decimal("1"))
    await b.settle(late, Decimal("0.2"))
    assert await b.remaining(ACME) == Decimal("0.8")


@pytest.mark.redis
async def test_redis_reservations_expire_by_server_time() -> None:
    async with scratch_redis() as (client, prefix):
        ledger = RedisLedger(client, prefix)
        b = budgets(ledger, BudgetLimit("tenant", "total", Decimal("1")), ttl=0.05)
        stale = await b.reserve(ACME, Decimal("1"))
        await asyncio.sleep(0.1)
        fresh = await b.reserve(ACME, Decimal("1"))  # the stale one was released
        await b.settle(stale, Decimal("0"))  # settling an expired reservation frees nothing twice
        await b.settle(fresh, Decimal("0.4"))
        assert await b.remaining(ACME) == Decimal("0.6")


def test_units_are_exact_and_round_reservations_up() -> None:
    assert to_units(Decimal("0.00575")) == 5_750_000
    assert to_units(Decimal("0.0000000001")) == 1
    assert from_units(5_750_000) == Decimal("0.00575")
