"""Every admission backend passes the one contract: in-process and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from frontdesk.admission.buckets import Buckets, MemoryBuckets, RedisBuckets
from frontdesk.admission.budgets import Ledger, MemoryLedger, RedisLedger
from tests.contracts.admission_contract import AdmissionContract
from tests.providers.redis_scratch import scratch_redis


class TestInProcess(AdmissionContract):
    @pytest.fixture
    def buckets(self) -> Buckets:
        return MemoryBuckets()

    @pytest.fixture
    def ledger(self) -> Ledger:
        return MemoryLedger()


@pytest.mark.redis
class TestRedis(AdmissionContract):
    @pytest.fixture
    async def redis(self) -> AsyncIterator[tuple[Redis, str]]:
        async with scratch_redis() as scratch:
            yield scratch

    @pytest.fixture
    def buckets(self, redis: tuple[Redis, str]) -> Buckets:
        client, prefix = redis
        return RedisBuckets(client, prefix=prefix + "rl:")

    @pytest.fixture
    def ledger(self, redis: tuple[Redis, str]) -> Ledger:
        client, prefix = redis
        return RedisLedger(client, prefix=prefix + "budget:")
