"""Failed authentications counted per client address: past the limit, 429 until the window ends.

Fixed windows of ``window_seconds``; in-process for one worker, or in Redis (``INCR`` with
an expiry, so workers share the count) when the app has Redis configured.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


class FailureCounter(Protocol):
    async def blocked_for(self, address: str) -> float | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        ...

    async def record_failure(self, address: str) -> None: ...


@dataclass
class MemoryFailureCounter:
    limit: int
    window_seconds: float
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    max_entries: int = 100_000

    def _current(self, address: str) -> tuple[float, int]:
        now = self.clock()
        started, count = self._windows.get(address, (now, 0))
        if now - started >= self.window_seconds:
            return now, 0
        return started, count

    async def blocked_for(self, address: str) -> float | None:
        started, count = self._current(address)
        if count < self.limit:
            return None
        return max(0.0, started + self.window_seconds - self.clock())

    async def record_failure(self, address: str) -> None:
        started, count = self._current(address)
        if len(self._windows) >= self.max_entries:
            now = self.clock()
            self._windows = {
                a: w for a, w in self._windows.items() if now - w[0] < self.window_seconds
            }
        self._windows[address] = (started, count + 1)


@dataclass
class RedisFailureCounter:
    redis: Redis
    limit: int
    window_seconds: float
    prefix: str = "frontdesk:authfail:"

    async def blocked_for(self, address: str) -> float | None:
        key = self.prefix + address
        pipe = self.redis.pipeline()
        pipe.get(key)
        pipe.pttl(key)
        count, ttl_ms = await pipe.execute()
        if count is None or int(count) < self.limit:
            return None
        return max(0.0, ttl_ms / 1000) if ttl_ms and ttl_ms > 0 else self.window_seconds

    async def record_failure(self, address: str) -> None:
        key = self.prefix + address
        ttl_ms = math.ceil(self.window_seconds * 1000)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.pexpire(key, ttl_ms, nx=True)
        await pipe.execute()
