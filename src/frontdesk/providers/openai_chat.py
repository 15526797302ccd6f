"""The OpenAI chat-completions dialect, on a thin ``httpx`` client
(:mod:`frontdesk.providers.openai_http`; the SDK's per-request transforms and
per-chunk pydantic parsing were the measured cost of the gateway path).

One class serves OpenAI itself and every server speaking the same API (vLLM,
Ollama, llama.cpp server, LiteLLM, Azure OpenAI's ``/openai/v1/`` endpoint):
the endpoint's ``base_url`` and key are configuration. There are no client-side
retries (our retry wrapper owns that policy); every failure arrives here already
translated into :mod:`frontdesk.errors`.

Tool calling: ``ChatRequest.tools`` go out as ``tools`` (``type: function``) with
``tool_choice``; an assistant message's ``tool_calls`` and ``role: tool`` results
go out in OpenAI's shape. Streamed ``delta.tool_calls`` fragments are assembled
by ``index`` and emitted as :class:`~frontdesk.events.ToolCallRequested` before
``Finish("tool_calls")`` (also when a compatible server finishes such an answer
with ``stop``). A stream cut off by ``length`` mid-call emits no call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, ToolSpec, Usage
from frontdesk.errors import ProviderProtocolError
from frontdesk.events import Finish, ProviderEvent, TextDelta, ToolCallRequested, UsageReport
from frontdesk.providers.base import Capabilities, ChatRequest, TokenCounter
from frontdesk.providers.openai_http import OpenAIHTTP
from frontdesk.providers.report import Reporter
from frontdesk.providers.tokens import counter_for
from frontdesk.providers.toolcalls import ToolCallAssembler

CHECK_TIMEOUT_SECONDS = 5.0
DEFAULT_CONTEXT_LENGTH = 8192
_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}

# Context windows of OpenAI models; longest prefix wins. Other models need
# ``context_length`` in the endpoint config, else DEFAULT_CONTEXT_LENGTH.
_CONTEXT_LENGTHS: tuple[tuple[str, int], ...] = (
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
)
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def _bare(model: str) -> str:
    return model.lower().rsplit("/", 1)[-1]


def known_context_length(model: str) -> int | None:
    name = _bare(model)
    for prefix, size in sorted(_CONTEXT_LENGTHS, key=lambda p: -len(p[0])):
        if name == prefix or name.startswith((prefix + "-", prefix + ".")):
            return size
    return None


def is_reasoning_model(model: str) -> bool:
    """o-series and gpt-5 take max_completion_tokens and no temperature."""
    name = _bare(model)
    return any(name == p or name.startswith(p + "-") for p in _REASONING_PREFIXES)


class OpenAIChatProvider:
    """Streams chat completions from one OpenAI-dialect endpoint."""

    def __init__(
        self,
        endpoint: EndpointConfig,
        *,
        api_key: str,
        base_url: str | None = None,
        tokens: TokenCounter | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._client = OpenAIHTTP(
            provider=endpoint.name,
            api_key=api_key,
            base_url=base_url if base_url is not None else endpoint.base_url,
            timeout=endpoint.timeout_seconds,
        )
        self._tokens = tokens or counter_for("openai", endpoint.model)
        context = endpoint.context_length or known_context_length(endpoint.model)
        self._capabilities = Capabilities(
            context_length=context or DEFAULT_CONTEXT_LENGTH, tools=endpoint.tools
        )
        self._reasoning = is_reasoning_model(endpoint.model)

    @property
    def name(self) -> str:
        return self._endpoint.name

    @property
    def model(self) -> str:
        return self._endpoint.model

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def tokens(self) -> TokenCounter:
        return self._tokens

    def _params(self, request: ChatRequest) -> tuple[dict[str, Any], dict[str, str]]:
        params: dict[str, Any] = {
            "model": self._endpoint.model,
            "messages": _wire_messages(request.messages),
        }
        if request.streamed:  # else one complete response (the caller waits for it all)
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
        if self._reasoning:
            params["max_completion_tokens"] = request.max_output_tokens
        else:
            params["max_tokens"] = request.max_output_tokens
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = list(request.stop)
        if request.tools:
            params["tools"] = wire_tools(request.tools)
            params["tool_choice"] = request.tool_choice
        headers = {}
        if request.idempotency_key:
            headers["Idempotency-Key"] = request.idempotency_key
        return params, headers

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return self._call(request)

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        """The events of one completion, ending with this endpoint's CallReport (written
        here, not by :func:`~frontdesk.providers.report.reported`: one layer fewer)."""
        report = Reporter(self.name, self.model)
        params, headers = self._params(request)
        finish: str | None = None
        usage: Usage | None = None
        tools = ToolCallAssembler(self.name)
        async with aclosing(self._client.stream_chat(params, headers)) as chunks:
            async for chunk in chunks:
                for event in self._parse_chunk(chunk, tools):
                    if isinstance(event, Finish):
                        finish = event.reason
                    elif isinstance(event, UsageReport):
                        usage = event.usage
                    else:
                        if report.ttft_ms is None and isinstance(event, TextDelta):
                            report.first_text()
                        yield event
        if finish is None:
            raise ProviderProtocolError("stream ended without a finish reason", provider=self.name)
        if finish == "tool_calls" and not tools:
            raise ProviderProtocolError(
                "stream finished with tool_calls but sent no call", provider=self.name
            )
        if tools and finish in ("tool_calls", "stop"):
            for call in tools.calls():
                yield ToolCallRequested(call)
            finish = "tool_calls"
        if usage is not None:
            report.usage = usage
            yield UsageReport(usage)
        yield Finish(finish)
        yield report.report()

    def _parse_chunk(self, chunk: dict[str, Any], tools: ToolCallAssembler) -> list[ProviderEvent]:
        """Events from one ``chat.completion.chunk``; anything off-shape is a protocol error."""
        try:
            return _chunk_events(chunk, tools)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            raise ProviderProtocolError(
                f"malformed stream chunk: {exc!r}", provider=self.name
            ) from exc

    async def check(self) -> None:
        """List models with a short timeout; raises a ProviderError when unusable."""
        await self._client.get("/models", deadline_seconds=CHECK_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        await self._client.aclose()


def wire_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """``ChatRequest.tools`` as OpenAI ``tools`` (function tools)."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": dict(t.parameters),
            },
        }
        for t in tools
    ]


