from __future__ import annotations

import pytest

from frontdesk.admission.buckets import MemoryBuckets
from frontdesk.domain import ChatMessage
from frontdesk.errors import AllProvidersFailed, ProviderRateLimited, ProviderUnavailable
from frontdesk.events import TextDelta
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.breaker import BreakerBoard, BreakerState, CircuitBreaker
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.limits import ProviderLimits
from frontdesk.providers.resilience import Resilience, harden
from frontdesk.providers.retry import RetryEvent, RetryPolicy
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.providers.streams import call

REQUEST = ChatRequest(messages=[ChatMessage("user", "hi")])


async def test_a_down_primary_fails_over_then_is_skipped_by_its_breaker() -> None:
    board = BreakerBoard(lambda name: CircuitBreaker(name, failure_threshold=3, cooldown=60))
    down = ScriptedProvider(
        steps=[Step(fail_before=ProviderUnavailable("503", provider="a", status=503))],
        provider_name="a",
    )
    backup = ScriptedProvider.from_texts(["from b"], provider_name="b")
    retries: list[RetryEvent] = []
    config = Resilience(policy=RetryPolicy(base_delay=0.001, max_delay=0.001))
    chain = Fallback(
        [
            harden(down, breaker=board.get("a"), config=config, on_retry=retries.append),
            harden(backup, breaker=board.get("b"), config=config),
        ]
    )
    first = chain.stream(REQUEST)
    assert "".join([e.text async for e in first if isinstance(e, TextDelta)]) == "from b"
    assert len(down.requests) == 3  # three attempts, then the breaker opened
    assert len({r.idempotency_key for r in down.requests}) == 1
    assert [r.attempt for r in retries] == [1, 2]
    second = await call(chain.stream(REQUEST))
    assert second.text == "from b"
    assert len(down.requests) == 3  # not called again
    assert second.outcomes == [("a", "skipped", "circuit_open"), ("b", "served", None)]
    states = {s.name: s.state for s in board.snapshot()}
    assert states == {"a": BreakerState.OPEN, "b": BreakerState.CLOSED}


async def test_limits_are_applied_when_configured() -> None:
    inner = ScriptedProvider.from_texts(["ok"])
    breaker = CircuitBreaker("x", failure_threshold=1)
    config = Resilience(limits=ProviderLimits(rpm=1), policy=RetryPolicy(max_attempts=1))
    hardened: ChatProvider = harden(inner, breaker=breaker, buckets=MemoryBuckets(), config=config)
    assert [e async for e in hardened.stream(REQUEST)]
    with pytest.raises(AllProvidersFailed) as info:
        [e async for e in Fallback([hardened]).stream(REQUEST)]
    assert [type(e) for e in info.value.attempts] == [ProviderRateLimited]
    assert len(inner.requests) == 1
    assert breaker.snapshot().state is BreakerState.CLOSED  # our own limit is not an outage
