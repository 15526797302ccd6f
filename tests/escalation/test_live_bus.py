"""Live pub/sub: the in-process bus and the Redis bus (real Redis at 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from frontdesk.escalation.live import InMemoryBus, LiveBus, LiveEvent, RedisBus
from tests.providers.redis_scratch import scratch_redis


async def _exchange(publisher: LiveBus, subscriber: LiveBus) -> None:
    channel = f"conversation:{uuid.uuid4()}"
    other = f"conversation:{uuid.uuid4()}"
    async with subscriber.subscribe(channel) as events, subscriber.subscribe(other) as quiet:
        await publisher.publish(channel, LiveEvent("message", {"content": "Hello 👋"}))
        await publisher.publish(channel, LiveEvent("status", {"status": "bot"}))
        first = await asyncio.wait_for(anext(events), 5)
        second = await asyncio.wait_for(anext(events), 5)
        assert (first.name, first.data) == ("message", {"content": "Hello 👋"})
        assert (second.name, second.data) == ("status", {"status": "bot"})
        await publisher.publish(other, LiveEvent("queue", {"queue_position": 2}))
        assert (await asyncio.wait_for(anext(quiet), 5)).data == {"queue_position": 2}


async def test_in_memory_bus_delivers_per_channel_and_cleans_up() -> None:
    bus = InMemoryBus()
    await _exchange(bus, bus)
    assert bus.subscriber_count("conversation:x") == 0
    await bus.publish("nobody-listens", LiveEvent("status"))


async def test_a_slow_subscriber_loses_its_oldest_events_not_the_publisher() -> None:
    bus = InMemoryBus()
    async with bus.subscribe("c") as events:
        for i in range(300):
            await bus.publish("c", LiveEvent("n", {"i": i}))
        first = await asyncio.wait_for(anext(events), 1)
    assert first.data["i"] == 300 - 256


@pytest.mark.redis
async def test_redis_bus_crosses_workers() -> None:
    async with scratch_redis() as (_client, prefix):
        worker_a = RedisBus.from_url("redis://127.0.0.1:6379/0", prefix=prefix)
        worker_b = RedisBus.from_url("redis://127.0.0.1:6379/0", prefix=prefix)
        try:
            await _exchange(worker_a, worker_b)
        finally:
            await worker_a.aclose()
            await worker_b.aclose()


def test_live_event_json_round_trip() -> None:
    event = LiveEvent("message", {"content": "<b>x</b>", "seq": 3})
    assert LiveEvent.from_json(event.to_json()) == event
