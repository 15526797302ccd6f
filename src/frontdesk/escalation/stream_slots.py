"""Caps on open live event streams, per client address and per conversation.

:class:`LocalStreamSlots` counts the streams of one worker (the in-process
``StreamSlots`` of the admission package behind the async interface);
:class:`RedisStreamSlots` counts every worker's streams in Redis, so the caps
hold for the whole deployment whichever worker a client reaches.

In Redis each cap is a sorted set (``<prefix>address:<key>``,
``<prefix>conversation:<id>``) whose members are open slots scored by the
time their lease ends (the Redis server's clock). Taking a slot is one Lua
script: drop expired members, refuse when a set is full, else add the slot to
both. An open stream renews its lease every ``lease_seconds / 3``; a stream
that ends removes its slot at once; a worker that dies leaves slots that
expire with their lease, so a crash never locks a client out for longer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Protocol

from frontdesk.errors import RateLimited

if TYPE_CHECKING:
    from redis.asyncio import Redis

# redis.exceptions is imported where a Redis client is used: redis is only imported when
# FRONTDESK_REDIS_URL is set

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class Slot(Protocol):
    def release(self) -> None:
        """Give the slot back without waiting (idempotent; safe from a finalizer)."""
        ...

    async def aclose(self) -> None:
        """Give the slot back and wait until it is (idempotent)."""
        ...


class StreamSlots(Protocol):
    async def acquire(self, address: str, conversation: str) -> Slot:
        """A slot for one stream, or :class:`RateLimited` (429 with Retry-After)."""
        ...


class _SyncSlot(Protocol):
    def release(self) -> None: ...


class _SyncSlots(Protocol):
    def acquire(self, address: str, conversation: str) -> _SyncSlot: ...


class _LocalSlot:
    def __init__(self, slot: _SyncSlot) -> None:
        self._slot = slot

    def release(self) -> None:
        self._slot.release()

    async def aclose(self) -> None:
        self._slot.release()


class LocalStreamSlots:
    """This worker's counts (the admission's in-process ``StreamSlots``)."""

    def __init__(self, slots: _SyncSlots) -> None:
        self._slots = slots

    async def acquire(self, address: str, conversation: str) -> Slot:
        return _LocalSlot(self._slots.acquire(address, conversation))


# KEYS: address set, conversation set. ARGV: lease ms, address cap, conversation cap, member.
# Returns 0 when taken, 1 when the address is full, 2 when the conversation is.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local cap = tonumber(ARGV[i + 1])
  if cap > 0 and redis.call('ZCARD', KEYS[i]) >= cap then
    return i
  end
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
return 0
"""

# KEYS: address set, conversation set. ARGV: lease ms, member.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
return 0
"""


class RedisStreamSlots:
    """Stream caps shared by every worker on one Redis (see the module docstring)."""

    def __init__(
        self,
        client: Redis,
        *,
        per_address: int,
        per_conversation: int,
        lease_seconds: float = 60.0,
        prefix: str = "frontdesk:streams:",
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._client = client
        self._per_address = per_address
        self._per_conversation = per_conversation
        self._lease_ms = max(1, int(lease_seconds * 1000))
        self._prefix = prefix

    def keys(self, address: str, conversation: str) -> tuple[str, str]:
        return (
            f"{self._prefix}address:{address}",
            f"{self._prefix}conversation:{conversation}",
        )

    async def open_count(self, address: str, conversation: str) -> tuple[int, int]:
        """Unexpired slots of the address and of the conversation (for tests and metrics)."""
        now_s, now_us = await self._client.time()
        now = now_s * 1000 + now_us // 1000
        counts = []
        for key in self.keys(address, conversation):
            counts.append(int(await self._client.zcount(key, f"({now}", "+inf")))
        return counts[0], counts[1]

    async def acquire(self, address: str, conversation: str) -> Slot:
        if not self._per_address and not self._per_conversation:
            return _NoSlot()
        keys = self.keys(address, conversation)
        member = uuid.uuid4().hex
        full = int(
            await self._client.eval(
                _ACQUIRE,
                2,
                *keys,
                self._lease_ms,
                self._per_address,
                self._per_conversation,
                member,
            )
        )
        if full == 1:
            raise RateLimited(
                f"too many live streams from this connection (limit {self._per_address})",
                retry_after=RETRY_AFTER_SECONDS,
            )
        if full == 2:
            raise RateLimited(
                f"too many live streams for this conversation (limit {self._per_conversation})",
                retry_after=RETRY_AFTER_SECONDS,
            )
        return _RedisSlot(self._client, keys, member, self._lease_ms)


class _NoSlot:
    def release(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _RedisSlot:
    def __init__(self, client: Redis, keys: tuple[str, str], member: str, lease_ms: int) -> None:
        self._client = client
        self._keys = keys
        self._member = member
        self._lease_ms = lease_ms
        self._closed = False
        self._renewal = asyncio.create_task(self._renew(), name="stream-slot-renewal")

    async def _renew(self) -> None:
        from redis.exceptions import RedisError

        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                await self._client.eval(_RENEW, 2, *self._keys, self._lease_ms, self._member)
            except (RedisError, OSError) as exc:
                log.warning("could not renew a live stream slot (%s); retrying", exc)

    def release(self) -> None:
        """Stop renewing: the slot expires with its lease (no await possible here)."""
        self._renewal.cancel()

    async def aclose(self) -> None:
        from redis.exceptions import RedisError

        if self._closed:
            return
        self._closed = True
        self._renewal.cancel()
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for key in self._keys:
                    pipe.zrem(key, self._member)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not release a live stream slot (%s); it expires", exc)
