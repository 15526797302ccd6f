"""Tool calling edge cases per vendor adapter (the shared cases are in the provider
contract), the history reshaping of turns.py, and the wrappers around a tool call."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace

import pytest

from frontdesk.admission.budgets import Subject
from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, ToolCall
from frontdesk.errors import (
    AllProvidersFailed,
    ProviderBadRequest,
    ProviderProtocolError,
    ProviderUnavailable,
)
from frontdesk.events import (
    AttemptEvent,
    CallReport,
    Finish,
    ProviderEvent,
    TextDelta,
    ToolCallRequested,
    UsageReport,
)
from frontdesk.providers.anthropic_chat import AnthropicChatProvider
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.fallback import Fallback, surely_fits
from frontdesk.providers.gemini_chat import GeminiChatProvider, call_id, split_call_id
from frontdesk.providers.metered import Metered, Route
from frontdesk.providers.openai_chat import OpenAIChatProvider
from frontdesk.providers.report import reported
from frontdesk.providers.retry import Retrying, RetryPolicy
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.providers.tokens import OpenAITokenCounter, count_request, count_tools
from frontdesk.providers.turns import ToolResult, Turn, split_system
from frontdesk.telemetry import Metrics
from tests.contracts.provider_contract import CALLS, TOOL_REQUEST, TOOLS, with_results
from tests.providers import fake_anthropic, fake_gemini, fake_openai
from tests.providers.fake_http import Reply, sse_frame
from tests.providers.streams import without_report

WIRE = [(c.id, c.name, c.arguments) for c in CALLS]


async def events_of(provider: object, request: ChatRequest) -> list[ProviderEvent]:
    stream = provider.stream(request)  # type: ignore[attr-defined]
    return without_report([e async for e in stream])


async def drain(stream: AsyncIterator[ProviderEvent], seen: list[ProviderEvent]) -> None:
    async for event in stream:
        seen.append(event)


def requested(events: list[ProviderEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallRequested)]


def finish_of(events: list[ProviderEvent]) -> str:
    return next(e.reason for e in events if isinstance(e, Finish))


# --- OpenAI ---------------------------------------------------------------------------


@pytest.fixture
async def openai_fake() -> AsyncIterator[fake_openai.FakeOpenAI]:
    async with fake_openai.FakeOpenAI() as server:
        yield server


@pytest.fixture
async def gpt(openai_fake: fake_openai.FakeOpenAI) -> AsyncIterator[OpenAIChatProvider]:
    endpoint = EndpointConfig(
        name="gpt", dialect="openai", model="gpt-4o-mini", base_url=openai_fake.base_url
    )
    provider = OpenAIChatProvider(endpoint, api_key=fake_openai.API_KEY)
    yield provider
    await provider.aclose()


async def test_openai_request_carries_tools_and_choice(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI
) -> None:
    await events_of(gpt, replace(TOOL_REQUEST, tool_choice="required"))
    body = openai_fake.requests[-1].json()
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": TOOLS[0].name,
            "description": TOOLS[0].description,
            "parameters": dict(TOOLS[0].parameters),
        },
    }
    assert body["tool_choice"] == "required"
    await events_of(gpt, replace(TOOL_REQUEST, tools=()))
    body = openai_fake.requests[-1].json()
    assert "tools" not in body and "tool_choice" not in body


async def test_openai_tool_history_goes_out_in_openai_shape(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI
) -> None:
    calls_only = replace(
        with_results(list(CALLS)),
        messages=[
            *TOOL_REQUEST.messages,
            ChatMessage("assistant", "", tool_calls=CALLS),
            *with_results(list(CALLS)).messages[-2:],
        ],
    )
    await events_of(gpt, calls_only)
    messages = openai_fake.requests[-1].json()["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in CALLS
        ],
    }
    assert messages[3]["role"] == "tool" and messages[3]["tool_call_id"] == CALLS[0].id
    assert json.loads(messages[4]["content"])["n"] == 1


async def test_openai_length_mid_call_requests_nothing(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI
) -> None:
    frames = fake_openai.tool_call_frames(WIRE, finish_reason=None, done=False)
    frames = frames[:-2]  # the second call's arguments are cut short
    frames.append(sse_frame(fake_openai._delta("gpt-4o-mini", {}, "length")))
    frames.append(sse_frame("[DONE]"))
    openai_fake.push(Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames))
    events = await events_of(gpt, TOOL_REQUEST)
    assert requested(events) == []
    assert finish_of(events) == "length"


async def test_openai_compatible_server_quirks(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI
) -> None:
    """A server that sends each call whole without ``index`` or ``id`` and finishes with
    ``stop`` (older Ollama, some proxies) still yields the calls and ``tool_calls``."""
    calls = [
        {"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in CALLS
    ]
    frames = [
        sse_frame(fake_openai._delta("m", {"role": "assistant", "tool_calls": calls})),
        sse_frame(fake_openai._delta("m", {}, "stop")),
        sse_frame("[DONE]"),
    ]
    openai_fake.push(Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames))
    events = await events_of(gpt, TOOL_REQUEST)
    got = requested(events)
    assert [(c.name, c.arguments) for c in got] == [(c.name, c.arguments) for c in CALLS]
    assert [c.id for c in got] == ["call_0", "call_1"]
    assert finish_of(events) == "tool_calls"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [('{"workspace": "acme', "not JSON"), ('["acme"]', "not an object")],
)
async def test_openai_malformed_arguments_are_a_protocol_error(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI, arguments: str, problem: str
) -> None:
    openai_fake.push(fake_openai.tool_call_reply([("call_x", "usage_this_month", arguments)]))
    with pytest.raises(ProviderProtocolError, match=problem) as info:
        await events_of(gpt, TOOL_REQUEST)
    assert info.value.retryable


async def test_openai_empty_arguments_are_an_empty_object(
    gpt: OpenAIChatProvider, openai_fake: fake_openai.FakeOpenAI
) -> None:
    openai_fake.push(fake_openai.tool_call_reply([("call_e", "open_ticket", "")]))
    (call,) = requested(await events_of(gpt, TOOL_REQUEST))
    assert call == ToolCall("call_e", "open_ticket", "{}")


# --- Anthropic ------------------------------------------------------------------------


@pytest.fixture
async def claude_fake() -> AsyncIterator[fake_anthropic.FakeAnthropic]:
    async with fake_anthropic.FakeAnthropic("Done.") as server:
        yield server


@pytest.fixture
async def claude(
    claude_fake: fake_anthropic.FakeAnthropic,
) -> AsyncIterator[AnthropicChatProvider]:
    provider = AnthropicChatProvider(
        model="claude-haiku-4-5", api_key=fake_anthropic.API_KEY, base_url=claude_fake.base_url
    )
    yield provider
    await provider.aclose()


@pytest.mark.parametrize(
    ("choice", "wire"), [("auto", "auto"), ("required", "any"), ("none", "none")]
)
async def test_anthropic_tools_and_choice(
    claude: AnthropicChatProvider,
    claude_fake: fake_anthropic.FakeAnthropic,
    choice: str,
    wire: str,
) -> None:
    await events_of(claude, replace(TOOL_REQUEST, tool_choice=choice))  # type: ignore[arg-type]
    body = claude_fake.requests[-1].json()
    assert body["tools"][1] == {
        "name": "open_ticket",
        "description": TOOLS[1].description,
        "input_schema": dict(TOOLS[1].parameters),
    }
    assert body["tool_choice"] == {"type": wire}


async def test_anthropic_calls_without_text_send_no_empty_text_block(
    claude: AnthropicChatProvider, claude_fake: fake_anthropic.FakeAnthropic
) -> None:
    history = [
        *TOOL_REQUEST.messages,
        ChatMessage("assistant", "", tool_calls=CALLS[:1]),
        ChatMessage("tool", "42 rows", tool_call_id=CALLS[0].id),
        ChatMessage("user", "Thanks! And last month?"),
    ]
    events = await events_of(claude, replace(TOOL_REQUEST, messages=history))
    assert finish_of(events) == "stop"
    messages = claude_fake.requests[-1].json()["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": CALLS[0].id,
                "name": CALLS[0].name,
                "input": json.loads(CALLS[0].arguments),
            }
        ],
    }
    assert messages[2] == {  # the result first, then the customer's next message
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": CALLS[0].id, "content": "42 rows"},
            {"type": "text", "text": "Thanks! And last month?"},
        ],
    }


async def test_anthropic_max_tokens_mid_call_requests_nothing(
    claude: AnthropicChatProvider, claude_fake: fake_anthropic.FakeAnthropic
) -> None:
    frames = fake_anthropic.tool_use_frames(WIRE, stop_reason="max_tokens")
    claude_fake.push(fake_anthropic.stream_reply(frames))
    events = await events_of(claude, TOOL_REQUEST)
    assert requested(events) == []
    assert finish_of(events) == "length"


async def test_the_fake_refuses_results_that_answer_no_call(
    claude: AnthropicChatProvider,
) -> None:
    """The loopback server is as strict as the API (else the round trips prove nothing)."""
    history = [
        *TOOL_REQUEST.messages,
        ChatMessage("assistant", "", tool_calls=CALLS),
        ChatMessage("tool", "only one result", tool_call_id=CALLS[0].id),
    ]
    with pytest.raises(ProviderBadRequest, match="tool_result"):
        await events_of(claude, replace(TOOL_REQUEST, messages=history))


# --- Gemini ---------------------------------------------------------------------------


@pytest.fixture
async def gemini_fake() -> AsyncIterator[fake_gemini.FakeGemini]:
    async with fake_gemini.FakeGemini("Done.") as server:
        yield server


def gemini(fake: fake_gemini.FakeGemini, model: str = "gemini-2.5-flash") -> GeminiChatProvider:
    return GeminiChatProvider(model=model, api_key=fake_gemini.API_KEY, base_url=fake.base_url)


def test_gemini_call_ids_carry_the_thought_signature() -> None:
    made = call_id(None, b"\x00sig\xff")
    assert split_call_id(made) == (None, b"\x00sig\xff")
    assert split_call_id(call_id("fc-7", None)) == ("fc-7", None)
    assert split_call_id(call_id(None, None))[0] is None
    assert call_id(None, None) != call_id(None, None)  # unique across steps of a turn
    assert split_call_id("call_from_elsewhere") == ("call_from_elsewhere", None)


async def test_gemini_3_needs_the_signature_back(gemini_fake: fake_gemini.FakeGemini) -> None:
    provider = gemini(gemini_fake, "gemini-3-flash-preview")
    try:
        wire = [(c.name, json.loads(c.arguments)) for c in CALLS]
        frames = fake_gemini.function_call_frames(wire, signature="c2lnbmVkIQ==")
        gemini_fake.push(fake_gemini.stream_reply(frames))
        events = await events_of(provider, replace(TOOL_REQUEST, tool_choice="required"))
        config = gemini_fake.requests[-1].json()
        assert config["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
        declaration = config["tools"][0]["functionDeclarations"][0]
        assert declaration["name"] == TOOLS[0].name
        assert declaration["parameters_json_schema"] == dict(TOOLS[0].parameters)
        calls = requested(events)
        assert finish_of(events) == "tool_calls"
        assert split_call_id(calls[0].id)[1] == b"signed!"
        answer = await events_of(provider, with_results(calls))
        assert finish_of(answer) == "stop"
        contents = gemini_fake.requests[-1].json()["contents"]
        assert contents[1]["parts"][1]["thoughtSignature"] == "c2lnbmVkIQ=="
        assert contents[2]["parts"][0]["functionResponse"]["name"] == CALLS[0].name
        stripped = [replace(c, id=split_call_id(c.id)[0] or "gemini_x") for c in calls]
        with pytest.raises(ProviderBadRequest, match="thought_signature"):
            await events_of(provider, with_results(stripped))
    finally:
        await provider.aclose()


async def test_gemini_api_call_ids_round_trip(gemini_fake: fake_gemini.FakeGemini) -> None:
    provider = gemini(gemini_fake)
    try:
        part = {"functionCall": {"id": "fc-1", "name": "open_ticket", "args": {"subject": "x"}}}
        frame = {
            "candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP"}],
            "usageMetadata": fake_gemini.usage(30, 5),
        }
        gemini_fake.push(fake_gemini.stream_reply([sse_frame(frame)]))
        (call,) = requested(await events_of(provider, TOOL_REQUEST))
        assert call == ToolCall("fc-1", "open_ticket", '{"subject":"x"}')
        await events_of(provider, with_results([call]))
        contents = gemini_fake.requests[-1].json()["contents"]
        assert contents[1]["parts"][1]["functionCall"]["id"] == "fc-1"
        assert contents[2]["parts"] == [
            {
                "functionResponse": {
                    "id": "fc-1",
                    "name": "open_ticket",
                    "response": {"output": json.dumps({"ok": True, "rows": 1_204_551, "n": 0})},
                }
            }
        ]
    finally:
        await provider.aclose()


async def test_gemini_max_tokens_requests_nothing(gemini_fake: fake_gemini.FakeGemini) -> None:
    provider = gemini(gemini_fake)
    try:
        wire = [(c.name, json.loads(c.arguments)) for c in CALLS]
        frames = fake_gemini.function_call_frames(wire, finish_reason="MAX_TOKENS")
        gemini_fake.push(fake_gemini.stream_reply(frames))
        events = await events_of(provider, TOOL_REQUEST)
        assert requested(events) == [] and finish_of(events) == "length"
    finally:
        await provider.aclose()


# --- history reshaping ----------------------------------------------------------------


def test_results_of_parallel_calls_share_the_users_turn() -> None:
    history = with_results(list(CALLS)).messages
    system, turns = split_system([*history, ChatMessage("user", "and then?")])
    assert system == "You are the support bot of Acme."
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[1] == Turn("assistant", "Let me check.", tool_calls=CALLS)
    assert turns[2].text == "and then?"
    assert [(r.call_id, r.name) for r in turns[2].tool_results] == [(c.id, c.name) for c in CALLS]
    assert isinstance(turns[2].tool_results[0], ToolResult)


def test_a_result_for_an_unknown_call_is_refused() -> None:
    orphan = [ChatMessage("user", "hi"), ChatMessage("tool", "42", tool_call_id="call_gone")]
    with pytest.raises(ProviderBadRequest, match="call_gone"):
        split_system(orphan)


# --- wrappers and counting ------------------------------------------------------------


class CallsThenFails:
    """Requests one tool call, then the stream breaks (a vendor dropping mid-answer)."""

    name = "flaky"
    model = "flaky-1"
    tokens = ScriptedProvider().tokens

    def __init__(self) -> None:
        self.calls = 0

    @property
    def capabilities(self) -> object:
        return ScriptedProvider().capabilities

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return reported(self.name, self.model, self._events())

    async def _events(self) -> AsyncGenerator[ProviderEvent, None]:
        self.calls += 1
        yield ToolCallRequested(CALLS[0])
        raise ProviderUnavailable("stream broke", provider=self.name)

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def test_fallback_never_switches_after_a_tool_call() -> None:
    flaky, standby = CallsThenFails(), ScriptedProvider.from_texts(["From standby."])
    chain = Fallback([flaky, standby])  # type: ignore[list-item]
    seen: list[ProviderEvent] = []
    with pytest.raises(ProviderUnavailable):
        await drain(chain.stream(TOOL_REQUEST), seen)
    assert standby.requests == []
    served = [e for e in seen if isinstance(e, AttemptEvent)]
    assert [(a.provider, a.outcome) for a in served] == [("flaky", "served")]
    assert seen.index(served[0]) < next(
        i for i, e in enumerate(seen) if isinstance(e, ToolCallRequested)
    )


async def test_retry_never_repeats_a_tool_call() -> None:
    flaky = CallsThenFails()
    retrying = Retrying(flaky, RetryPolicy(max_attempts=3, base_delay=0))  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable):
        async for _ in retrying.stream(TOOL_REQUEST):
            pass
    assert flaky.calls == 1


async def test_endpoints_without_tools_answer_without_them_or_are_skipped() -> None:
    """A fallback without tool calling (the embedded model) still answers a request that
    merely offers tools (without them: as it would with no actions configured); one that
    carries tool calls in its history, or requires a call, skips it."""
    down = ScriptedProvider(
        steps=[Step(fail_before=ProviderUnavailable("down", provider="vendor"))],
        provider_name="vendor",
    )
    plain = ScriptedProvider.from_texts(["From the KB."], supports_tools=False)
    plain.provider_name = "plain"
    events = [e async for e in Fallback([down, plain]).stream(TOOL_REQUEST)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "From the KB."
    assert down.requests[0].tools == TOOLS
    assert plain.requests[0].tools == () and plain.requests[0].messages == TOOL_REQUEST.messages
    for needs_tools in (with_results(list(CALLS)), replace(TOOL_REQUEST, tool_choice="required")):
        tools = ScriptedProvider(steps=[Step("", tool_calls=CALLS)], provider_name="tools")
        events = [e async for e in Fallback([plain, tools]).stream(needs_tools)]
        report = events[-1]
        assert isinstance(report, CallReport)
        assert [(a.provider, a.outcome, a.error_code) for a in report.attempts] == [
            ("plain", "skipped", "tools_unsupported"),
            ("tools", "served", None),
        ]
        assert requested(events) == list(CALLS)
        assert tools.requests[0] is needs_tools
    assert len(plain.requests) == 1
    with pytest.raises(AllProvidersFailed, match="tools_unsupported"):
        async for _ in Fallback([plain]).stream(with_results(list(CALLS))):
            pass


async def test_scripted_tool_calls_finish_with_tool_calls() -> None:
    scripted = ScriptedProvider(steps=[Step("One moment.", tool_calls=CALLS)])
    events = await events_of(scripted, TOOL_REQUEST)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "One moment."
    assert requested(events) == list(CALLS)
    usage = next(e.usage for e in events if isinstance(e, UsageReport))
    assert usage.output_tokens == 2 + len(CALLS)
    assert finish_of(events) == "tool_calls"


def test_counting_includes_specs_calls_and_results() -> None:
    counter = OpenAITokenCounter("o200k_base")
    plain = counter.count_messages(TOOL_REQUEST.messages)
    assert count_tools(counter, ()) == 0
    assert count_request(counter, TOOL_REQUEST) == plain + count_tools(counter, TOOLS)
    spec_chars = sum(len(json.dumps(dict(t.parameters))) for t in TOOLS)
    assert count_tools(counter, TOOLS) > spec_chars // 8  # the schemas are counted, not names
    bare = [ChatMessage("assistant", ""), ChatMessage("tool", "")]
    called = [
        ChatMessage("assistant", "", tool_calls=CALLS),
        ChatMessage("tool", "", tool_call_id="x"),
    ]
    assert counter.count_messages(called) > counter.count_messages(bare) + 20
    # fallback's no-tokenizer bound holds with tools: never "surely fits" when it does not
    need = count_request(counter, TOOL_REQUEST) + TOOL_REQUEST.max_output_tokens
    assert not surely_fits(TOOL_REQUEST, need - 1)


async def test_an_endpoint_can_say_its_model_calls_no_tools() -> None:
    """``tools: false`` in the bot config (an OpenAI-compatible model without tool calling)."""
    made: list[ChatProvider] = []
    for dialect, model in [
        ("openai", "llama-3-8b"),
        ("anthropic", "claude-haiku-4-5"),
        ("gemini", "gemini-2.5-flash"),
    ]:
        on = EndpointConfig(name=dialect, dialect=dialect, model=model, base_url="http://x")
        off = on.model_copy(update={"tools": False})
        for endpoint in (on, off):
            if dialect == "openai":
                made.append(OpenAIChatProvider(endpoint, api_key="k"))
            elif dialect == "anthropic":
                made.append(AnthropicChatProvider.from_endpoint(endpoint, api_key="k"))
            else:
                made.append(GeminiChatProvider.from_endpoint(endpoint, api_key="k"))
    try:
        assert [p.capabilities.tools for p in made] == [True, False] * 3
        assert made[3].capabilities.vision  # the rest of the model's capabilities stay
    finally:
        for provider in made:
            await provider.aclose()


async def test_a_tool_call_finish_without_a_call_is_a_protocol_error(
    gpt: OpenAIChatProvider,
    openai_fake: fake_openai.FakeOpenAI,
    claude: AnthropicChatProvider,
    claude_fake: fake_anthropic.FakeAnthropic,
    gemini_fake: fake_gemini.FakeGemini,
) -> None:
    openai_fake.push(fake_openai.tool_call_reply([]))
    with pytest.raises(ProviderProtocolError, match="no call"):
        await events_of(gpt, TOOL_REQUEST)
    claude_fake.push(fake_anthropic.stream_reply(fake_anthropic.tool_use_frames([])))
    with pytest.raises(ProviderProtocolError, match="tool_use"):
        await events_of(claude, TOOL_REQUEST)
    provider = gemini(gemini_fake)
    try:
        frames = fake_gemini.stream_frames("", finish_reason="MALFORMED_FUNCTION_CALL")
        gemini_fake.push(fake_gemini.stream_reply(frames))
        with pytest.raises(ProviderProtocolError, match="MALFORMED_FUNCTION_CALL") as info:
            await events_of(provider, TOOL_REQUEST)
        assert info.value.retryable
    finally:
        await provider.aclose()


async def test_metered_reports_a_call_that_broke_after_a_tool_call() -> None:
    """The CallReport built from what was seen names the endpoint that asked for the tool
    (a single provider announces no attempts), and the tool-call finish reaches the span."""
    metered = Metered(metrics=Metrics())
    broken = await metered.start(Subject("acme"), TOOL_REQUEST, Route(CallsThenFails()))  # type: ignore[arg-type]
    seen: list[ProviderEvent] = []
    with pytest.raises(ProviderUnavailable):
        await drain(broken.stream(), seen)
    assert broken.tool_called and broken.ttft_ms is None
    assert (broken.report.provider, broken.report.model) == ("flaky", "flaky-1")
    scripted = ScriptedProvider(steps=[Step("", tool_calls=CALLS)])
    whole = await metered.start(Subject("acme"), TOOL_REQUEST, Route(scripted))
    await drain(whole.stream(), seen)
    assert whole.finish_reason == "tool_calls"
    assert whole.report.provider == "scripted"
