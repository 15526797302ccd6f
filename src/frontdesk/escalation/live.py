"""Live events per conversation: an in-process pub/sub and a Redis one for many workers.

Channels are plain names (``conversation:<id>``, ``queue:<tenant>``). A
subscription is registered when its context is entered, so a caller can
subscribe first and then read the current state without missing an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class LiveEvent:
    name: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "data": self.data}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> LiveEvent:
        value = json.loads(raw)
        return cls(str(value["name"]), dict(value["data"]))


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def queue_channel(tenant_id: str) -> str:
    return f"queue:{tenant_id}"


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[LiveEvent]: ...


class LiveBus(Protocol):
    async def publish(self, channel: str, event: LiveEvent) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[LiveEvent]]: ...

    async def aclose(self) -> None: ...


class InMemoryBus:
    """One process: each subscriber has a bounded queue; a slow one loses its oldest events."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[LiveEvent]]] = {}

    async def publish(self, channel: str, event: LiveEvent) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[LiveEvent]]:
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(channel, set()).add(queue)

        async def events() -> AsyncIterator[LiveEvent]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]

    async def aclose(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Redis PUBLISH/SUBSCRIBE: every worker's subscribers see every worker's events."""

    def __init__(self, client: Redis, *, prefix: str = "frontdesk:live:") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "frontdesk:live:") -> RedisBus:
        return cls(Redis.from_url(url), prefix=prefix)

    async def publish(self, channel: str, event: LiveEvent) -> None:
        await self._client.publish(self._prefix + channel, event.to_json())

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[LiveEvent]]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._prefix + channel)

        async def events() -> AsyncIterator[LiveEvent]:
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    yield LiveEvent.from_json(message["data"])
                except (ValueError, KeyError, TypeError):
                    log.warning("ignored a malformed live event on %s", channel)

        try:
            yield events()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        await self._client.aclose()
