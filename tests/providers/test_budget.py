from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from frontdesk.domain import ChatMessage
from frontdesk.errors import BudgetExceeded
from frontdesk.events import UsageReport
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.budget import (
    BudgetLimit,
    Budgets,
    Ledger,
    MemoryLedger,
    RedisLedger,
    Subject,
    from_units,
    to_units,
)
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.providers.redis_scratch import scratch_redis

NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
ACME = Subject("acme", user="u1", conversation="c1")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[Ledger]:
    if request.param == "memory":
        yield MemoryLedger()
        return
    async with scratch_redis() as (client, prefix):
        yield RedisLedger(client, prefix=prefix)


def budgets(ledger: Ledger, *limits: BudgetLimit, ttl: float = 600.0) -> Budgets:
    return Budgets(ledger, limits, now=lambda: NOW, reservation_ttl=ttl)


async def test_reserve_settle_and_remaining(ledger: Ledger) -> None:
    b = budgets(ledger, BudgetLimit("tenant", "day", Decimal("1.00")))
    r = await b.reserve(ACME, Decimal("0.40"))
    assert await b.remaining(ACME) == Decimal("0.60")
    await b.settle(r, Decimal("0.25"))
    assert await b.remaining(ACME) == Decimal("0.75")
    r2 = await b.reserve(ACME, Decimal("0.75"))
    with pytest.raises(BudgetExceeded) as info:
        await b.reserve(ACME, Decimal("0.000000001"))
    assert info.value.retry_after == 2 * 3600  # the day resets at midnight UTC
    assert "day budget of this tenant" in str(info.value)
    await b.release(r2)
    assert await b.remaining(ACME) == Decimal("0.75")


async def test_each_scope_and_window_applies(ledger: Ledger) -> None:
    b = budgets(
        ledger,
        BudgetLimit("tenant", "month", Decimal("10")),
        BudgetLimit("user", "total", Decimal("1")),
        BudgetLimit("conversation", "day", Decimal("0.5")),
    )
    r = await b.reserve(ACME, Decimal("0.5"))
    await b.settle(r, Decimal("0.5"))
    with pytest.raises(BudgetExceeded, match="conversation"):
        await b.reserve(ACME, Decimal("0.01"))
    other_conversation = Subject("acme", user="u1", conversation="c2")
    r = await b.reserve(other_conversation, Decimal("0.5"))
    await b.settle(r, Decimal("0.5"))
    with pytest.raises(BudgetExceeded, match="total budget of this user") as info:
        await b.reserve(Subject("acme", user="u1", conversation="c3"), Decimal("0.01"))
    assert info.value.retry_after is None  # a total budget never resets
    assert await b.remaining(Subject("acme", user="u2")) == Decimal("1")
    assert await b.remaining(Subject("globex")) == Decimal("10")


async def test_no_budget_means_no_limit(ledger: Ledger) -> None:
    b = budgets(ledger)
    r = await b.reserve(ACME, Decimal("1000"))
    await b.settle(r, Decimal("1000"))
    assert await b.remaining(ACME) is None


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


async def test_200_concurrent_requests_never_overspend(ledger: Ledger) -> None:
    """Each turn reserves the worst case from the price table, calls the model, then
    settles the actual cost. 200 at once against a budget that fits only a few."""
    prices = load_price_table()
    limit = Decimal("0.05")
    b = budgets(ledger, BudgetLimit("tenant", "day", limit))
    rng = random.Random(7)
    provider = ScriptedProvider(
        responder=lambda _req: Step(" ".join(["word"] * rng.randint(1, 200))), model_name="gpt-4o"
    )
    request = ChatRequest(messages=[ChatMessage("user", "hello " * 300)], max_output_tokens=200)
    prompt_tokens = provider.tokens.count_messages(request.messages)
    worst = prices.worst_case("gpt-4o", prompt_tokens, request.max_output_tokens)
    refused = 0
    spent = Decimal(0)

    async def turn() -> None:
        nonlocal refused, spent
        try:
            reservation = await b.reserve(ACME, worst)
        except BudgetExceeded:
            refused += 1
            return
        usage = None
        async for event in provider.stream(request):
            if isinstance(event, UsageReport):
                usage = event.usage
            await asyncio.sleep(0)
        assert usage is not None
        cost = prices.cost_of("gpt-4o", usage)
        assert cost <= worst
        spent += cost
        await b.settle(reservation, cost)

    await asyncio.gather(*(turn() for _ in range(200)))
    remaining = await b.remaining(ACME)
    assert remaining is not None
    assert spent <= limit
    assert limit - remaining == spent  # the ledger holds exactly what was spent
    assert refused > 0
    assert 200 - refused >= int(limit / worst)  # every turn that fit was admitted
