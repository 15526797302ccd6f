"""The OpenAI chat-completions dialect on the official ``openai`` SDK.

One class serves OpenAI itself and every server speaking the same API (vLLM,
Ollama, llama.cpp server, LiteLLM, Azure OpenAI's ``/openai/v1/`` endpoint):
the endpoint's ``base_url`` and key are configuration. The SDK's own retries
are off (``max_retries=0``) because our retry wrapper owns that policy. Every
SDK exception is translated here, once, into :mod:`frontdesk.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import openai
from openai import AsyncOpenAI

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import (
    ContentFiltered,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.events import Finish, ProviderEvent, TextDelta, UsageReport
from frontdesk.providers.base import Capabilities, ChatRequest, TokenCounter
from frontdesk.providers.errors_map import error_from_status
from frontdesk.providers.report import reported
from frontdesk.providers.tokens import counter_for

CHECK_TIMEOUT_SECONDS = 5.0
DEFAULT_CONTEXT_LENGTH = 8192
_FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter"}

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


def _error_message(body: object, fallback: str) -> str:
    """``code: message`` from an OpenAI error body, so markers like
    ``context_length_exceeded`` survive into our error."""
    error = body.get("error", body) if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        message = str(error.get("message") or fallback)
        code = error.get("code") or error.get("type")
        return f"{code}: {message}" if code else message
    return fallback


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
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url if base_url is not None else endpoint.base_url,
            timeout=endpoint.timeout_seconds,
            max_retries=0,
        )
        self._tokens = tokens or counter_for("openai", endpoint.model)
        context = endpoint.context_length or known_context_length(endpoint.model)
        self._capabilities = Capabilities(context_length=context or DEFAULT_CONTEXT_LENGTH)

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

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._endpoint.model,
            "messages": _wire_messages(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if is_reasoning_model(self._endpoint.model):
            params["max_completion_tokens"] = request.max_output_tokens
        else:
            params["max_tokens"] = request.max_output_tokens
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = list(request.stop)
        if request.idempotency_key:
            params["extra_headers"] = {"Idempotency-Key": request.idempotency_key}
        return params

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return reported(self.name, self.model, self._call(request))

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        try:
            upstream = await self._client.chat.completions.create(**self._params(request))
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        try:
            content_type = upstream.response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise ProviderProtocolError(
                    f"expected an event stream, got content-type {content_type!r}",
                    provider=self.name,
                    status=upstream.response.status_code,
                )
            async with aclosing(self._events(upstream)) as events:
                async for event in events:
                    yield event
        finally:
            await upstream.close()

    async def _events(self, upstream: AsyncIterator[Any]) -> AsyncGenerator[ProviderEvent, None]:
        finish: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in upstream:
                for event in self._parse_chunk(chunk):
                    if isinstance(event, Finish):
                        finish = event.reason
                    elif isinstance(event, UsageReport):
                        usage = event.usage
                    else:
                        yield event
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # json.JSONDecodeError from a malformed data line
            raise ProviderProtocolError(
                f"malformed stream chunk: {exc}", provider=self.name
            ) from exc
        if finish is None:
            raise ProviderProtocolError("stream ended without a finish reason", provider=self.name)
        if usage is not None:
            yield UsageReport(usage)
        yield Finish(finish)

    def _parse_chunk(self, chunk: Any) -> list[ProviderEvent]:
        """Events from one ``chat.completion.chunk``; anything off-shape is a protocol error."""
        try:
            return list(_chunk_events(chunk))
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            raise ProviderProtocolError(
                f"malformed stream chunk: {exc}", provider=self.name
            ) from exc

    def _translate(self, exc: openai.OpenAIError) -> ProviderError:
        provider = self.name
        if isinstance(exc, openai.APITimeoutError):
            return ProviderTimeout(f"request timed out: {exc}", provider=provider)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return ProviderUnavailable(f"connection failed: {cause!r}", provider=provider)
        if isinstance(exc, openai.APIStatusError):
            message = _error_message(exc.body, exc.message)
            if exc.status_code == 400 and "content_filter" in message:
                return ContentFiltered(message, provider=provider, status=400)
            return error_from_status(
                exc.status_code, message, provider=provider, headers=exc.response.headers
            )
        if isinstance(exc, openai.APIError):  # an error event inside the stream
            return ProviderUnavailable(_error_message(exc.body, exc.message), provider=provider)
        return ProviderError(f"openai client error: {exc}", provider=provider)

    async def check(self) -> None:
        """List models with a short timeout; raises a ProviderError when unusable."""
        try:
            await self._client.with_options(timeout=CHECK_TIMEOUT_SECONDS).models.list()
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc

    async def aclose(self) -> None:
        await self._client.close()


def _wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _chunk_events(chunk: Any) -> list[ProviderEvent]:
    events: list[ProviderEvent] = []
    choices = chunk.choices
    if not isinstance(choices, list):
        raise TypeError(f"choices is {type(choices).__name__}, not a list")
    for choice in choices:
        if choice.index != 0:
            continue
        content = choice.delta.content if choice.delta is not None else None
        if content is not None and not isinstance(content, str):
            raise TypeError(f"delta content is {type(content).__name__}")
        if content:
            events.append(TextDelta(content))
        if choice.finish_reason is not None:
            events.append(Finish(_FINISH_REASONS.get(str(choice.finish_reason), "stop")))
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0)
        events.append(
            UsageReport(Usage(int(usage.prompt_tokens), int(usage.completion_tokens), cached or 0))
        )
    return events
