"""Every ChatProvider adapter passes tests/contracts/provider_contract.py: OpenAI,
Anthropic and Gemini against their loopback wire-format servers, the embedded
model (``local_model``), and the scripted provider."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path

import pytest

from frontdesk.config import EndpointConfig
from frontdesk.domain import ToolCall, Usage
from frontdesk.errors import ProviderUnavailable
from frontdesk.events import ProviderEvent
from frontdesk.providers.anthropic_chat import AnthropicChatProvider
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.errors_map import error_from_status
from frontdesk.providers.gemini_chat import GeminiChatProvider
from frontdesk.providers.local import LocalProvider
from frontdesk.providers.local_model import MODEL_SHA256, LocalModel, packaged_model_path
from frontdesk.providers.openai_chat import OpenAIChatProvider
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.contracts.provider_contract import REQUEST, Harness, ProviderContract
from tests.providers import fake_anthropic, fake_gemini, fake_openai
from tests.providers.fake_http import FakeHTTPServer, Reply

LONG = " ".join(["word"] * 60)


async def _until_idle(server: FakeHTTPServer) -> None:
    for _ in range(200):  # the server notices the closed socket on its next read or write
        if not server._tasks:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the upstream request is still being served")


class HTTPHarness(Harness):
    server: FakeHTTPServer

    async def assert_upstream_closed(self) -> None:
        await _until_idle(self.server)


class OpenAIHarness(HTTPHarness):
    exact_tokens = (
        False  # exact with tiktoken (tests/providers/test_tokens.py); the fake counts words
    )

    def __init__(self, fake: fake_openai.FakeOpenAI) -> None:
        self.fake = fake
        self.server = fake._server
        self.provider = self._provider(fake.base_url)
        self.text = fake.default_text
        self.usage = Usage(19, 7)

    @staticmethod
    def _provider(base_url: str) -> OpenAIChatProvider:
        endpoint = EndpointConfig(
            name="openai-test", dialect="openai", model="gpt-4o-mini", base_url=base_url
        )
        return OpenAIChatProvider(endpoint, api_key=fake_openai.API_KEY)

    def push_error(self, status: int, retry_after: str | None = None) -> None:
        self.fake.push(fake_openai.error_reply(status, retry_after=retry_after))

    def push_slow_first_token(self) -> None:
        self.fake.push(fake_openai.stream_reply("late", first_delay=30.0))

    def push_long_answer(self) -> None:
        frames = fake_openai.stream_frames(LONG)
        headers = {"Content-Type": "text/event-stream"}
        self.fake.push(Reply(headers=headers, chunks=frames, chunk_delay=0.05))

    async def unusable(self) -> ChatProvider:
        return self._provider("http://127.0.0.1:9/v1")

    def push_tool_calls(self, calls: tuple[ToolCall, ...], text: str) -> None:
        wire = [(c.id, c.name, c.arguments) for c in calls]
        self.fake.push(fake_openai.tool_call_reply(wire, text=text, split=5))

    def push_broken_tool_calls(self, calls: tuple[ToolCall, ...]) -> None:
        wire = [(c.id, c.name, c.arguments) for c in calls]
        frames = fake_openai.tool_call_frames(wire, split=5)
        last = len(calls) - 1
        head = next(i for i, f in enumerate(frames) if f'"index": {last}, "id"'.encode() in f)
        # the connection drops two argument fragments into the last call
        self.fake.push(fake_openai.tool_call_reply(wire, split=5, cut_after=head + 3))


class AnthropicHarness(HTTPHarness):
    exact_tokens = False

    def __init__(self, fake: fake_anthropic.FakeAnthropic) -> None:
        self.server = self.fake = fake
        self.provider = AnthropicChatProvider(
            model="claude-haiku-4-5", api_key=fake_anthropic.API_KEY, base_url=fake.base_url
        )
        self.text = "Your parcel ships today."
        self.usage = Usage(21, 4, 0)

    def push_error(self, status: int, retry_after: str | None = None) -> None:
        self.fake.push(fake_anthropic.error_reply(status, retry_after=retry_after))

    def push_slow_first_token(self) -> None:
        frames = fake_anthropic.stream_frames("late")
        self.fake.push(fake_anthropic.stream_reply(frames, first_delay=30.0))

    def push_long_answer(self) -> None:
        frames = fake_anthropic.stream_frames(LONG)
        self.fake.push(fake_anthropic.stream_reply(frames, chunk_delay=0.05))

    async def unusable(self) -> ChatProvider:
        return AnthropicChatProvider(
            model="claude-haiku-4-5", api_key="", base_url=self.fake.base_url
        )

    def push_tool_calls(self, calls: tuple[ToolCall, ...], text: str) -> None:
        wire = [(c.id, c.name, c.arguments) for c in calls]
        frames = fake_anthropic.tool_use_frames(wire, text=text, split=5)
        self.fake.push(fake_anthropic.stream_reply(frames))

    def push_broken_tool_calls(self, calls: tuple[ToolCall, ...]) -> None:
        wire = [(c.id, c.name, c.arguments) for c in calls]
        frames = fake_anthropic.tool_use_frames(wire, split=5, error_type="overloaded_error")
        self.fake.push(fake_anthropic.stream_reply(frames))


class GeminiHarness(HTTPHarness):
    exact_tokens = False

    def __init__(self, fake: fake_gemini.FakeGemini) -> None:
        self.server = self.fake = fake
        self.provider = GeminiChatProvider(
            model="gemini-2.5-flash", api_key=fake_gemini.API_KEY, base_url=fake.base_url
        )
        self.text = "Your parcel ships today."
        self.usage = Usage(17, 4, 0)

    def push_error(self, status: int, retry_after: str | None = None) -> None:
        self.fake.push(fake_gemini.error_reply(status, retry_after=retry_after))

    def push_slow_first_token(self) -> None:
        frames = fake_gemini.stream_frames("late")
        self.fake.push(fake_gemini.stream_reply(frames, first_delay=30.0))

    def push_long_answer(self) -> None:
        frames = fake_gemini.stream_frames(LONG)
        self.fake.push(fake_gemini.stream_reply(frames, chunk_delay=0.05))

    async def unusable(self) -> ChatProvider:
        return GeminiChatProvider(model="gemini-2.5-flash", api_key="", base_url=self.fake.base_url)

    def push_tool_calls(self, calls: tuple[ToolCall, ...], text: str) -> None:
        wire = [(c.name, json.loads(c.arguments)) for c in calls]
        frames = fake_gemini.function_call_frames(wire, text=text, signature="c2lnbmVk")
        self.fake.push(fake_gemini.stream_reply(frames))

    def push_broken_tool_calls(self, calls: tuple[ToolCall, ...]) -> None:
        """Gemini streams whole calls: the stream breaks after the first, before the end."""
        wire = [(c.name, json.loads(c.arguments)) for c in calls]
        frames = fake_gemini.function_call_frames(wire, finish_reason=None)
        self.fake.push(fake_gemini.stream_reply(frames, cut_after=1))


class Watched(ScriptedProvider):
    """A scripted provider that records whether its stream was closed before the end."""

    closed_early: int = 0

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        finished = False
        try:
            async for event in super()._call(request):
                yield event
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


class ScriptedHarness(Harness):
    exact_tokens = True  # words are the scripted model's tokens

    def __init__(self) -> None:
        self.provider = self.scripted = Watched(steps=[], provider_name="scripted-test")
        self.scripted.responder = self._answer
        self.next: list[Step] = []
        self.text = "Your parcel ships today."
        self.usage = Usage(self.provider.tokens.count_messages(REQUEST.messages), 4)

    def _answer(self, request: ChatRequest) -> Step:
        return self.next.pop(0) if self.next else Step(self.text or "")

    def push_error(self, status: int, retry_after: str | None = None) -> None:
        headers = {"retry-after": retry_after} if retry_after is not None else None
        error = error_from_status(status, "scripted", provider=self.provider.name, headers=headers)
        self.next.append(Step(fail_before=error))

    def push_slow_first_token(self) -> None:
        self.next.append(Step("late", first_token_delay=30.0))

    def push_long_answer(self) -> None:
        self.next.append(Step(LONG, token_delay=0.05))

    async def assert_upstream_closed(self) -> None:
        assert self.scripted.closed_early == 1

    async def unusable(self) -> ChatProvider:
        return ScriptedProvider(check_error=ProviderUnavailable("not ready", provider="s"))

    def push_tool_calls(self, calls: tuple[ToolCall, ...], text: str) -> None:
        self.next.append(Step(text, tool_calls=calls))

    def push_broken_tool_calls(self, calls: tuple[ToolCall, ...]) -> None:
        self.next.append(Step("", tool_calls=calls, fail_after_tokens=0))


class LocalHarness(Harness):
    exact_tokens = True
    http = False
    tools = False

    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self.provider = LocalProvider(model)
        self.text = None
        self.usage = None
        self._long = False

    def push_error(self, status: int, retry_after: str | None = None) -> None:
        raise NotImplementedError

    def push_slow_first_token(self) -> None:
        raise NotImplementedError

    def push_long_answer(self) -> None:
        self._long = True  # 40 tokens take long enough to be cancelled after the first

    async def assert_upstream_closed(self) -> None:
        await asyncio.wrap_future(self.model.idle())
        last = self.model.stats.last
        assert last is not None
        assert last.reason == "cancelled"
        assert last.completion_tokens < REQUEST.max_output_tokens

    async def unusable(self) -> ChatProvider:
        folder = Path(tempfile.mkdtemp())
        broken = folder / "model.gguf"
        broken.write_bytes(b"tampered")
        return _ClosingLocal(LocalModel(broken, MODEL_SHA256))


class _ClosingLocal(LocalProvider):
    def __init__(self, model: LocalModel) -> None:
        super().__init__(model)
        self._owned = model

    async def aclose(self) -> None:
        self._owned.close()


class TestOpenAI(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        async with fake_openai.FakeOpenAI() as fake:
            h = OpenAIHarness(fake)
            yield h
            await h.provider.aclose()


class TestAnthropic(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        async with fake_anthropic.FakeAnthropic("Your parcel ships today.") as fake:
            h = AnthropicHarness(fake)
            yield h
            await h.provider.aclose()


class TestGemini(ProviderContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        async with fake_gemini.FakeGemini("Your parcel ships today.") as fake:
            h = GeminiHarness(fake)
            yield h
            await h.provider.aclose()


class TestScripted(ProviderContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return ScriptedHarness()


@pytest.fixture(scope="module")
def local_model() -> Iterator[LocalModel]:
    local = LocalModel(packaged_model_path(), MODEL_SHA256, n_ctx=512, n_threads=1)
    local.load()
    yield local
    local.close()


@pytest.mark.local_model
class TestLocal(ProviderContract):
    @pytest.fixture
    def harness(self, local_model: LocalModel) -> Harness:
        return LocalHarness(local_model)
