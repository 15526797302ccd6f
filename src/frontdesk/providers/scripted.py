"""A deterministic chat provider for tests and demos.

It is a real implementation of :class:`ChatProvider`: it replays configured
replies, word by word, with configurable delays and failures. A step may also
call tools: its ``tool_calls`` follow its text as
:class:`~frontdesk.events.ToolCallRequested` events and the stream finishes with
``Finish("tool_calls")``, as the vendor adapters do.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field

from frontdesk.domain import ChatMessage, ToolCall, Usage
from frontdesk.errors import ProviderError
from frontdesk.events import Finish, ProviderEvent, TextDelta, ToolCallRequested, UsageReport
from frontdesk.providers.base import Capabilities, ChatRequest
from frontdesk.providers.report import reported
from frontdesk.providers.tokens import tool_call_text

_WORD = re.compile(r"\S+\s*|\s+")


class WordTokenCounter:
    """Counts whitespace-separated words: the scripted model's exact tokenizer."""

    def count(self, text: str) -> int:
        return len(text.split())

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count(m.content) + self.count(tool_call_text(m)) + 3 for m in messages) + 1


@dataclass
class Step:
    """One scripted reply. ``fail_before`` raises before any token;
    ``fail_after_tokens`` raises after that many deltas (before any tool call);
    ``tool_calls`` are requested after the text (``Finish("tool_calls")``)."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    fail_before: ProviderError | None = None
    fail_after_tokens: int | None = None
    fail_with: ProviderError | None = None
    first_token_delay: float = 0.0
    token_delay: float = 0.0


Responder = Callable[[ChatRequest], "str | Step"]


@dataclass
class ScriptedProvider:
    """Replays ``steps`` in order (cycling), or calls ``responder`` per request."""

    steps: list[Step] = field(default_factory=list)
    responder: Responder | None = None
    provider_name: str = "scripted"
    model_name: str = "scripted-1"
    context_length: int = 4096
    requests: list[ChatRequest] = field(default_factory=list)
    check_error: ProviderError | None = None
    """Raised by :meth:`check` (an endpoint that is not ready)."""
    supports_tools: bool = True
    """``capabilities.tools`` (``False`` stands in for an endpoint without tool calling)."""
    _cursor: int = 0

    @classmethod
    def from_texts(cls, texts: Sequence[str], **kwargs: object) -> ScriptedProvider:
        return cls(steps=[Step(text=t) for t in texts], **kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return self.provider_name

    @property
    def model(self) -> str:
        return self.model_name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(context_length=self.context_length, tools=self.supports_tools)

    @property
    def tokens(self) -> WordTokenCounter:
        return WordTokenCounter()

    def _next_step(self, request: ChatRequest) -> Step:
        if self.responder is not None:
            got = self.responder(request)
            return got if isinstance(got, Step) else Step(text=got)
        if not self.steps:
            return Step(text=f"You said: {request.messages[-1].content}")
        step = self.steps[self._cursor % len(self.steps)]
        self._cursor += 1
        return step

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return reported(self.name, self.model, self._call(request))

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        self.requests.append(request)
        step = self._next_step(request)
        if step.fail_before is not None:
            raise step.fail_before
        if step.first_token_delay:
            await asyncio.sleep(step.first_token_delay)
        words = _WORD.findall(step.text)
        emitted = 0
        for i, word in enumerate(words):
            if step.fail_after_tokens is not None and emitted >= step.fail_after_tokens:
                raise step.fail_with or ProviderError(
                    "scripted failure mid-stream", provider=self.name, retryable=True
                )
            if i and step.token_delay:
                await asyncio.sleep(step.token_delay)
            if emitted >= request.max_output_tokens:
                yield UsageReport(self._usage(request, emitted))
                yield Finish("length")
                return
            yield TextDelta(word)
            emitted += 1
        if step.fail_after_tokens is not None and emitted >= step.fail_after_tokens:
            raise step.fail_with or ProviderError(
                "scripted failure at end of stream", provider=self.name, retryable=True
            )
        for call in step.tool_calls:
            yield ToolCallRequested(call)
        yield UsageReport(self._usage(request, emitted + len(step.tool_calls)))
        yield Finish("tool_calls" if step.tool_calls else "stop")

    def _usage(self, request: ChatRequest, emitted: int) -> Usage:
        return Usage(self.tokens.count_messages(request.messages), emitted)

    async def check(self) -> None:
        if self.check_error is not None:
            raise self.check_error

    async def aclose(self) -> None:
        return None
