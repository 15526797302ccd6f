"""The written retry policy, and the wrapper that applies it.

Policy (also in the docs):

* Only :class:`~frontdesk.errors.ProviderError` with ``retryable=True`` is retried
  (rate limited, overloaded, unavailable, timeout, malformed stream); bad requests,
  auth failures, content filtering and an open circuit are not.
* At most ``max_attempts`` attempts in total (the first call included).
* Delay before retry *n* (n = 1, 2, ...): "full jitter" exponential backoff,
  ``uniform(0, min(max_delay, base_delay * multiplier ** (n - 1)))``
  (``jitter=False`` uses the upper bound itself).
* A vendor ``Retry-After`` hint replaces the computed delay when it is within
  ``max_retry_after``; a longer hint ends the retries at once (waiting that long
  would hold the customer; the fallback chain takes over instead).
* One idempotency key for all attempts: set on the request when missing.
* Never retried once a :class:`~frontdesk.events.TextDelta` or a
  :class:`~frontdesk.events.ToolCallRequested` has been yielded: the customer has
  seen part of the answer (or the caller may be running the tool), so the error
  propagates.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, replace

from frontdesk.errors import ProviderError
from frontdesk.events import ANSWER_EVENTS, ProviderEvent
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.wrapper import ProviderWrapper

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.25
    multiplier: float = 2.0
    max_delay: float = 4.0
    max_retry_after: float = 10.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def backoff_cap(self, failures: int) -> float:
        """Upper bound of the delay after ``failures`` failed attempts (1-based)."""
        return min(self.max_delay, self.base_delay * self.multiplier ** (failures - 1))

    def delay_after(
        self, failures: int, error: ProviderError, uniform: Callable[[float], float]
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up.

        ``uniform(x)`` returns a random number in ``[0, x]``.
        """
        if not error.retryable or failures >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        cap = self.backoff_cap(failures)
        return uniform(cap) if self.jitter else cap


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Reported to ``on_retry`` before each wait (for metrics and logs)."""

    provider: str
    attempt: int
    error: ProviderError
    delay: float
    idempotency_key: str


def _uniform(upper: float) -> float:
    return random.uniform(0.0, upper)


class Retrying(ProviderWrapper):
    """Retries ``inner`` per ``policy`` until the first text delta or tool call."""

    def __init__(
        self,
        inner: ChatProvider,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        uniform: Callable[[float], float] = _uniform,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._uniform = uniform
        self._on_retry = on_retry

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        if request.idempotency_key is None:
            request = replace(request, idempotency_key=uuid.uuid4().hex)
        key = request.idempotency_key or ""
        failures = 0
        while True:
            started = False
            upstream = self._inner.stream(request)
            try:
                async for event in upstream:
                    if not started and isinstance(event, ANSWER_EVENTS):
                        started = True
                    yield event
                return
            except ProviderError as exc:
                if started:
                    raise
                failures += 1
                delay = self.policy.delay_after(failures, exc, self._uniform)
                if delay is None:
                    raise
                if self._on_retry is not None:
                    self._on_retry(RetryEvent(self.name, failures, exc, delay, key))
            finally:
                await upstream.aclose()
            await self._sleep(delay)
