from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from typing import Any

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


async def test_one_timer_for_a_whole_stream() -> None:
    """A deadline per read, without scheduling a timer per event (each ``call_at`` is a heap
    push and a cancelled handle; a stream has one per upstream chunk)."""
    loop = asyncio.get_running_loop()
    scheduled: list[float] = []
    original = loop.call_at

    def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        scheduled.append(when)
        return original(when, callback, *args, **kwargs)

    inner = ScriptedProvider.from_texts([" ".join(["word"] * 50)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=5, idle=5, total=10))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "call_at", counting)
        events = await run(wrapped)
    assert sum(isinstance(e, TextDelta) for e in events) == 50
    assert len(scheduled) == 1


async def test_the_time_the_caller_holds_an_event_is_not_counted() -> None:
    """The deadlines time the vendor: a caller that sleeps between reads longer than the
    idle gap is neither timed out nor cancelled in its own sleep."""
    inner = ScriptedProvider.from_texts(["a b c"])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.05, idle=0.05, total=10))
    received: list[str] = []
    async for event in wrapped.stream(REQUEST):
        if isinstance(event, TextDelta):
            received.append(event.text)
        await asyncio.sleep(0.12)
    assert "".join(received) == "a b c"


async def test_a_later_deadline_waits_for_its_own_time() -> None:
    """The idle gap is longer than the first-token deadline: a read after the first token
    is cut at its own deadline, not at the first token's."""
    inner = ScriptedProvider(steps=[Step("a b", token_delay=0.1)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.05, idle=0.4, total=10))
    events = await run(wrapped)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "a b"
    inner = ScriptedProvider(steps=[Step("a b", token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=0.05, idle=0.2, total=10))
    received: list[str] = []
    started = asyncio.get_running_loop().time()
    with pytest.raises(ProviderTimeout, match="no new token"):
        await read_into(wrapped.stream(REQUEST), received)
    assert received == ["a "]
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    inner = ScriptedProvider(steps=[Step("slow", first_token_delay=30.0)])
    wrapped = WithTimeouts(inner, Timeouts(first_token=5, idle=5, total=10))
    task = asyncio.ensure_future(run(wrapped))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
