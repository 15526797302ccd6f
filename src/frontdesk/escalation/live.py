"""Live events per conversation: an in-process pub/sub and a Redis one for many workers.

Channels are plain names (``conversation:<id>``, ``queue:<tenant>``). A
subscription (to one or more channels) is registered when its context is
entered, so a caller can subscribe first and then read the current state
without missing an event.

With Redis, a worker holds ONE pub/sub connection (a pattern subscription to
every live channel, opened on first use) and fans each event out in-process to
its local subscribers: a thousand open streams cost a thousand small queues,
not a thousand Redis connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis  # imported only when a Redis bus is configured

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


class LiveBus(Protocol):
    async def publish(self, channel: str, event: LiveEvent) -> None: ...

    def subscribe(
        self, channel: str, *more: str
    ) -> AbstractAsyncContextManager[AsyncIterator[LiveEvent]]: ...

    async def aclose(self) -> None: ...


class InMemoryBus:
    """One process: each subscriber has a bounded queue; a slow one loses its oldest events."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[LiveEvent]]] = {}

    async def publish(self, channel: str, event: LiveEvent) -> None:
        self.deliver(channel, event)

    def deliver(self, channel: str, event: LiveEvent) -> None:
        """Hand ``event`` to every local subscriber of ``channel`` (never blocks)."""
        for queue in list(self._subscribers.get(channel, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    @asynccontextmanager
    async def subscribe(self, channel: str, *more: str) -> AsyncIterator[AsyncIterator[LiveEvent]]:
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        channels = (channel, *more)
        for name in channels:
            self._subscribers.setdefault(name, set()).add(queue)

        async def events() -> AsyncIterator[LiveEvent]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            for name in channels:
                subscribers = self._subscribers.get(name)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[name]

    async def aclose(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Redis PUBLISH/SUBSCRIBE: every worker's subscribers see every worker's events.

    One pattern subscription (``<prefix>*``) per bus, read by one task that
    delivers to the in-process :class:`InMemoryBus`; a lost connection is
    re-established with a short backoff (events published meanwhile are lost,
    as with any Redis pub/sub; the stream's ``status`` at connect is the truth).
    """

    def __init__(self, client: Redis, *, prefix: str = "frontdesk:live:") -> None:
        self._client = client
        self._prefix = prefix
        self._local = InMemoryBus()
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._connections = 0

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "frontdesk:live:") -> RedisBus:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), prefix=prefix)

    @property
    def connections(self) -> int:
        """Redis pub/sub connections this bus opened so far (1 while healthy)."""
        return self._connections

    def subscriber_count(self, channel: str) -> int:
        return self._local.subscriber_count(channel)

    async def publish(self, channel: str, event: LiveEvent) -> None:
        await self._client.publish(self._prefix + channel, event.to_json())

    @asynccontextmanager
    async def subscribe(self, channel: str, *more: str) -> AsyncIterator[AsyncIterator[LiveEvent]]:
        await self._ensure_reader()
        async with self._local.subscribe(channel, *more) as events:
            yield events

    async def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._ready = asyncio.Event()
            self._reader = asyncio.create_task(self._read(self._ready), name="live-bus-reader")
        assert self._ready is not None
        ready = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            self._reader.result()  # the reader failed before subscribing: raise its error

    async def _read(self, ready: asyncio.Event) -> None:
        from redis.exceptions import RedisError  # loaded with the client

        backoff = 0.2
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self._prefix + "*")
                self._connections += 1
                ready.set()
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    self._dispatch(message)
            except (ConnectionError, OSError, RedisError) as exc:
                if not ready.is_set():
                    raise
                log.warning("live bus lost its Redis subscription (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(5.0, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, message: dict[str, Any]) -> None:
        raw_channel = message.get("channel")
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        channel = channel.removeprefix(self._prefix)
        try:
            event = LiveEvent.from_json(message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed live event on %s", channel)
            return
        self._local.deliver(channel, event)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._local.aclose()
        await self._client.aclose()
