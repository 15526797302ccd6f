from __future__ import annotations

import pytest

from frontdesk.domain import ChatMessage
from frontdesk.errors import ProviderBadRequest, ProviderRateLimited, ProviderUnavailable
from frontdesk.events import ProviderEvent, TextDelta
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.breaker import (
    BreakerBoard,
    Breakered,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
)
from frontdesk.providers.retry import Retrying
from frontdesk.providers.scripted import ScriptedProvider, Step

REQUEST = ChatRequest(messages=[ChatMessage("user", "hello")])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing() -> Step:
    return Step(fail_before=ProviderUnavailable("503", provider="p", status=503))


async def run(provider: Breakered) -> list[ProviderEvent]:
    return [e async for e in provider.stream(REQUEST)]


def setup(steps: list[Step], threshold: int = 3) -> tuple[ScriptedProvider, Breakered, Clock]:
    clock = Clock()
    inner = ScriptedProvider(steps=steps, provider_name="p")
    breaker = CircuitBreaker("p", failure_threshold=threshold, cooldown=10.0, clock=clock)
    return inner, Breakered(inner, breaker), clock


async def test_opens_after_consecutive_failures_and_fails_fast() -> None:
    inner, wrapped, _ = setup([failing()])
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await run(wrapped)
    assert wrapped.breaker.snapshot().state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as info:
        await run(wrapped)
    assert len(inner.requests) == 3  # the open circuit did not call upstream
    assert info.value.retryable is False
    assert info.value.retry_after == pytest.approx(10.0)
    snap = wrapped.breaker.snapshot()
    assert (snap.state, snap.consecutive_failures, snap.times_opened) == (BreakerState.OPEN, 3, 1)


async def test_a_success_resets_the_consecutive_count() -> None:
    _, wrapped, _ = setup([failing(), failing(), Step("fine"), failing(), failing()])
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await run(wrapped)
    await run(wrapped)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await run(wrapped)
    assert wrapped.breaker.snapshot().state is BreakerState.CLOSED


async def test_half_open_probe_success_closes() -> None:
    _, wrapped, clock = setup([failing(), Step("back again")], threshold=1)
    with pytest.raises(ProviderUnavailable):
        await run(wrapped)
    assert wrapped.breaker.snapshot().state is BreakerState.OPEN
    clock.now += 10.0
    assert wrapped.breaker.snapshot().state is BreakerState.HALF_OPEN
    events = await run(wrapped)
    assert any(isinstance(e, TextDelta) for e in events)
    assert wrapped.breaker.snapshot().state is BreakerState.CLOSED


async def test_half_open_allows_a_single_probe_and_a_failed_probe_reopens() -> None:
    _, wrapped, clock = setup([failing(), Step("slow answer", token_delay=0.0), failing()], 1)
    with pytest.raises(ProviderUnavailable):
        await run(wrapped)
    clock.now += 10.0
    probe = wrapped.stream(REQUEST)
    first = await anext(probe)  # the probe is in flight
    assert isinstance(first, TextDelta)
    with pytest.raises(CircuitOpen):
        await run(wrapped)  # a second caller is refused while the probe runs
    await probe.aclose()  # text was produced: counts as success
    assert wrapped.breaker.snapshot().state is BreakerState.CLOSED
    with pytest.raises(ProviderUnavailable):
        await run(wrapped)
    assert wrapped.breaker.snapshot().state is BreakerState.OPEN
    clock.now += 10.0
    assert wrapped.breaker.snapshot().state is BreakerState.HALF_OPEN


async def test_failed_probe_reopens_for_another_cooldown() -> None:
    _, wrapped, clock = setup([failing()], threshold=2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await run(wrapped)
    clock.now += 10.0
    with pytest.raises(ProviderUnavailable):
        await run(wrapped)  # the probe itself fails
    snap = wrapped.breaker.snapshot()
    assert snap.state is BreakerState.OPEN
    assert snap.times_opened == 2
    assert snap.opened_for == pytest.approx(10.0)


async def test_client_side_errors_do_not_count() -> None:
    steps = [
        Step(fail_before=ProviderRateLimited("429", provider="p", status=429)),
        Step(fail_before=ProviderBadRequest("400", provider="p", status=400)),
    ]
    _, wrapped, _ = setup(steps, threshold=1)
    for _ in range(4):
        with pytest.raises((ProviderRateLimited, ProviderBadRequest)):
            await run(wrapped)
    assert wrapped.breaker.snapshot().state is BreakerState.CLOSED


async def test_retrying_stops_at_an_open_circuit() -> None:
    inner, wrapped, _ = setup([failing()], threshold=2)

    async def no_sleep(_: float) -> None:
        return None

    with pytest.raises(CircuitOpen):
        await anext(Retrying(wrapped, sleep=no_sleep).stream(REQUEST))
    assert len(inner.requests) == 2


def test_board_keeps_one_breaker_per_endpoint() -> None:
    board = BreakerBoard(lambda name: CircuitBreaker(name, failure_threshold=2))
    assert board.get("openai") is board.get("openai")
    board.get("anthropic")
    assert [s.name for s in board.snapshot()] == ["openai", "anthropic"]
    assert all(s.state is BreakerState.CLOSED for s in board.snapshot())
