"""A circuit breaker per endpoint.

States: ``closed`` (calls flow) → ``open`` after ``failure_threshold`` consecutive
failures (calls fail fast with :class:`CircuitOpen`) → ``half_open`` once
``cooldown`` seconds have passed: exactly one probe call is let through; its
success closes the circuit, its failure opens it again for another cooldown.

Only endpoint-health failures count (unavailable, overloaded, timeout, malformed
stream, HTTP 5xx). A vendor 429, a bad request or content filtering shows the
endpoint is up: they neither count nor reset the count. A completed stream, or
one that produced text before the caller stopped reading, is a success.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from enum import StrEnum

from frontdesk.errors import (
    ProviderError,
    ProviderOverloaded,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.events import ANSWER_EVENTS, ProviderEvent
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.wrapper import ProviderWrapper


class CircuitOpen(ProviderUnavailable):
    """The endpoint's breaker is open: not called at all. Never retried."""

    code = "circuit_open"
    default_retryable = False


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """What ``/readyz`` and metrics show for one endpoint."""

    name: str
    state: BreakerState
    consecutive_failures: int
    opened_for: float | None
    """Seconds until a probe is allowed, when open."""
    times_opened: int


def is_endpoint_failure(error: ProviderError) -> bool:
    if isinstance(error, CircuitOpen):
        return False
    if isinstance(
        error, ProviderUnavailable | ProviderOverloaded | ProviderTimeout | ProviderProtocolError
    ):
        return True
    return error.status is not None and error.status >= 500


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        counts_as_failure: Callable[[ProviderError], bool] = is_endpoint_failure,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.counts_as_failure = counts_as_failure
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self._times_opened = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        state = self.state
        remaining = None
        if state is BreakerState.OPEN:
            remaining = max(0.0, self._opened_at + self.cooldown - self._clock())
        return BreakerSnapshot(self.name, state, self._failures, remaining, self._times_opened)

    def acquire(self) -> bool:
        """Permission for one call. ``True`` means this call is the half-open probe."""
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            self._state = BreakerState.HALF_OPEN
            self._probe_out = True
            return True
        retry_after = None
        if state is BreakerState.OPEN:
            retry_after = max(0.0, self._opened_at + self.cooldown - self._clock())
        raise CircuitOpen(
            "circuit open after repeated failures", provider=self.name, retry_after=retry_after
        )

    def record_success(self, probe: bool) -> None:
        if probe or self._state is BreakerState.CLOSED:
            self._state = BreakerState.CLOSED
            self._failures = 0
        if probe:
            self._probe_out = False

    def record_failure(self, error: ProviderError, probe: bool) -> None:
        if not self.counts_as_failure(error):
            self.release(probe)
            return
        self._failures += 1
        if probe or self._failures >= self.failure_threshold:
            self._open()
        if probe:
            self._probe_out = False

    def release(self, probe: bool) -> None:
        """The call ended without telling anything about health."""
        if probe:
            self._probe_out = False

    def _open(self) -> None:
        if self._state is not BreakerState.OPEN:
            self._times_opened += 1
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()


class BreakerBoard:
    """One breaker per endpoint name, created on first use; read by /readyz."""

    def __init__(self, factory: Callable[[str], CircuitBreaker] = CircuitBreaker) -> None:
        self._factory = factory
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = self._factory(name)
        return breaker

    def snapshot(self) -> list[BreakerSnapshot]:
        return [b.snapshot() for b in self._breakers.values()]


class Breakered(ProviderWrapper):
    """Fails fast with :class:`CircuitOpen` while the endpoint's breaker is open."""

    def __init__(self, inner: ChatProvider, breaker: CircuitBreaker) -> None:
        super().__init__(inner)
        self.breaker = breaker

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        probe = self.breaker.acquire()
        upstream = self._inner.stream(request)
        seen_text = False
        settled = False
        try:
            async for event in upstream:
                if not seen_text and isinstance(event, ANSWER_EVENTS):
                    seen_text = True
                yield event
            settled = True
            self.breaker.record_success(probe)
        except ProviderError as exc:
            settled = True
            self.breaker.record_failure(exc, probe)
            raise
        finally:
            if not settled:
                if seen_text:
                    self.breaker.record_success(probe)
                else:
                    self.breaker.release(probe)
            await upstream.aclose()
