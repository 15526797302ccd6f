from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.domain import ChatMessage
from frontdesk.errors import (
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from frontdesk.events import ProviderEvent, TextDelta
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.retry import RetryEvent, Retrying, RetryPolicy
from frontdesk.providers.scripted import ScriptedProvider, Step

REQUEST = ChatRequest(messages=[ChatMessage("user", "hello")])


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def collect(provider: ChatProvider, request: ChatRequest = REQUEST) -> list[ProviderEvent]:
    return [event async for event in provider.stream(request)]


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def read_into(stream: AsyncIterator[ProviderEvent], received: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event.text)


def unavailable() -> ProviderError:
    return ProviderUnavailable("down", provider="scripted", status=503)


async def test_retries_retryable_errors_with_one_idempotency_key() -> None:
    inner = ScriptedProvider(
        steps=[Step(fail_before=unavailable()), Step(fail_before=unavailable()), Step("ok now")]
    )
    sleeps = Sleeps()
    seen: list[RetryEvent] = []
    wrapped = Retrying(inner, RetryPolicy(jitter=False), sleep=sleeps, on_retry=seen.append)
    events = await collect(wrapped)
    assert text_of(events) == "ok now"
    assert len(inner.requests) == 3
    keys = {r.idempotency_key for r in inner.requests}
    assert len(keys) == 1
    assert None not in keys
    assert sleeps.delays == [0.25, 0.5]
    assert [e.attempt for e in seen] == [1, 2]


async def test_keeps_a_caller_supplied_idempotency_key() -> None:
    inner = ScriptedProvider(steps=[Step(fail_before=unavailable()), Step("fine")])
    request = ChatRequest(messages=REQUEST.messages, idempotency_key="turn-42")
    await collect(Retrying(inner, sleep=Sleeps()), request)
    assert [r.idempotency_key for r in inner.requests] == ["turn-42", "turn-42"]


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    inner = ScriptedProvider(steps=[Step(fail_before=unavailable())])
    sleeps = Sleeps()
    wrapped = Retrying(
        inner, RetryPolicy(max_attempts=4, jitter=False, max_delay=0.6), sleep=sleeps
    )
    with pytest.raises(ProviderUnavailable):
        await collect(wrapped)
    assert len(inner.requests) == 4
    assert sleeps.delays == [0.25, 0.5, 0.6]  # capped at max_delay


async def test_does_not_retry_non_retryable_errors() -> None:
    inner = ScriptedProvider(steps=[Step(fail_before=ProviderBadRequest("no", provider="x"))])
    sleeps = Sleeps()
    with pytest.raises(ProviderBadRequest):
        await collect(Retrying(inner, sleep=sleeps))
    assert len(inner.requests) == 1
    assert sleeps.delays == []


async def test_never_retries_after_the_first_text_delta() -> None:
    inner = ScriptedProvider(
        steps=[Step("one two three", fail_after_tokens=1, fail_with=unavailable()), Step("x")]
    )
    sleeps = Sleeps()
    received: list[str] = []
    with pytest.raises(ProviderUnavailable):
        await read_into(Retrying(inner, sleep=sleeps).stream(REQUEST), received)
    assert received == ["one "]
    assert len(inner.requests) == 1
    assert sleeps.delays == []


async def test_honours_retry_after_within_the_bound() -> None:
    limited = ProviderRateLimited("slow down", provider="x", status=429, retry_after=3.0)
    inner = ScriptedProvider(steps=[Step(fail_before=limited), Step("done")])
    sleeps = Sleeps()
    await collect(Retrying(inner, RetryPolicy(max_retry_after=5.0), sleep=sleeps))
    assert sleeps.delays == [3.0]


async def test_a_retry_after_beyond_the_bound_ends_retries() -> None:
    limited = ProviderRateLimited("slow down", provider="x", status=429, retry_after=30.0)
    inner = ScriptedProvider(steps=[Step(fail_before=limited), Step("done")])
    sleeps = Sleeps()
    with pytest.raises(ProviderRateLimited):
        await collect(Retrying(inner, RetryPolicy(max_retry_after=5.0), sleep=sleeps))
    assert len(inner.requests) == 1
    assert sleeps.delays == []


async def test_full_jitter_draws_between_zero_and_the_cap() -> None:
    inner = ScriptedProvider(
        steps=[Step(fail_before=unavailable()), Step(fail_before=unavailable()), Step("ok")]
    )
    bounds: list[float] = []

    def uniform(upper: float) -> float:
        bounds.append(upper)
        return upper / 2

    sleeps = Sleeps()
    await collect(Retrying(inner, RetryPolicy(base_delay=1.0), sleep=sleeps, uniform=uniform))
    assert bounds == [1.0, 2.0]
    assert sleeps.delays == [0.5, 1.0]


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="multiplier"):
        RetryPolicy(multiplier=0.5)


async def test_wrapper_keeps_the_inner_identity() -> None:
    inner = ScriptedProvider(provider_name="primary", model_name="m-1")
    wrapped = Retrying(inner)
    assert (wrapped.name, wrapped.model) == ("primary", "m-1")
    assert wrapped.capabilities == inner.capabilities
    assert isinstance(wrapped, ChatProvider)
