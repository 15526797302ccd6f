"""Live stream caps hold across workers when Redis is configured (real Redis, 127.0.0.1:6379).

Before: the per-address and per-conversation caps were counted in each worker's memory,
so with N workers a client held N times the cap by reaching each worker. Now, with Redis,
every worker counts in the same Redis sorted sets (leased slots, renewed while a stream
is open). Two apps on one database and one Redis are two workers here; each still holds
one Redis pub/sub connection for all its streams.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from redis.asyncio import Redis

from frontdesk.app import create_app
from frontdesk.errors import RateLimited
from frontdesk.escalation.live import RedisBus
from frontdesk.escalation.stream_slots import RedisStreamSlots
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import AbuseSettings, Settings
from tests.apphelpers import new_conversation
from tests.conftest import make_bot
from tests.providers.redis_scratch import scratch_redis
from tests.servers import serve

pytestmark = pytest.mark.redis

REDIS_DB = 11  # not 0 (shared) and not 13 (tests/deploy flushes it)


@pytest.fixture
async def two_workers() -> AsyncIterator[tuple[RedisStreamSlots, RedisStreamSlots, str]]:
    """Two workers' slot counters: separate Redis clients, the same keys."""
    async with scratch_redis() as (client, prefix):
        other = Redis(host="127.0.0.1", port=6379)
        try:
            yield (
                RedisStreamSlots(client, per_address=3, per_conversation=2, prefix=prefix),
                RedisStreamSlots(other, per_address=3, per_conversation=2, prefix=prefix),
                prefix,
            )
        finally:
            await other.aclose()


async def test_caps_count_the_streams_of_every_worker(
    two_workers: tuple[RedisStreamSlots, RedisStreamSlots, str],
) -> None:
    a, b, _ = two_workers
    first = await a.acquire("addr-1", "conv-1")
    await b.acquire("addr-1", "conv-1")
    with pytest.raises(RateLimited, match="this conversation"):
        await b.acquire("addr-2", "conv-1")  # conv-1 holds two streams, one on each worker
    await a.acquire("addr-1", "conv-2")
    assert await a.open_count("addr-1", "conv-1") == (3, 2)
    with pytest.raises(RateLimited, match="this connection") as refused:
        await b.acquire("addr-1", "conv-3")  # addr-1 holds three, on two workers
    assert refused.value.retry_after and refused.value.retry_after > 0
    await a.acquire("addr-2", "conv-3")  # another address is not limited
    await first.aclose()
    await first.aclose()  # idempotent
    assert await b.open_count("addr-1", "conv-1") == (2, 1)
    await b.acquire("addr-1", "conv-4")  # the slot given back on worker a is free on b


async def test_a_slot_not_given_back_expires_with_its_lease_and_an_open_one_is_renewed() -> None:
    async with scratch_redis() as (client, prefix):
        slots = RedisStreamSlots(
            client, per_address=1, per_conversation=1, lease_seconds=1.0, prefix=prefix
        )
        kept = await slots.acquire("addr", "conv-kept")
        await asyncio.sleep(2.5)  # over two leases: still held because it is renewed
        assert await slots.open_count("addr", "conv-kept") == (1, 1)
        with pytest.raises(RateLimited):
            await slots.acquire("addr", "conv-other")
        kept.release()  # a worker that stops renewing (a crash, a stream never started)
        released = time.monotonic()
        while await slots.open_count("addr", "conv-kept") != (0, 0):
            assert time.monotonic() - released < 6, "the lease never ran out"
            await asyncio.sleep(0.1)
        again = await slots.acquire("addr", "conv-other")
        await again.aclose()


@contextmanager
def stream(client: httpx.Client, cid: str) -> Iterator[httpx.Response]:
    with client.stream("GET", f"/api/conversations/{cid}/events") as resp:
        lines = resp.iter_lines()  # kept: dropping the iterator would close the connection
        if resp.status_code == 200:
            next(lines)  # the first frame: the stream is really open
        yield resp
        del lines


def _address() -> str:
    """A loopback address of this test alone: its Redis keys meet no other test's."""
    return f"127.{random.randint(10, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


def test_two_workers_on_one_redis_share_the_caps_and_hold_one_subscription_each(
    migrated: Settings,
) -> None:
    settings = migrated.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "abuse": AbuseSettings(live_streams_per_conversation=2, live_streams_per_address=3),
        }
    )
    worker_a = create_app(settings, bot=make_bot(), provider=ScriptedProvider())
    worker_b = create_app(settings, bot=make_bot(), provider=ScriptedProvider())
    address = _address()

    def client(url: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=url, timeout=30, transport=transport)

    with (
        serve(worker_a) as url_a,
        serve(worker_b) as url_b,
        client(url_a) as a,
        client(url_b) as b,
        ExitStack() as open_streams,
    ):
        one, two = new_conversation(a), new_conversation(b)
        codes = [
            open_streams.enter_context(stream(a, one)).status_code,
            open_streams.enter_context(stream(b, one)).status_code,
            open_streams.enter_context(stream(a, one)).status_code,  # a third for `one`
        ]
        assert codes == [200, 200, 429]  # per worker this would have been 200
        assert open_streams.enter_context(stream(b, two)).status_code == 200
        over = open_streams.enter_context(stream(a, two))
        assert over.status_code == 429, over.text  # the address holds 3, on two workers
        assert "this connection" in over.read().decode()
        for app in (worker_a, worker_b):
            bus = app.state.services.escalation.bus
            assert isinstance(bus, RedisBus)
            assert bus.connections == 1  # one pub/sub connection for all its streams
        open_streams.close()
        # the streams ended: each worker gives its slots back as it sees the client leave
        assert _opens_within(a, one, seconds=10) and _opens_within(b, one, seconds=10)


def _opens_within(client: httpx.Client, cid: str, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with stream(client, cid) as resp:
            if resp.status_code == 200:
                return True
        time.sleep(0.1)
    return False
