from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import (
    ContentFiltered,
    ContextTooLong,
    ProviderAuthFailed,
    ProviderOverloaded,
    ProviderProtocolError,
    ProviderUnavailable,
)
from frontdesk.events import Finish, ProviderEvent, TextDelta, UsageReport
from frontdesk.providers.anthropic_chat import AnthropicChatProvider, anthropic_capabilities
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.retry import Retrying
from frontdesk.providers.turns import OPENING_PLACEHOLDER
from tests.providers.fake_anthropic import (
    API_KEY,
    FakeAnthropic,
    error_reply,
    stream_frames,
    stream_reply,
)
from tests.providers.fake_http import Reply
from tests.providers.streams import without_report

MODEL = "claude-haiku-4-5"
REQUEST = ChatRequest(
    messages=[
        ChatMessage("system", "You are the support bot."),
        ChatMessage("system", "Cite sources."),
        ChatMessage("assistant", "Hi! How can I help?"),
        ChatMessage("user", "My parcel is late."),
        ChatMessage("user", "Order 123."),
    ],
    max_output_tokens=99,
    stop=["\nUser:", "  "],
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic("Your parcel ships today.") as server:
        yield server


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicChatProvider]:
    chat = AnthropicChatProvider(model=MODEL, api_key=API_KEY, base_url=fake.base_url)
    yield chat
    await chat.aclose()


async def run(provider: ChatProvider, request: ChatRequest = REQUEST) -> list[ProviderEvent]:
    return without_report([e async for e in provider.stream(request)])


async def read_into(stream: AsyncIterator[ProviderEvent], received: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event.text)


async def test_request_shape(provider: AnthropicChatProvider, fake: FakeAnthropic) -> None:
    await run(provider)
    body = fake.requests[-1].json()
    assert body["system"] == "You are the support bot.\n\nCite sources."
    assert body["messages"] == [
        {"role": "user", "content": OPENING_PLACEHOLDER},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "My parcel is late.\n\nOrder 123."},
    ]
    assert body["max_tokens"] == 99
    assert body["stop_sequences"] == ["\nUser:"]  # whitespace-only stops are refused by the API
    assert body["stream"] is True
    assert body["model"] == MODEL
    assert fake.requests[-1].headers["x-stainless-retry-count"] == "0"


async def test_529_is_overloaded(provider: AnthropicChatProvider, fake: FakeAnthropic) -> None:
    status = 529  # 5xx and 429 in general: tests/contracts/provider_contract.py
    fake.push(error_reply(status))
    with pytest.raises(ProviderOverloaded) as info:
        await run(provider)
    assert type(info.value) is ProviderOverloaded
    assert info.value.status == status
    assert info.value.retryable


async def test_an_overloaded_error_event_mid_stream(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    fake.push(stream_reply(stream_frames("partial answer", error_type="overloaded_error")))
    received: list[str] = []
    with pytest.raises(ProviderOverloaded) as info:
        await read_into(provider.stream(REQUEST), received)
    assert received == ["partial ", "answer"]
    assert info.value.status == 529


async def test_bad_request_auth_and_context(fake: FakeAnthropic) -> None:
    wrong = AnthropicChatProvider(model=MODEL, api_key="wrong", base_url=fake.base_url)
    with pytest.raises(ProviderAuthFailed):
        await run(wrong)
    await wrong.aclose()
    right = AnthropicChatProvider(model=MODEL, api_key=API_KEY, base_url=fake.base_url)
    fake.push(error_reply(400, "prompt is too long: 210000 tokens > 200000 maximum"))
    with pytest.raises(ContextTooLong):
        await run(right)
    await right.aclose()


async def test_a_stream_cut_midway(provider: AnthropicChatProvider, fake: FakeAnthropic) -> None:
    fake.push(stream_reply(stream_frames("one two three four"), cut_after=5))
    received: list[str] = []
    with pytest.raises(ProviderUnavailable, match="stream broke"):
        await read_into(provider.stream(REQUEST), received)
    assert received == ["one ", "two "]


async def test_a_stream_that_ends_without_message_stop(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    fake.push(stream_reply(stream_frames("one two")[:-1]))
    with pytest.raises(ProviderProtocolError, match="message_stop"):
        await run(provider)


async def test_a_malformed_chunk(provider: AnthropicChatProvider, fake: FakeAnthropic) -> None:
    frames = stream_frames("a b")
    frames.insert(3, b"event: content_block_delta\ndata: {not json\n\n")
    fake.push(stream_reply(frames))
    with pytest.raises(ProviderProtocolError, match="malformed"):
        await run(provider)


async def test_wrong_content_type(provider: AnthropicChatProvider, fake: FakeAnthropic) -> None:
    fake.push(Reply(headers={"Content-Type": "text/html"}, chunks=[b"<html>maintenance</html>"]))
    with pytest.raises(ProviderProtocolError, match="text/html"):
        await run(provider)


async def test_unreachable_endpoint() -> None:
    chat = AnthropicChatProvider(model=MODEL, api_key=API_KEY, base_url="http://127.0.0.1:9")
    with pytest.raises(ProviderUnavailable):
        await run(chat)
    await chat.aclose()


async def test_cache_usage_max_tokens_and_refusal(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    fake.push(stream_reply(stream_frames("cut short", cache_read=10, stop_reason="max_tokens")))
    events = await run(provider)
    assert events[-2:] == [UsageReport(Usage(31, 2, 10)), Finish("length")]
    fake.push(stream_reply(stream_frames("", stop_reason="refusal")))
    with pytest.raises(ContentFiltered):
        await run(provider)


async def test_token_estimate_is_reconciled_with_reported_usage(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    raw = provider.tokens.raw_estimate(REQUEST.messages)
    fake.push(stream_reply(stream_frames("ok", input_tokens=raw * 2)))
    await run(provider)
    assert provider.tokens.ratio == pytest.approx(2.0)
    assert provider.tokens.count_messages(REQUEST.messages) == raw * 2
    assert provider.tokens.exact is False


async def test_retrying_recovers_from_a_503(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    fake.push(error_reply(503))

    async def no_wait(_: float) -> None:
        return None

    events = await run(Retrying(provider, sleep=no_wait))
    assert any(isinstance(e, TextDelta) for e in events)
    assert len(fake.requests) == 2


def test_capabilities_per_model() -> None:
    assert anthropic_capabilities("claude-opus-4-7").vision
    assert anthropic_capabilities("claude-3-5-haiku-20241022").vision is False
    assert anthropic_capabilities("claude-unknown").context_length == 200_000
    chat = AnthropicChatProvider(model=MODEL, api_key=API_KEY, context_length=50_000)
    assert chat.capabilities.context_length == 50_000
    endpoint = EndpointConfig(name="claude", dialect="anthropic", model=MODEL, context_length=9000)
    configured = AnthropicChatProvider.from_endpoint(endpoint, api_key=API_KEY)
    assert (configured.name, configured.model) == ("claude", MODEL)
    assert configured.capabilities.context_length == 9000


PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
    "HwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


async def test_a_customer_image_is_sent_as_an_image_block(
    provider: AnthropicChatProvider, fake: FakeAnthropic
) -> None:
    request = ChatRequest(
        messages=[ChatMessage("user", "What does this error mean?", images=(PIXEL,))],
        max_output_tokens=50,
    )
    await run(provider, request)
    (message,) = fake.requests[-1].json()["messages"]
    image, text = message["content"]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL.split(",", 1)[1]},
    }
    assert text == {"type": "text", "text": "What does this error mean?"}
