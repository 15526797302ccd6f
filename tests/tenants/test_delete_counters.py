"""A deleted tenant's budget counters go from Redis (tenant, user and conversation
scopes; a ``total`` budget would otherwise never reset), other tenants' stay."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from frontdesk.admission.budgets import BudgetLimit, Budgets, RedisLedger, Subject
from frontdesk.tenants.delete import BUDGET_PREFIX, drop_budget_counters
from tests.providers.redis_scratch import scratch_redis

pytestmark = pytest.mark.redis

LIMITS = [
    BudgetLimit("tenant", "total", Decimal("100")),
    BudgetLimit("user", "day", Decimal("10")),
    BudgetLimit("conversation", "month", Decimal("5")),
]


async def test_budget_counters_of_the_deleted_tenant_only() -> None:
    assert inspect.signature(RedisLedger).parameters["prefix"].default == BUDGET_PREFIX
    async with scratch_redis() as (client, scratch):
        prefix = scratch + "budget:"
        ledger = RedisLedger(client, prefix=prefix)
        budgets = Budgets(ledger, LIMITS)
        subjects = {t: Subject(tenant=t, user="u1", conversation="c1") for t in ("acme", "acme2")}
        for subject in subjects.values():
            reservation = await budgets.reserve(subject, Decimal("1"))
            await budgets.settle(reservation, Decimal("0.5"))
        lines = {t: budgets.lines(s) for t, s in subjects.items()}
        for tenant_lines in lines.values():
            for line in tenant_lines:
                assert (await ledger.balance(line.key))[0] > 0
        assert await drop_budget_counters(client, "acme", prefix) == 3
        for line in lines["acme"]:
            assert await ledger.balance(line.key) == (0, 0)
        for line in lines["acme2"]:  # a tenant whose id starts the same is untouched
            assert (await ledger.balance(line.key))[0] > 0
        assert await drop_budget_counters(client, "acme", prefix) == 0
