"""OpenAIChatProvider against a loopback server speaking OpenAI's wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, ToolCall, Usage
from frontdesk.errors import (
    ContentFiltered,
    ContextTooLong,
    ProviderAuthFailed,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.events import Finish, ProviderEvent, TextDelta, ToolCallRequested, UsageReport
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.openai_chat import (
    DEFAULT_CONTEXT_LENGTH,
    OpenAIChatProvider,
    is_reasoning_model,
)
from frontdesk.providers.tokens import OpenAITokenCounter
from tests.providers.fake_http import Reply, json_reply
from tests.providers.fake_openai import (
    API_KEY,
    FakeOpenAI,
    context_too_long,
    error_reply,
    malformed_stream,
    request_body,
    stream_frames,
    stream_reply,
    wrong_content_type,
    wrong_shape_stream,
)
from tests.providers.streams import without_report

REQUEST = ChatRequest(
    messages=[
        ChatMessage("system", "You are a support bot."),
        ChatMessage("user", "How do I reset my password?"),
    ],
    temperature=0.3,
    max_output_tokens=50,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def make_provider(
    fake: FakeOpenAI, *, model: str = "gpt-4o-mini", timeout: float = 10.0, key: str = API_KEY
) -> OpenAIChatProvider:
    endpoint = EndpointConfig(
        name="openai-test",
        dialect="openai",
        model=model,
        base_url=fake.base_url,
        timeout_seconds=timeout,
    )
    return OpenAIChatProvider(endpoint, api_key=key)


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIChatProvider]:
    p = make_provider(fake)
    yield p
    await p.aclose()


async def collect(provider: ChatProvider, request: ChatRequest = REQUEST) -> list[ProviderEvent]:
    return without_report([event async for event in provider.stream(request)])


async def collect_into(provider: ChatProvider, seen: list[str]) -> None:
    async for event in provider.stream(REQUEST):
        if isinstance(event, TextDelta):
            seen.append(event.text)


async def test_sends_the_openai_request_shape(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    await collect(provider, ChatRequest(REQUEST.messages, stop=["\n\n"], idempotency_key="k-1"))
    request = fake.requests[-1]
    body = request_body(request)
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == "k-1"
    assert body["model"] == "gpt-4o-mini"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "You are a support bot."},
        {"role": "user", "content": "How do I reset my password?"},
    ]
    assert body["max_tokens"] == 400
    assert body["temperature"] == 0.2
    assert body["stop"] == ["\n\n"]


async def test_reasoning_models_get_max_completion_tokens(fake: FakeOpenAI) -> None:
    provider = make_provider(fake, model="o3-mini")
    try:
        await collect(provider)
    finally:
        await provider.aclose()
    body = request_body(fake.requests[-1])
    assert body["max_completion_tokens"] == 50
    assert "max_tokens" not in body
    assert "temperature" not in body
    assert is_reasoning_model("gpt-5-mini")
    assert not is_reasoning_model("gpt-4o")


async def test_bad_key_is_auth_failure(fake: FakeOpenAI) -> None:
    provider = make_provider(fake, key="sk-wrong")
    try:
        with pytest.raises(ProviderAuthFailed) as info:
            await collect(provider)
    finally:
        await provider.aclose()
    assert info.value.status == 401
    assert not info.value.retryable


async def test_context_length_exceeded(fake: FakeOpenAI, provider: OpenAIChatProvider) -> None:
    fake.push(context_too_long())
    with pytest.raises(ContextTooLong) as info:
        await collect(provider)
    assert "context_length_exceeded" in info.value.message
    assert not info.value.retryable


async def test_prompt_content_filter_error(fake: FakeOpenAI, provider: OpenAIChatProvider) -> None:
    fake.push(error_reply(400, "The response was filtered", code="content_filter"))
    with pytest.raises(ContentFiltered):
        await collect(provider)


async def test_content_filter_finish_reason(fake: FakeOpenAI, provider: OpenAIChatProvider) -> None:
    fake.push(stream_reply("I cannot", finish_reason="content_filter"))
    events = await collect(provider)
    assert events[-1] == Finish("content_filter")
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("I "), TextDelta("cannot")]


async def test_slow_first_byte_times_out(fake: FakeOpenAI) -> None:
    fake.push(stream_reply("late", first_delay=5.0))
    provider = make_provider(fake, timeout=0.3)
    try:
        with pytest.raises(ProviderTimeout) as info:
            await collect(provider)
    finally:
        await provider.aclose()
    assert info.value.retryable


async def test_stalled_stream_times_out_after_first_tokens(fake: FakeOpenAI) -> None:
    fake.push(stream_reply("one two three", chunk_delay=5.0))
    provider = make_provider(fake, timeout=0.3)
    try:
        with pytest.raises(ProviderTimeout):
            await collect(provider)
    finally:
        await provider.aclose()


async def test_stream_cut_midway_is_unavailable_after_partial_text(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    fake.push(stream_reply("one two three four five", cut_after=3))
    seen: list[str] = []
    with pytest.raises(ProviderUnavailable) as info:
        await collect_into(provider, seen)
    assert seen == ["one ", "two "]
    assert info.value.retryable


async def test_stream_ending_without_finish_is_protocol_error(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    fake.push(
        Reply(
            headers={"Content-Type": "text/event-stream"},
            chunks=stream_frames("half an answer", finish_reason=None, include_usage=False),
        )
    )
    with pytest.raises(ProviderProtocolError, match="without a finish reason"):
        await collect(provider)


@pytest.mark.parametrize("reply", [malformed_stream(), wrong_shape_stream()])
async def test_malformed_chunk_is_protocol_error(
    fake: FakeOpenAI, provider: OpenAIChatProvider, reply: Reply
) -> None:
    fake.push(reply)
    with pytest.raises(ProviderProtocolError, match="malformed"):
        await collect(provider)


async def test_wrong_content_type_is_protocol_error(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    fake.push(wrong_content_type())
    with pytest.raises(ProviderProtocolError, match="text/html"):
        await collect(provider)


async def test_connection_refused_is_unavailable() -> None:
    async with FakeOpenAI() as gone:
        base_url = gone.base_url
    endpoint = EndpointConfig(name="gone", dialect="openai", model="gpt-4o", base_url=base_url)
    provider = OpenAIChatProvider(endpoint, api_key=API_KEY)
    try:
        with pytest.raises(ProviderUnavailable):
            await collect(provider)
        with pytest.raises(ProviderUnavailable):
            await provider.check()
    finally:
        await provider.aclose()


async def test_check_lists_models(fake: FakeOpenAI, provider: OpenAIChatProvider) -> None:
    await provider.check()
    assert fake.requests[-1].path == "/v1/models"
    fake.push(error_reply(503, "down"))
    with pytest.raises(ProviderError) as info:
        await provider.check()
    assert info.value.status == 503


def test_capabilities_and_tokens_follow_the_model() -> None:
    def provider_for(model: str, context: int | None = None) -> OpenAIChatProvider:
        endpoint = EndpointConfig(
            name="x",
            dialect="openai",
            model=model,
            base_url="http://127.0.0.1:9/v1",
            context_length=context,
        )
        return OpenAIChatProvider(endpoint, api_key="k")

    assert provider_for("gpt-4o-mini").capabilities.context_length == 128_000
    assert provider_for("gpt-4.1").capabilities.context_length == 1_047_576
    assert provider_for("llama3.1:8b").capabilities.context_length == DEFAULT_CONTEXT_LENGTH
    assert provider_for("llama3.1:8b", 32_768).capabilities.context_length == 32_768
    tokens = provider_for("gpt-4o").tokens
    assert isinstance(tokens, OpenAITokenCounter)
    assert tokens.encoding_name == "o200k_base"


WHOLE = ChatRequest(REQUEST.messages, max_output_tokens=50, streamed=False)


async def test_a_request_that_is_not_streamed_gets_one_complete_response(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    events = await collect(provider, WHOLE)
    body = request_body(fake.requests[-1])
    assert "stream" not in body and "stream_options" not in body
    assert body["max_tokens"] == 50
    assert events == [
        TextDelta(fake.default_text),
        UsageReport(Usage(input_tokens=17, output_tokens=7)),
        Finish("stop"),
    ]


async def test_a_complete_response_carries_tool_calls(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    fake.push(json_reply(200, {"object": "chat.completion", "choices": [choice]}))
    events = await collect(provider, WHOLE)
    assert events == [ToolCallRequested(ToolCall("call_1", "f", "{}")), Finish("tool_calls")]


async def test_a_server_that_streams_anyway_is_read_as_a_stream(
    fake: FakeOpenAI, provider: OpenAIChatProvider
) -> None:
    fake.push(stream_reply("streamed after all", include_usage=True))
    events = await collect(provider, WHOLE)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "streamed after all"
    assert events[-1] == Finish("stop")


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        (
            lambda: json_reply(200, {"error": {"message": "busy", "code": "x"}}),
            ProviderUnavailable,
            "x: busy",
        ),
        (
            lambda: Reply(headers={"Content-Type": "application/json"}, chunks=[b"{no"]),
            ProviderProtocolError,
            "malformed",
        ),
        (lambda: json_reply(200, {"choices": "none"}), ProviderProtocolError, "choices"),
        (lambda: json_reply(200, {"choices": []}), ProviderProtocolError, "finish"),
    ],
    ids=["error-object", "not-json", "choices-not-a-list", "no-choice"],
)
async def test_a_bad_complete_response_is_our_error(
    fake: FakeOpenAI,
    provider: OpenAIChatProvider,
    reply: Callable[[], Reply],
    error: type[ProviderError],
    match: str,
) -> None:
    fake.push(reply())
    with pytest.raises(error, match=match):
        await collect(provider, WHOLE)


async def test_a_complete_response_through_httpx_as_well(fake: FakeOpenAI) -> None:
    """Endpoints the thin client does not serve (a proxy from the environment, a query in
    the base URL) go through httpx."""
    provider = make_provider(fake)
    provider._client._h1 = None
    try:
        events = await collect(provider, WHOLE)
    finally:
        await provider.aclose()
    assert "stream" not in request_body(fake.requests[-1])
    assert events[0] == TextDelta(fake.default_text) and events[-1] == Finish("stop")
