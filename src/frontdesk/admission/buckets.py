"""Token buckets: the rate primitive of request limits and of the provider RPM/TPM limits.

A bucket holds up to ``capacity`` tokens and refills at ``rate`` tokens a second
(``Rate(60, per=60)`` is 60 a minute with bursts of 60). Several buckets are taken
from atomically, all or none (a request takes from its tenant, user and conversation
buckets in one step; a provider call from its RPM and TPM buckets). ``adjust`` corrects
a bucket after the fact (a provider call's token estimate against the usage reported:
unused tokens return, an underestimate becomes debt that delays the next calls).

Backends: :class:`MemoryBuckets` (one worker; atomic because it never awaits) and
:class:`RedisBuckets` (shared by workers; one Lua script per operation, the clock
is the Redis server's so workers' clocks cannot disagree).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class Rate:
    limit: float
    per: float = 60.0

    def __post_init__(self) -> None:
        if self.limit <= 0 or self.per <= 0:
            raise ValueError("a rate needs a positive limit and period")

    @property
    def capacity(self) -> float:
        return self.limit

    @property
    def refill(self) -> float:
        """Tokens per second."""
        return self.limit / self.per


@dataclass(frozen=True, slots=True)
class Take:
    """Take ``cost`` tokens from the bucket ``key`` governed by ``rate``."""

    key: str
    rate: Rate
    cost: float = 1.0


class Buckets(Protocol):
    async def take(self, takes: Sequence[Take]) -> float:
        """Take every cost, or none. 0.0 on success, else seconds until all would fit.

        A cost above a bucket's capacity is clamped to the capacity (it waits for a
        full bucket instead of never fitting)."""
        ...

    async def adjust(self, take: Take) -> None:
        """Remove ``take.cost`` more tokens (a negative cost gives tokens back)."""
        ...


class MemoryBuckets:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    def _level(self, take: Take, now: float) -> float:
        tokens, stamp = self._state.get(take.key, (take.rate.capacity, now))
        return min(take.rate.capacity, tokens + max(0.0, now - stamp) * take.rate.refill)

    async def take(self, takes: Sequence[Take]) -> float:
        now = self._clock()
        levels = [self._level(t, now) for t in takes]
        wait = 0.0
        for take, level in zip(takes, levels, strict=True):
            cost = min(take.cost, take.rate.capacity)
            if level < cost:
                wait = max(wait, (cost - level) / take.rate.refill)
        if wait > 0:
            return wait
        for take, level in zip(takes, levels, strict=True):
            self._state[take.key] = (level - min(take.cost, take.rate.capacity), now)
        self._forget_full(now)
        return 0.0

    async def adjust(self, take: Take) -> None:
        now = self._clock()
        level = self._level(take, now)
        self._state[take.key] = (min(take.rate.capacity, level - take.cost), now)

    def _forget_full(self, now: float) -> None:
        """Bound memory: drop buckets idle for an hour (long since refilled)."""
        if len(self._state) < 10_000:
            return
        stale = [k for k, (_, stamp) in self._state.items() if now - stamp > 3600]
        for key in stale:
            del self._state[key]


# KEYS: bucket hashes. ARGV: per key (cost, capacity, refill per second).
# Returns "0" when taken, else the wait in seconds as a string.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local cost = tonumber(ARGV[3 * i - 2])
  local cap = tonumber(ARGV[3 * i - 1])
  local refill = tonumber(ARGV[3 * i])
  local v = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(v[1]) or cap
  local stamp = tonumber(v[2]) or now
  local level = math.min(cap, tokens + math.max(0, now - stamp) * refill)
  levels[i] = level
  cost = math.min(cost, cap)
  if level < cost then
    wait = math.max(wait, (cost - level) / refill)
  end
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  local cost = math.min(tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]))
  local ttl = math.ceil(tonumber(ARGV[3 * i - 1]) / tonumber(ARGV[3 * i]) * 1000) + 1000
  redis.call('HSET', key, 'tokens', tostring(levels[i] - cost), 'stamp', tostring(now))
  redis.call('PEXPIRE', key, ttl)
end
return "0"
"""

_ADJUST = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local refill = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(v[1]) or cap
local stamp = tonumber(v[2]) or now
local level = math.min(cap, tokens + math.max(0, now - stamp) * refill)
level = math.min(cap, level - cost)
local debt = math.max(0, -level)
local ttl = math.ceil((cap + debt) / refill * 1000) + 1000
redis.call('HSET', KEYS[1], 'tokens', tostring(level), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], ttl)
return "ok"
"""


class RedisBuckets:
    def __init__(self, redis: Redis, prefix: str = "frontdesk:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)
        self._adjust = redis.register_script(_ADJUST)

    async def take(self, takes: Sequence[Take]) -> float:
        keys = [self._prefix + t.key for t in takes]
        args: list[float] = []
        for t in takes:
            args += [t.cost, t.rate.capacity, t.rate.refill]
        result = await self._take(keys=keys, args=args)
        return float(result)

    async def adjust(self, take: Take) -> None:
        args = [take.cost, take.rate.capacity, take.rate.refill]
        await self._adjust(keys=[self._prefix + take.key], args=args)
