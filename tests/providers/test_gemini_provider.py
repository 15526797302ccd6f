from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import (
    ContentFiltered,
    ContextTooLong,
    ProviderAuthFailed,
    ProviderError,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from frontdesk.events import Finish, ProviderEvent, TextDelta, UsageReport
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.gemini_chat import GeminiChatProvider, gemini_capabilities
from frontdesk.providers.retry import Retrying, RetryPolicy
from frontdesk.providers.turns import OPENING_PLACEHOLDER
from tests.providers.fake_gemini import (
    API_KEY,
    FakeGemini,
    blocked_prompt_frames,
    error_payload,
    error_reply,
    stream_frames,
    stream_reply,
)
from tests.providers.fake_http import Reply, sse_frame
from tests.providers.streams import call, without_report

MODEL = "gemini-2.5-flash"
REQUEST = ChatRequest(
    messages=[
        ChatMessage("system", "You are the support bot."),
        ChatMessage("assistant", "Hi! How can I help?"),
        ChatMessage("user", "My parcel is late."),
        ChatMessage("user", "Order 123."),
    ],
    temperature=0.3,
    max_output_tokens=77,
    stop=["\nUser:"],
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini("Your parcel ships today.") as server:
        yield server


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiChatProvider]:
    chat = GeminiChatProvider(model=MODEL, api_key=API_KEY, base_url=fake.base_url)
    yield chat
    await chat.aclose()


async def run(provider: ChatProvider, request: ChatRequest = REQUEST) -> list[ProviderEvent]:
    return without_report([e async for e in provider.stream(request)])


async def read_into(stream: AsyncIterator[ProviderEvent], received: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event.text)


async def test_request_shape(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    await run(provider)
    sent = fake.requests[-1]
    assert sent.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert sent.query["alt"] == ["sse"]
    body = sent.json()
    assert body["systemInstruction"]["parts"] == [{"text": "You are the support bot."}]
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": OPENING_PLACEHOLDER}]},
        {"role": "model", "parts": [{"text": "Hi! How can I help?"}]},
        {"role": "user", "parts": [{"text": "My parcel is late.\n\nOrder 123."}]},
    ]
    config = body["generationConfig"]
    assert config["maxOutputTokens"] == 77
    assert config["temperature"] == 0.3
    assert config["stopSequences"] == ["\nUser:"]


async def test_rate_limit_with_retry_info_and_header(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    fake.push(error_reply(429, "quota exhausted", retry_delay="7s"))
    with pytest.raises(ProviderRateLimited) as info:
        await run(provider)
    assert info.value.retry_after == 7.0
    assert info.value.retryable
    fake.push(error_reply(429, "quota exhausted", retry_after="3"))
    with pytest.raises(ProviderRateLimited) as again:
        await run(provider)
    assert again.value.retry_after == 3.0


async def test_safety_before_text_is_content_filtered(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    fake.push(stream_reply(stream_frames("", finish_reason="SAFETY")))
    with pytest.raises(ContentFiltered, match="SAFETY"):
        await run(provider)
    fake.push(stream_reply(blocked_prompt_frames()))
    with pytest.raises(ContentFiltered, match="prompt blocked"):
        await run(provider)


async def test_safety_after_text_finishes_as_content_filter(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    fake.push(stream_reply(stream_frames("some text", finish_reason="SAFETY")))
    events = await run(provider)
    assert events[-1] == Finish("content_filter")


async def test_max_tokens_and_cached_usage(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    fake.push(stream_reply(stream_frames("cut short", cached=5, finish_reason="MAX_TOKENS")))
    events = await run(provider)
    assert events[-2:] == [UsageReport(Usage(17, 2, 5)), Finish("length")]


async def test_auth_and_context_errors(fake: FakeGemini) -> None:
    wrong = GeminiChatProvider(model=MODEL, api_key="wrong", base_url=fake.base_url)
    with pytest.raises(ProviderAuthFailed):
        await run(wrong)
    await wrong.aclose()
    right = GeminiChatProvider(model=MODEL, api_key=API_KEY, base_url=fake.base_url)
    fake.push(
        error_reply(
            400,
            "The input token count (2000000) exceeds the maximum number of tokens"
            " allowed (1048576).",
        )
    )
    with pytest.raises(ContextTooLong):
        await run(right)
    await right.aclose()


async def test_a_stream_cut_midway(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    fake.push(stream_reply(stream_frames("one two three four"), cut_after=2))
    received: list[str] = []
    with pytest.raises(ProviderUnavailable):
        await read_into(provider.stream(REQUEST), received)
    assert received == ["one ", "two "]


async def test_a_stream_without_finish_reason(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    fake.push(stream_reply(stream_frames("one two three")[:2]))
    with pytest.raises(ProviderProtocolError, match="finishReason"):
        await run(provider)


async def test_an_error_frame_mid_stream(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    fake.push(stream_reply([*stream_frames("one two")[:1], sse_frame(error_payload(503))]))
    received: list[str] = []
    with pytest.raises(ProviderUnavailable):
        await read_into(provider.stream(REQUEST), received)
    assert received == ["one "]


@pytest.mark.parametrize(
    "reply",
    [
        stream_reply([*stream_frames("a b")[:1], b"data: {not json\n\n"]),
        Reply(headers={"Content-Type": "text/html"}, chunks=[b"<html>maintenance</html>"]),
    ],
    ids=["malformed-chunk", "wrong-content-type"],
)
async def test_unparseable_streams(
    provider: GeminiChatProvider, fake: FakeGemini, reply: Reply
) -> None:
    fake.push(reply)
    with pytest.raises(ProviderProtocolError, match="malformed"):
        await run(provider)


async def test_unreachable_endpoint() -> None:
    chat = GeminiChatProvider(model=MODEL, api_key=API_KEY, base_url="http://127.0.0.1:9")
    with pytest.raises(ProviderUnavailable):
        await run(chat)
    await chat.aclose()


async def test_fallback_from_a_503_primary(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    async with FakeGemini("backup answer") as backup_server:
        backup = GeminiChatProvider(
            model="gemini-2.0-flash",
            api_key=API_KEY,
            base_url=backup_server.base_url,
            name="backup",
        )
        fake.push(error_reply(503), error_reply(503))

        async def no_wait(_: float) -> None:
            return None

        chain = Fallback([Retrying(provider, RetryPolicy(max_attempts=2), sleep=no_wait), backup])
        seen = await call(chain.stream(REQUEST))
        await backup.aclose()
    assert seen.text == "backup answer"
    assert seen.report is not None
    assert [(a.provider, a.outcome, a.status) for a in seen.report.attempts] == [
        ("gemini", "failed", 503),
        ("backup", "served", None),
    ]


async def test_token_estimate_is_reconciled(provider: GeminiChatProvider, fake: FakeGemini) -> None:
    raw = provider.tokens.raw_estimate(REQUEST.messages)
    fake.push(stream_reply(stream_frames("ok", prompt_tokens=raw // 2)))
    await run(provider)
    assert provider.tokens.ratio == pytest.approx((raw // 2) / raw)


def test_capabilities_per_model() -> None:
    assert gemini_capabilities("gemini-1.5-pro-002").context_length == 2_097_152
    assert gemini_capabilities("models/gemini-2.5-flash").vision
    assert gemini_capabilities("gemma-3-27b-it").vision is False
    endpoint = EndpointConfig(
        name="g", dialect="gemini", model=MODEL, base_url="http://127.0.0.1:9"
    )
    configured = GeminiChatProvider.from_endpoint(endpoint, api_key=API_KEY)
    assert (configured.name, configured.capabilities.context_length) == ("g", 1_048_576)


async def test_error_mapping_is_a_provider_error(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    fake.push(error_reply(404, "model not found"))
    with pytest.raises(ProviderError) as info:
        await run(provider)
    assert info.value.retryable is False


PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
    "HwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


async def test_a_customer_image_is_sent_as_inline_data(
    provider: GeminiChatProvider, fake: FakeGemini
) -> None:
    request = ChatRequest(
        messages=[ChatMessage("user", "What does this error mean?", images=(PIXEL,))],
        max_output_tokens=50,
    )
    await run(provider, request)
    (content,) = fake.requests[-1].json()["contents"]
    image, text = content["parts"]
    # the official SDK's own wire form (the API reads both spellings of the field names)
    assert image == {"inlineData": {"mime_type": "image/png", "data": PIXEL.split(",", 1)[1]}}
    assert text == {"text": "What does this error mean?"}
