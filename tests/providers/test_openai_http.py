"""The thin OpenAI wire client reads what the official ``openai`` SDK reads, from the
same loopback server (the SDK is the peer that defines "correct")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import openai
import pytest

from frontdesk.errors import ProviderRateLimited, ProviderUnavailable
from frontdesk.providers.openai_http import OpenAIHTTP
from tests.providers.fake_http import Reply, sse_frame
from tests.providers.fake_openai import (
    API_KEY,
    FakeOpenAI,
    rate_limited,
    stream_frames,
    stream_reply,
)

PAYLOAD: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
TRICKY = 'Grüße — 東京 🙂 "q" \\ \n new line'


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def thin_chunks(fake: FakeOpenAI) -> list[dict[str, Any]]:
    client = OpenAIHTTP(provider="p", api_key=API_KEY, base_url=fake.base_url, timeout=10)
    try:
        async with aclosing(client.stream_chat(PAYLOAD)) as chunks:
            return [c async for c in chunks]
    finally:
        await client.aclose()


async def sdk_chunks(fake: FakeOpenAI) -> list[dict[str, Any]]:
    sdk = openai.AsyncOpenAI(api_key=API_KEY, base_url=fake.base_url, max_retries=0)
    try:
        stream = await sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        return [c.model_dump(exclude_unset=True) async for c in stream]
    finally:
        await sdk.close()


def _frames_with_comments_and_events() -> Reply:
    frames = stream_frames(TRICKY)
    frames.insert(0, b": keep-alive comment\n\n")
    frames.insert(2, b"event: message\nid: 7\n" + frames.pop(2))
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames)


@pytest.mark.parametrize(
    "reply",
    [
        lambda: stream_reply("Hello there, how can I help?"),
        lambda: stream_reply(TRICKY),
        _frames_with_comments_and_events,
    ],
    ids=["plain", "utf8", "comments-and-event-fields"],
)
async def test_reads_the_same_chunks_as_the_sdk(fake: FakeOpenAI, reply: Any) -> None:
    fake.push(reply())
    ours = await thin_chunks(fake)
    fake.push(reply())
    theirs = await sdk_chunks(fake)
    assert ours == theirs
    assert ours[-1]["usage"]["prompt_tokens"] > 0


async def test_errors_are_ours(fake: FakeOpenAI) -> None:
    fake.push(rate_limited(retry_after="3"))
    with pytest.raises(ProviderRateLimited) as info:
        await thin_chunks(fake)
    assert info.value.retry_after == 3.0
    assert info.value.status == 429 and "Rate limit reached" in str(info.value)
    error = {"error": {"message": "overloaded upstream", "type": "server_error"}}
    frames = [*stream_frames("partial")[:2], sse_frame(error)]
    fake.push(Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames))
    with pytest.raises(ProviderUnavailable, match="overloaded upstream"):
        await thin_chunks(fake)
