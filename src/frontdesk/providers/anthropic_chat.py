"""The Anthropic Messages API dialect, on the official ``anthropic`` SDK.

Streaming events handled: ``message_start`` (input and cache usage),
``content_block_delta`` / ``text_delta`` (text), ``message_delta`` (output usage,
``stop_reason``), ``message_stop`` (end), ``error`` (e.g. ``overloaded_error``
mid-stream). The SDK's own retries are off (``max_retries=0``): retrying is the
:mod:`~frontdesk.providers.retry` wrapper's job. The SDK is imported when the
first provider is built, not at import (it takes over a second to import).

Usage semantics: ``Usage.input_tokens`` is the whole prompt (Anthropic's
``input_tokens`` + cache reads + cache writes) and ``cached_tokens`` the cache
reads, the same shape as OpenAI's report, so pricing treats both alike.

Tool calling: ``ChatRequest.tools`` go out as ``tools`` (``input_schema``) with
``tool_choice`` (``auto``/``any``/``none``); an assistant turn's calls as
``tool_use`` blocks after its text; results as ``tool_result`` blocks at the start
of the next user message. Streamed ``tool_use`` blocks (``content_block_start``,
then ``input_json_delta`` fragments) are assembled per block and emitted as
:class:`~frontdesk.events.ToolCallRequested` before ``Finish("tool_calls")``
(``stop_reason: tool_use``).

``ChatRequest.temperature`` is not sent: the Messages API of SDK 2.x has no
sampling-temperature parameter any more (current Claude models fix it).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import (
    ContentFiltered,
    ProviderAuthFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.events import Finish, ProviderEvent, TextDelta, ToolCallRequested, UsageReport
from frontdesk.providers.base import Capabilities, ChatRequest, ToolChoice
from frontdesk.providers.calibrated import CalibratedTokenCounter
from frontdesk.providers.errors_map import error_from_status
from frontdesk.providers.report import reported
from frontdesk.providers.timeouts import Timeouts
from frontdesk.providers.tokens import EstimatingTokenCounter
from frontdesk.providers.toolcalls import ToolCallAssembler, arguments_json, parse_arguments
from frontdesk.providers.turns import Turn, decode_image, split_system

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

# Longest matching prefix wins. The published window of every Claude family is
# 200k tokens (larger beta windows: set ``context_length`` on the endpoint).
_MODELS: tuple[tuple[str, Capabilities], ...] = (
    ("claude-opus", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-sonnet", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-haiku", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-3-7-sonnet", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-3-5-sonnet", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-3-5-haiku", Capabilities(context_length=200_000, tools=True, vision=False)),
    ("claude-3-haiku", Capabilities(context_length=200_000, tools=True, vision=True)),
    ("claude-3-opus", Capabilities(context_length=200_000, tools=True, vision=True)),
)
_UNKNOWN = Capabilities(context_length=200_000, tools=True, vision=False)

# Error ``type`` of an in-stream ``error`` event (sent with HTTP 200) → HTTP status.
_ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}
_TOOL_CHOICE: dict[ToolChoice, str] = {"auto": "auto", "required": "any", "none": "none"}


def anthropic_capabilities(model: str) -> Capabilities:
    name = model.lower()
    for prefix, caps in sorted(_MODELS, key=lambda m: -len(m[0])):
        if name.startswith(prefix):
            return caps
    return _UNKNOWN


def _content(turn: Turn) -> str | list[dict[str, Any]]:
    """Text, or blocks: tool results, images (vision), the text, tool calls, in that order."""
    if not (turn.images or turn.tool_calls or turn.tool_results):
        return turn.text
    blocks: list[dict[str, Any]] = [
        {"type": "tool_result", "tool_use_id": r.call_id, "content": r.content}
        for r in turn.tool_results
    ]
    for url in turn.images:
        media_type, data = decode_image(url)
        encoded = base64.b64encode(data).decode("ascii")
        source = {"type": "base64", "media_type": media_type, "data": encoded}
        blocks.append({"type": "image", "source": source})
    if turn.text or turn.images:  # the API refuses empty text blocks
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.tool_calls:
        arguments = parse_arguments(call.arguments, provider="anthropic")
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def build_payload(model: str, request: ChatRequest) -> dict[str, Any]:
    system, turns = split_system(request.messages)
    if not turns:
        raise ProviderBadRequest("a request needs at least one user message", provider="anthropic")
    payload: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_output_tokens,
        "messages": [{"role": t.role, "content": _content(t)} for t in turns],
    }
    if system:
        payload["system"] = system
    if request.tools:
        payload["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            for t in request.tools
        ]
        payload["tool_choice"] = {"type": _TOOL_CHOICE[request.tool_choice]}
    stops = [s for s in request.stop if s.strip()]
    if stops:
        payload["stop_sequences"] = stops
    return payload


class AnthropicChatProvider:
    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        name: str = "anthropic",
        timeouts: Timeouts | None = None,
        context_length: int | None = None,
        tools: bool = True,
        client: AsyncAnthropic | None = None,
    ) -> None:
        self._name = name
        self._model = model
        caps = anthropic_capabilities(model)
        if context_length is not None:
            caps = dataclasses.replace(caps, context_length=context_length)
        if not tools:
            caps = dataclasses.replace(caps, tools=False)
        self._caps = caps
        self._tokens = CalibratedTokenCounter(EstimatingTokenCounter())
        self._has_key = bool(api_key)
        self._client = client or _make_client(api_key, base_url, timeouts or Timeouts())

    @classmethod
    def from_endpoint(cls, endpoint: EndpointConfig, *, api_key: str) -> AnthropicChatProvider:
        """Built from bot configuration; ``timeout_seconds`` is the total deadline."""
        return cls(
            model=endpoint.model,
            api_key=api_key,
            base_url=endpoint.base_url,
            name=endpoint.name,
            timeouts=Timeouts(total=endpoint.timeout_seconds),
            context_length=endpoint.context_length,
            tools=endpoint.tools,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def tokens(self) -> CalibratedTokenCounter:
        return self._tokens

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return reported(self.name, self.model, self._call(request))

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        payload = build_payload(self._model, request)
        sdk = _sdk()
        try:
            upstream = await self._client.messages.create(**payload, stream=True)
        except sdk.APIError as exc:
            raise self._map(exc) from exc
        try:
            _require_event_stream(upstream.response.headers, self._name)
            async for event in self._events(upstream, request.messages):
                yield event
        finally:
            await upstream.close()

    async def _events(
        self, upstream: Any, messages: Sequence[ChatMessage]
    ) -> AsyncIterator[ProviderEvent]:
        sdk = _sdk()
        state = _StreamState(self._name)
        try:
            async for event in upstream:
                text = state.feed(event)
                if text:
                    yield TextDelta(text)
        except sdk.APIError as exc:
            raise self._map(exc) from exc
        except _transport_errors() as exc:
            raise ProviderUnavailable(f"stream broke: {exc!r}", provider=self._name) from exc
        except (ValueError, AttributeError, TypeError) as exc:  # malformed JSON or event shape
            raise ProviderProtocolError(f"malformed event: {exc}", provider=self._name) from exc
        if not state.stopped:
            raise ProviderProtocolError("stream ended before message_stop", provider=self._name)
        usage = state.usage()
        self._tokens.reconcile(self._tokens.raw_estimate(messages), usage.input_tokens)
        if state.stop_reason == "refusal" and not state.saw_text:
            raise ContentFiltered("the model refused to answer", provider=self._name)
        finish = _FINISH.get(state.stop_reason or "", "stop")
        if state.stop_reason == "refusal":
            finish = "content_filter"
        elif finish == "tool_calls":
            calls = state.tools.calls()
            if not calls:
                raise ProviderProtocolError(
                    "stop_reason tool_use without a tool_use block", provider=self._name
                )
            for call in calls:
                yield ToolCallRequested(call)
        yield UsageReport(usage)
        yield Finish(finish)

    def _map(self, exc: Exception) -> ProviderError:
        sdk = _sdk()
        if isinstance(exc, sdk.APITimeoutError):
            return ProviderTimeout("request timed out", provider=self._name)
        if isinstance(exc, sdk.APIConnectionError):
            return ProviderUnavailable(f"cannot reach the API: {exc}", provider=self._name)
        if isinstance(exc, sdk.APIStatusError):
            message = exc.api_message or exc.message
            status = exc.status_code
            headers: Mapping[str, str] | None = exc.response.headers
            if status < 400:  # an ``error`` event inside a 200 stream
                status = _ERROR_TYPE_STATUS.get(str(exc.type or ""), 500)
                headers = None
            return error_from_status(status, message, provider=self._name, headers=headers)
        return ProviderProtocolError(f"unexpected SDK error: {exc}", provider=self._name)

    async def check(self) -> None:
        """No network (``/readyz`` polls often; the breaker shows live health)."""
        if not self._has_key:
            raise ProviderAuthFailed("no API key configured", provider=self._name)

    async def aclose(self) -> None:
        await self._client.close()


class _StreamState:
    """Folds the Messages API events of one answer."""

    def __init__(self, provider: str) -> None:
        self.input_tokens = 0
        self.cached_tokens = 0
        self.output_tokens = 0
        self.stop_reason: str | None = None
        self.stopped = False
        self.saw_text = False
        self.tools = ToolCallAssembler(provider, id_prefix="toolu")

    def feed(self, event: Any) -> str:
        kind = event.type
        if kind == "message_start":
            usage = event.message.usage
            cache_read = usage.cache_read_input_tokens or 0
            cache_write = usage.cache_creation_input_tokens or 0
            self.input_tokens = usage.input_tokens + cache_read + cache_write
            self.cached_tokens = cache_read
            self.output_tokens = usage.output_tokens or 0
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                start = arguments_json(block.input) if block.input else ""
                self.tools.add(event.index, id=block.id, name=block.name, arguments=start)
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta" and delta.text:
                self.saw_text = True
                return str(delta.text)
            if delta.type == "input_json_delta" and delta.partial_json:
                self.tools.add(event.index, arguments=str(delta.partial_json))
        elif kind == "message_delta":
            self.output_tokens = max(self.output_tokens, event.usage.output_tokens or 0)
            self.stop_reason = event.delta.stop_reason
        elif kind == "message_stop":
            self.stopped = True
        return ""

    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens, self.cached_tokens)


def _require_event_stream(headers: Mapping[str, str], provider: str) -> None:
    content_type = headers.get("content-type", "")
    if not content_type.lower().startswith("text/event-stream"):
        raise ProviderProtocolError(
            f"expected an event stream, got content type {content_type!r}", provider=provider
        )


def _sdk() -> Any:
    return importlib.import_module("anthropic")


def _transport_errors() -> tuple[type[Exception], ...]:
    httpx2 = importlib.import_module("httpx2")
    return (httpx2.TransportError, httpx2.StreamError)


def _make_client(api_key: str, base_url: str | None, timeouts: Timeouts) -> AsyncAnthropic:
    sdk = _sdk()
    read = max(timeouts.first_token, timeouts.idle)  # also bounds the wait for the headers
    timeout = sdk.Timeout(timeouts.total, connect=timeouts.connect, read=read)
    client: AsyncAnthropic = sdk.AsyncAnthropic(
        api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
    )
    return client
