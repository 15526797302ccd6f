"""The Limited wrapper: provider RPM/TPM limits on either bucket backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.admission.buckets import Buckets, MemoryBuckets, RedisBuckets
from frontdesk.domain import ChatMessage
from frontdesk.errors import ProviderRateLimited
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.limits import Limited, ProviderLimits
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.providers.redis_scratch import scratch_redis
from tests.providers.streams import call

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
    first, second = [await call(chain.stream(REQUEST)) for _ in range(2)]
    assert (first.text, second.text) == ("primary", "backup")
    assert second.outcomes == [("a", "failed", "provider_rate_limited"), ("b", "served", None)]
