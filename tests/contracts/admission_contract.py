"""The contract every admission backend passes: token buckets (``Buckets``) and the budget
ledger (``Ledger``), in-process or Redis, and the limits and budgets built on them.

Subclass :class:`AdmissionContract` in a ``Test*`` class and provide two fixtures:
``buckets`` (fresh, empty :class:`~frontdesk.admission.buckets.Buckets`) and ``ledger``
(a fresh :class:`~frontdesk.admission.budgets.Ledger`).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from frontdesk.admission.anonymous import AnonymousBudget, Client, ClientLimits
from frontdesk.admission.buckets import Buckets, Rate, Take
from frontdesk.admission.budgets import BudgetLimit, Budgets, Ledger, Subject
from frontdesk.admission.requests import AdmissionLimiter, RequestLimits
from frontdesk.domain import ChatMessage
from frontdesk.errors import BudgetExceeded, RateLimited
from frontdesk.events import UsageReport
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import AbuseSettings

SLOW = Rate(3, per=3600)  # refills one token every 20 minutes: no refill during a test
NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
ACME = Subject("acme", user="u1", conversation="c1")


def budgets(ledger: Ledger, *limits: BudgetLimit, ttl: float = 600.0) -> Budgets:
    return Budgets(ledger, limits, now=lambda: NOW, reservation_ttl=ttl)


class BucketsContract:
    async def test_burst_up_to_capacity_then_wait(self, buckets: Buckets) -> None:
        take = [Take("k", SLOW)]
        assert [await buckets.take(take) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = await buckets.take(take)
        assert 0 < wait <= 1200.0 + 1e-6

    async def test_takes_all_or_none(self, buckets: Buckets) -> None:
        small = Take("small", SLOW, 3)
        assert await buckets.take([small]) == 0.0
        other = Take("other", SLOW)
        assert await buckets.take([other, Take("small", SLOW)]) > 0  # small is empty
        # nothing was taken from the other bucket by the refused call
        assert [await buckets.take([other]) for _ in range(3)] == [0.0, 0.0, 0.0]

    async def test_adjust_refunds_and_records_debt(self, buckets: Buckets) -> None:
        rate = Rate(100, per=3600)
        assert await buckets.take([Take("tpm", rate, 80)]) == 0.0
        await buckets.adjust(Take("tpm", rate, -50))  # the call used 50 fewer tokens
        assert await buckets.take([Take("tpm", rate, 70)]) == 0.0
        await buckets.adjust(Take("tpm", rate, 40))  # an underestimate: 40 more
        wait = await buckets.take([Take("tpm", rate, 1)])
        assert wait == pytest.approx(41 / rate.refill, rel=0.01)

    async def test_a_cost_above_capacity_waits_for_a_full_bucket(self, buckets: Buckets) -> None:
        assert await buckets.take([Take("big", SLOW, 50)]) == 0.0
        assert await buckets.take([Take("big", SLOW, 1)]) > 0

    async def test_concurrent_takes_never_exceed_capacity(self, buckets: Buckets) -> None:
        rate = Rate(10, per=3600)
        results = await asyncio.gather(*(buckets.take([Take("hot", rate)]) for _ in range(60)))
        assert sum(1 for r in results if r == 0.0) == 10

    async def test_requests_are_limited_per_tenant_user_and_conversation(
        self, buckets: Buckets
    ) -> None:
        limiter = AdmissionLimiter(
            buckets, RequestLimits(tenant=Rate(10), user=Rate(3), conversation=Rate(2))
        )
        await limiter.admit("acme", "u1", "c1")
        await limiter.admit("acme", "u1", "c1")
        with pytest.raises(RateLimited) as info:
            await limiter.admit("acme", "u1", "c1")
        assert info.value.retry_after is not None
        assert info.value.retry_after >= 1
        assert info.value.http_status == 429
        await limiter.admit("acme", "u1", "c2")  # another conversation of the same user
        with pytest.raises(RateLimited):
            await limiter.admit("acme", "u1", "c3")  # but the user's limit is spent
        await limiter.admit("acme", "u2", "c9")  # other users are unaffected
        await limiter.admit("globex", "u1", "c1")  # and other tenants

    async def test_a_refused_request_takes_nothing_from_its_tenant(self, buckets: Buckets) -> None:
        limiter = AdmissionLimiter(buckets, RequestLimits(tenant=Rate(3, 3600), user=Rate(1)))
        await limiter.admit("acme", "u1")
        for _ in range(5):
            with pytest.raises(RateLimited):
                await limiter.admit("acme", "u1")
        await limiter.admit("acme", "u2")  # the tenant still has two of its three
        await limiter.admit("acme", "u3")
        with pytest.raises(RateLimited):
            await limiter.admit("acme", "u4")

    async def test_anonymous_clients_are_limited_per_address_and_session(
        self, buckets: Buckets
    ) -> None:
        abuse = AbuseSettings(messages_per_address=3, messages_per_session=2)
        limits = ClientLimits(buckets, abuse)
        phone = Client("acme", "addr-1", session="s1")
        await limits.admit("message", phone)
        await limits.admit("message", phone)
        with pytest.raises(RateLimited, match="too many messages"):
            await limits.admit("message", phone)  # the session's two are spent
        await limits.admit("message", Client("acme", "addr-1", session="s2"))
        with pytest.raises(RateLimited):  # the address's three are spent
            await limits.admit("message", Client("acme", "addr-1", session="s3"))
        await limits.admit("message", Client("acme", "addr-2"))
        for _ in range(5):  # a caller with an API key is limited by its tenant/user limits
            await limits.admit("message", Client("acme", "addr-1", identity="key-1"))


class LedgerContract:
    async def test_reserve_settle_and_remaining(self, ledger: Ledger) -> None:
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

    async def test_a_reservation_of_nothing_settles_and_expires(self, ledger: Ledger) -> None:
        # the embedded model costs 0 USD: Redis refused HINCRBY "-0" (a 500 on every answer)
        b = budgets(ledger, BudgetLimit("tenant", "day", Decimal("1.00")), ttl=0.05)
        r = await b.reserve(ACME, Decimal("0"))
        await b.settle(r, Decimal("0"))
        await b.reserve(ACME, Decimal("0"))
        await asyncio.sleep(0.1)  # expired, never settled: released on the next reserve
        await b.release(await b.reserve(ACME, Decimal("0.10")))
        assert await b.remaining(ACME) == Decimal("1.00")

    async def test_each_scope_and_window_applies(self, ledger: Ledger) -> None:
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

    async def test_no_budget_means_no_limit(self, ledger: Ledger) -> None:
        b = budgets(ledger)
        r = await b.reserve(ACME, Decimal("1000"))
        await b.settle(r, Decimal("1000"))
        assert await b.remaining(ACME) is None

    async def test_200_concurrent_requests_never_overspend(self, ledger: Ledger) -> None:
        """Each turn reserves the worst case from the price table, calls the model, then
        settles the actual cost. 200 at once against a budget that fits only a few."""
        prices = load_price_table()
        limit = Decimal("0.05")
        b = budgets(ledger, BudgetLimit("tenant", "day", limit))
        rng = random.Random(7)
        provider = ScriptedProvider(
            responder=lambda _req: Step(" ".join(["word"] * rng.randint(1, 200))),
            model_name="gpt-4o",
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

    async def test_the_anonymous_daily_budget_holds_per_address(self, ledger: Ledger) -> None:
        abuse = AbuseSettings(
            anonymous_daily_tokens_per_address=1000,
            anonymous_daily_tokens_per_session=600,
            anonymous_daily_usd_per_address=Decimal("1"),
            anonymous_daily_usd_per_session=Decimal("1"),
        )
        anonymous = AnonymousBudget(ledger, abuse, now=lambda: NOW)
        first = Client("acme", "addr-1", session="s1")
        held = await anonymous.reserve(first, 500, Decimal("0.01"))
        assert held is not None
        with pytest.raises(BudgetExceeded, match="session") as info:
            await anonymous.reserve(first, 200, Decimal("0.01"))  # 700 > the session's 600
        assert info.value.retry_after == 2 * 3600  # until midnight UTC
        await anonymous.settle(held, 300, Decimal("0.004"))
        assert await anonymous.spent(first) == (300, Decimal("0.004"))
        other = Client("acme", "addr-1", session="s2")
        again = await anonymous.reserve(other, 600, Decimal("0.01"))  # 300 + 600 ≤ 1000
        with pytest.raises(BudgetExceeded, match="connection"):
            await anonymous.reserve(Client("acme", "addr-1", session="s3"), 200, Decimal("0"))
        assert again is not None
        await anonymous.settle(again, 0, Decimal(0))
        keyed = Client("acme", "addr-1", identity="key-1")  # budgets of its key apply instead
        assert await anonymous.reserve(keyed, 10**9, Decimal(0)) is None


class AdmissionContract(BucketsContract, LedgerContract):
    """Both halves: a backend pair (buckets + ledger) passes all of it."""
