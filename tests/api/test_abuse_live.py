"""Issue 9, finding 9: live streams are capped, and a worker holds one Redis subscription.

Before: one client held 1,000 ``/api/conversations/{id}/events`` streams open, and with
Redis every stream opened its own Redis connection. Now streams are capped per client
address and per conversation (429 beyond) and the Redis bus has one pattern subscription
per worker, fanned out in-process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager

import httpx
import pytest

from frontdesk.escalation.live import LiveEvent, RedisBus
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import AbuseSettings, Settings
from tests.apphelpers import Running, new_conversation
from tests.providers.redis_scratch import scratch_redis


@contextmanager
def stream(client: httpx.Client, cid: str) -> Iterator[httpx.Response]:
    with client.stream("GET", f"/api/conversations/{cid}/events") as resp:
        lines = resp.iter_lines()  # kept: dropping the iterator would close the connection
        if resp.status_code == 200:
            next(lines)  # the first frame: the stream is really open
        yield resp
        del lines


def test_live_streams_are_capped_per_conversation_and_per_address(running: Running) -> None:
    abuse = AbuseSettings(live_streams_per_conversation=2, live_streams_per_address=3)
    with running(ScriptedProvider(), abuse=abuse) as client:
        one, two = new_conversation(client), new_conversation(client)
        with ExitStack() as open_streams:
            codes = [open_streams.enter_context(stream(client, one)).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            assert open_streams.enter_context(stream(client, two)).status_code == 200
            over = open_streams.enter_context(stream(client, two))
            assert over.status_code == 429  # the address holds 3 streams
            assert int(over.headers["Retry-After"]) > 0
            transport = httpx.HTTPTransport(local_address="127.0.0.2")
            with (
                httpx.Client(base_url=client.base_url, transport=transport) as neighbour,
                stream(neighbour, two) as theirs,
            ):
                assert theirs.status_code == 200
        # closed streams give their slots back
        with stream(client, one) as again:
            assert again.status_code == 200


@pytest.mark.redis
async def test_a_redis_bus_uses_one_subscription_for_many_local_subscribers() -> None:
    async with scratch_redis() as (client, prefix):
        bus = RedisBus.from_url("redis://127.0.0.1:6379/0", prefix=prefix)
        try:
            channels = [f"conversation:{uuid.uuid4()}" for _ in range(200)]
            async with AsyncExitStack() as stack:
                subscriptions = [
                    await stack.enter_async_context(bus.subscribe(c)) for c in channels
                ]
                assert bus.connections == 1  # not 200
                counts = await client.pubsub_numsub(*[prefix + c for c in channels])
                assert all(n == 0 for _, n in counts)  # no per-channel subscription
                await bus.publish(channels[17], LiveEvent("message", {"n": 17}))
                got = await asyncio.wait_for(anext(subscriptions[17]), 5)
                assert got.data == {"n": 17}
                other = asyncio.ensure_future(anext(subscriptions[18]))
                await asyncio.sleep(0.2)
                assert not other.done()  # fanned out to that channel's subscriber only
                other.cancel()
                assert bus.subscriber_count(channels[17]) == 1
            assert bus.subscriber_count(channels[17]) == 0
        finally:
            await bus.aclose()


def test_a_waiting_customer_hears_their_new_place_from_the_one_queue_event(
    migrated: Settings,
) -> None:
    from frontdesk.auth.cli import create_key
    from tests.escalation.app_setup import running_app
    from tests.escalation.sse_reader import SSEReader

    agent = create_key(migrated.resolved_database_url, role="agent", name="alice").token
    auth = {"Authorization": f"Bearer {agent}"}
    with running_app(migrated, ScriptedProvider()) as client:
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=client.base_url, transport=transport) as neighbour:
            first, second = new_conversation(client), new_conversation(neighbour)
            for http, cid, text in (
                (client, first, "I want to talk to a human about my invoice, charged twice"),
                (neighbour, second, "I want to talk to a human, my export keeps failing"),
            ):
                resp = http.post(
                    f"/api/conversations/{cid}/messages", json={"content": text, "stream": False}
                )
                assert resp.status_code == 200, resp.text
        base = str(client.base_url).rstrip("/")
        with SSEReader(base, f"/api/conversations/{second}/events") as events:
            assert events.next("status")["queue_position"] == 2
            queue = client.get("/api/agent/queue", headers=auth).json()
            ahead = next(t for t in queue["tickets"] if t["conversation_id"] == first)
            assert client.post(f"/api/agent/tickets/{ahead['id']}/claim", headers=auth).is_success
            assert events.next("queue")["queue_position"] == 1