def _wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    return [wire_message(m) for m in messages]


def wire_message(m: ChatMessage) -> dict[str, Any]:
    """One message in OpenAI's shape (tool calls and tool results included)."""
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    out: dict[str, Any] = {"role": m.role, "content": _wire_content(m)}
    if m.tool_calls:
        out["content"] = m.content or None
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in m.tool_calls
        ]
    return out


def _wire_content(m: ChatMessage) -> str | list[dict[str, Any]]:
    """Text, or text and ``image_url`` parts when the message carries images (vision)."""
    if not m.images:
        return m.content
    parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in m.images]
    return parts


def _chunk_events(chunk: dict[str, Any], tools: ToolCallAssembler) -> list[ProviderEvent]:
    events: list[ProviderEvent] = []
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise TypeError(f"choices is {type(choices).__name__}, not a list")
    for choice in choices:
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta")
        content = delta.get("content") if delta is not None else None
        if content is not None and not isinstance(content, str):
            raise TypeError(f"delta content is {type(content).__name__}")
        if content:
            events.append(TextDelta(content))
        for position, fragment in enumerate((delta or {}).get("tool_calls") or ()):
            _add_fragment(tools, position, fragment)
        reason = choice.get("finish_reason")
        if reason is not None:
            events.append(Finish(_FINISH_REASONS.get(str(reason), "stop")))
    usage = chunk.get("usage")
    if usage is not None:
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        events.append(
            UsageReport(Usage(int(usage["prompt_tokens"]), int(usage["completion_tokens"]), cached))
        )
    return events


def _add_fragment(tools: ToolCallAssembler, position: int, fragment: dict[str, Any]) -> None:
    """One ``delta.tool_calls`` entry (servers without ``index`` send whole calls)."""
    index = fragment.get("index", position)
    function = fragment.get("function") or {}
    arguments = function.get("arguments") or ""
    name = function.get("name")
    call_id = fragment.get("id")
    if not isinstance(index, int) or not isinstance(arguments, str):
        raise TypeError("a tool call fragment needs an integer index and string arguments")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"tool call name is {type(name).__name__}")
    if call_id is not None and not isinstance(call_id, str):
        raise TypeError(f"tool call id is {type(call_id).__name__}")
    tools.add(index, id=call_id, name=name, arguments=arguments)
