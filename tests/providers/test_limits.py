from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from frontdesk.domain import ChatMessage
from frontdesk.errors import ProviderRateLimited, RateLimited
from frontdesk.events import TextDelta
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.limits import (
    AdmissionLimiter,
    Buckets,
    Limited,
    MemoryBuckets,
    ProviderLimits,
    Rate,
    RedisBuckets,
    RequestLimits,
    Take,
)
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.providers.redis_scratch import scratch_redis

SLOW = Rate(3, per=3600)  # refills one token every 20 minutes: no refill during a test
REQUEST = ChatRequest(messages=[ChatMessage("user", "one two three four")], max_output_tokens=10)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    if request.param == "memory":
        yield MemoryBuckets()
        return
    async with scratch_redis() as (client, prefix):
        yield RedisBuckets(client, prefix=prefix)


async def test_burst_up_to_capacity_then_wait(buckets: Buckets) -> None:
    take = [Take("k", SLOW)]
    assert [await buckets.take(take) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await buckets.take(take)
    assert 0 < wait <= 1200.0 + 1e-6


async def test_takes_all_or_none(buckets: Buckets) -> None:
    small = Take("small", SLOW, 3)
    assert await buckets.take([small]) == 0.0
    other = Take("other", SLOW)
    assert await buckets.take([other, Take("small", SLOW)]) > 0  # small is empty
    assert [await buckets.take([other]) for _ in range(3)] == [0.0, 0.0, 0.0]  # nothing was taken


async def test_adjust_refunds_and_records_debt(buckets: Buckets) -> None:
    rate = Rate(100, per=3600)
    assert await buckets.take([Take("tpm", rate, 80)]) == 0.0
    await buckets.adjust(Take("tpm", rate, -50))  # the call used 50 fewer tokens
    assert await buckets.take([Take("tpm", rate, 70)]) == 0.0
    await buckets.adjust(Take("tpm", rate, 40))  # an underestimate: 40 more
    wait = await buckets.take([Take("tpm", rate, 1)])
    assert wait == pytest.approx(41 / rate.refill, rel=0.01)


async def test_a_cost_above_capacity_waits_for_a_full_bucket(buckets: Buckets) -> None:
    assert await buckets.take([Take("big", SLOW, 50)]) == 0.0
    assert await buckets.take([Take("big", SLOW, 1)]) > 0


async def test_concurrent_takes_never_exceed_capacity(buckets: Buckets) -> None:
    rate = Rate(10, per=3600)
    results = await asyncio.gather(*(buckets.take([Take("hot", rate)]) for _ in range(60)))
    assert sum(1 for r in results if r == 0.0) == 10


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


async def test_admission_limits_per_tenant_user_and_conversation(buckets: Buckets) -> None:
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


async def test_limited_provider_rpm(buckets: Buckets) -> None:
    inner = ScriptedProvider.from_texts(["hello there"])
    limited = Limited(inner, buckets, ProviderLimits(rpm=2))
    for _ in range(2):
        assert [e async for e in limited.stream(REQUEST)]
    with pytest.raises(ProviderRateLimited) as info:
        await anext(limited.stream(REQUEST))
    assert info.value.retry_after is not None
    assert info.value.retry_after > 0
    assert len(inner.requests) == 2


async def test_limited_provider_tpm_is_corrected_by_reported_usage(buckets: Buckets) -> None:
    inner = ScriptedProvider.from_texts(["a b"])  # reports 8 input + 2 output tokens
    limited = Limited(inner, buckets, ProviderLimits(tpm=30))
    estimate = limited.estimate(REQUEST)
    assert estimate == 8 + 10
    [e async for e in limited.stream(REQUEST)]  # takes 18, 8 come back: 20 left
    [e async for e in limited.stream(REQUEST)]  # 10 left, and the next estimate is 18
    with pytest.raises(ProviderRateLimited):
        await anext(limited.stream(REQUEST))


async def test_limited_waits_up_to_max_wait() -> None:
    clock = Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    limited = Limited(
        ScriptedProvider.from_texts(["ok"]),
        MemoryBuckets(clock),
        ProviderLimits(rpm=60),
        max_wait=2.0,
        sleep=sleep,
    )
    for _ in range(61):
        [e async for e in limited.stream(REQUEST)]
    assert slept == [pytest.approx(1.0)]


async def test_fallback_moves_on_when_the_primary_is_over_its_limit() -> None:
    buckets = MemoryBuckets()
    primary = Limited(
        ScriptedProvider.from_texts(["primary"], provider_name="a"), buckets, ProviderLimits(rpm=1)
    )
    backup = ScriptedProvider(steps=[Step("backup")], provider_name="b")
    chain = Fallback([primary, backup])
    texts = []
    for _ in range(2):
        stream = chain.stream(REQUEST)
        texts.append("".join([e.text async for e in stream if isinstance(e, TextDelta)]))
    assert texts == ["primary", "backup"]
    assert stream.attempts[0].error_code == "provider_rate_limited"


def test_rate_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        Rate(0)
    assert Rate(120, per=60).refill == 2.0
