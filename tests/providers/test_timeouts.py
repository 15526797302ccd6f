from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace

import pytest

from frontdesk.domain import ChatMessage
from frontdesk.errors import ProviderTimeout
from frontdesk.events import ProviderEvent, TextDelta
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.providers.timeouts import Timeouts, WithTimeouts

REQUEST = ChatRequest(messages=[ChatMessage("user", "hello")])


async def run(wrapped: WithTimeouts) -> list[ProviderEvent]:
    return [e async for e in wrapped.stream(REQUEST)]


async def read_into(stream: AsyncIterator[ProviderEvent], received: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event.text)


async def test_passes_a_prompt_stream_through() -> None:
    inner = ScriptedProvider.from_texts(["all good here"])
    events = await run(WithTimeouts(inner, Timeouts(first_token=5, idle=5, total=10)))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "all good here"


async def test_first_token_deadline() -> None:
    inner = ScriptedProvider(steps=[Step("late", first_token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.05, idle=5, total=10))
    with pytest.raises(ProviderTimeout, match="first token") as info:
        await run(wrapped)
    assert info.value.retryable
    assert info.value.provider == "scripted"


async def test_idle_gap_deadline_after_text_started() -> None:
    inner = ScriptedProvider(steps=[Step("a b c", token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=5, idle=0.05, total=10))
    received: list[str] = []
    with pytest.raises(ProviderTimeout, match="no new token"):
        await read_into(wrapped.stream(REQUEST), received)
    assert received == ["a "]


async def test_total_deadline_wins_over_a_longer_step() -> None:
    inner = ScriptedProvider(steps=[Step("a b c", first_token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=20, idle=20, total=0.05))
    with pytest.raises(ProviderTimeout, match="complete answer"):
        await run(wrapped)


async def test_timeout_closes_the_inner_stream() -> None:
    closed: list[bool] = []

    class Watching(ScriptedProvider):
        async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
            try:
                async for event in super().stream(request):
                    yield event
            finally:
                closed.append(True)

    inner = Watching(steps=[Step("slow", first_token_delay=30.0)])
    with pytest.raises(ProviderTimeout):
        await run(WithTimeouts(inner, Timeouts(first_token=0.05)))
    assert closed == [True]


def test_rejects_non_positive_timeouts() -> None:
    with pytest.raises(ValueError, match="idle"):
        Timeouts(idle=0)


async def test_a_request_that_is_not_streamed_has_only_the_total_deadline() -> None:
    """Its first token comes with the complete answer: the first-token deadline would cut
    every answer longer than it."""
    whole = replace(REQUEST, streamed=False)
    inner = ScriptedProvider(steps=[Step("late but whole", first_token_delay=0.1)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.02, idle=5, total=10))
    events = [e async for e in wrapped.stream(whole)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "late but whole"
    inner = ScriptedProvider(steps=[Step("too late", first_token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.02, idle=5, total=0.1))
    with pytest.raises(ProviderTimeout, match="complete answer"):
        [e async for e in wrapped.stream(whole)]
