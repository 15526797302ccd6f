"""The Gemini API dialect, on the official ``google-genai`` SDK.

``client.aio.models.generate_content_stream`` posts to
``/{api_version}/models/{model}:streamGenerateContent?alt=sse``; each SSE frame is
a ``GenerateContentResponse``. The system prompt goes in ``system_instruction``;
usage comes from ``usageMetadata`` (``promptTokenCount`` includes
``cachedContentTokenCount``; thinking tokens are billed as output). A
``finishReason`` of SAFETY (or another filter reason) or a blocked prompt becomes
:class:`~frontdesk.errors.ContentFiltered` before any text, and
``Finish("content_filter")`` after text was shown. The SDK's retries stay off
(no ``retry_options``); it is imported when the first provider is built.

Tool calling: ``ChatRequest.tools`` go out as one ``function_declarations`` tool
(``parameters_json_schema``) with ``function_calling_config`` mode
``AUTO``/``ANY``/``NONE``; an assistant turn's calls as ``function_call`` parts,
results as ``function_response`` parts (``{"output": text}``) of the next user
turn. Streamed ``functionCall`` parts arrive whole; they are emitted as
:class:`~frontdesk.events.ToolCallRequested` before ``Finish("tool_calls")``.
Gemini calls carry no id (or one only sometimes), so the call id is the API's or
a made-up ``gemini_...`` one, and carries the part's ``thoughtSignature``
(Gemini 3 refuses a history whose function calls lost theirs) after
:data:`SIGNATURE_MARK`; the adapter splits it off again when the history goes out.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from frontdesk.config import EndpointConfig
from frontdesk.domain import ChatMessage, ToolCall, Usage
from frontdesk.errors import (
    ContentFiltered,
    ContextTooLong,
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
from frontdesk.providers.toolcalls import arguments_json, parse_arguments
from frontdesk.providers.turns import Turn, decode_image, split_system

if TYPE_CHECKING:
    from google.genai import Client

_MODELS: tuple[tuple[str, Capabilities], ...] = (
    ("gemini-1.5-pro", Capabilities(2_097_152, tools=True, vision=True, audio=True)),
    ("gemini-1.5-flash", Capabilities(1_048_576, tools=True, vision=True, audio=True)),
    ("gemini-2.0-flash", Capabilities(1_048_576, tools=True, vision=True, audio=True)),
    ("gemini-2.5-pro", Capabilities(1_048_576, tools=True, vision=True, audio=True)),
    ("gemini-2.5-flash", Capabilities(1_048_576, tools=True, vision=True, audio=True)),
    ("gemini-3", Capabilities(1_048_576, tools=True, vision=True, audio=True)),
)
_UNKNOWN = Capabilities(context_length=131_072, tools=True, vision=False)

_FILTER_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_BAD_CALL_REASONS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"})
"""The model tried to call a function and failed: a retry may do better."""
_MODES: dict[ToolChoice, str] = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
GENERATED_ID_PREFIX = "gemini_"
SIGNATURE_MARK = "~sig~"
"""Separates a call id from the base64url thought signature it carries."""
_CONTEXT = re.compile(r"input token count.*exceeds|exceeds the maximum number of tokens", re.I)
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def gemini_capabilities(model: str) -> Capabilities:
    name = model.lower().removeprefix("models/")
    for prefix, caps in sorted(_MODELS, key=lambda m: -len(m[0])):
        if name.startswith(prefix):
            return caps
    return _UNKNOWN


def call_id(api_id: str | None, signature: bytes | None) -> str:
    """Our id of a Gemini call: the API's id (or a new one), with its thought signature."""
    base = api_id or GENERATED_ID_PREFIX + uuid.uuid4().hex[:16]
    if not signature:
        return base
    return base + SIGNATURE_MARK + base64.urlsafe_b64encode(signature).decode("ascii")


def split_call_id(value: str) -> tuple[str | None, bytes | None]:
    """The API's id (``None`` for a made-up one) and the thought signature of a call id."""
    base, _, encoded = value.partition(SIGNATURE_MARK)
    signature: bytes | None = None
    if encoded:
        try:
            signature = base64.urlsafe_b64decode(encoded)
        except (binascii.Error, ValueError):
            signature = None  # not ours: send the call without one
    api_id = None if base.startswith(GENERATED_ID_PREFIX) else base
    return api_id, signature


def _function_call(call: ToolCall) -> dict[str, Any]:
    api_id, signature = split_call_id(call.id)
    function: dict[str, Any] = {
        "name": call.name,
        "args": parse_arguments(call.arguments, provider="gemini"),
    }
    if api_id:
        function["id"] = api_id
    part: dict[str, Any] = {"function_call": function}
    if signature:
        part["thought_signature"] = signature
    return part


def _parts(turn: Turn) -> list[dict[str, Any]]:
    """Function responses, the turn's images as inline data (vision), the text, then
    function calls."""
    parts: list[dict[str, Any]] = []
    for result in turn.tool_results:
        api_id, _ = split_call_id(result.call_id)
        response: dict[str, Any] = {"name": result.name, "response": {"output": result.content}}
        if api_id:
            response["id"] = api_id
        parts.append({"function_response": response})
    images = [decode_image(url) for url in turn.images]
    parts += [{"inline_data": {"mime_type": mt, "data": data}} for mt, data in images]
    if turn.text or (not parts and not turn.tool_calls):
        parts.append({"text": turn.text})
    parts += [_function_call(call) for call in turn.tool_calls]
    return parts


def build_contents(request: ChatRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``contents`` and ``config`` for ``generate_content_stream``."""
    system, turns = split_system(request.messages)
    if not turns:
        raise ProviderBadRequest("a request needs at least one user message", provider="gemini")
    contents = [
        {"role": "model" if t.role == "assistant" else "user", "parts": _parts(t)} for t in turns
    ]
    config: dict[str, Any] = {
        "temperature": request.temperature,
        "max_output_tokens": request.max_output_tokens,
        "candidate_count": 1,
    }
    if system:
        config["system_instruction"] = system
    if request.tools:
        declarations = [
            {
                "name": t.name,
                "description": t.description,
                "parameters_json_schema": dict(t.parameters),
            }
            for t in request.tools
        ]
        config["tools"] = [{"function_declarations": declarations}]
        mode = _MODES[request.tool_choice]
        config["tool_config"] = {"function_calling_config": {"mode": mode}}
        config["automatic_function_calling"] = {"disable": True}
    if request.stop:
        config["stop_sequences"] = list(request.stop)
    return contents, config


class GeminiChatProvider:
    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        api_version: str = "v1beta",
        name: str = "gemini",
        timeouts: Timeouts | None = None,
        context_length: int | None = None,
        tools: bool = True,
        client: Client | None = None,
    ) -> None:
        self._name = name
        self._model = model
        caps = gemini_capabilities(model)
        if context_length is not None:
            caps = dataclasses.replace(caps, context_length=context_length)
        if not tools:
            caps = dataclasses.replace(caps, tools=False)
        self._caps = caps
        self._tokens = CalibratedTokenCounter(EstimatingTokenCounter())
        self._has_key = bool(api_key)
        self._client = client or _make_client(
            api_key, base_url, api_version, timeouts or Timeouts()
        )

    @classmethod
    def from_endpoint(cls, endpoint: EndpointConfig, *, api_key: str) -> GeminiChatProvider:
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
        contents, config = build_contents(request)
        errors = _sdk_errors()
        try:
            upstream: Any = await self._client.aio.models.generate_content_stream(
                model=self._model,
                contents=cast(Any, contents),  # plain dicts of the wire format
                config=config,  # type: ignore[arg-type]
            )
        except errors.APIError as exc:
            raise self._map(exc) from exc
        except _transport_errors() as exc:
            raise self._map_transport(exc) from exc
        try:
            async for event in self._events(upstream, request.messages):
                yield event
        finally:
            await upstream.aclose()

    async def _events(
        self, upstream: Any, messages: Sequence[ChatMessage]
    ) -> AsyncIterator[ProviderEvent]:
        errors = _sdk_errors()
        state = _StreamState(self._name)
        try:
            async for chunk in upstream:
                text = state.feed(chunk)
                if text:
                    yield TextDelta(text)
        except errors.APIError as exc:
            raise self._map(exc) from exc
        except _transport_errors() as exc:
            raise self._map_transport(exc) from exc
        except (ValueError, AttributeError, TypeError) as exc:  # includes UnknownApiResponseError
            raise ProviderProtocolError(f"malformed chunk: {exc}", provider=self._name) from exc
        if state.finish_reason is None:
            raise ProviderProtocolError("stream ended without a finishReason", provider=self._name)
        usage = state.usage()
        self._tokens.reconcile(self._tokens.raw_estimate(messages), usage.input_tokens)
        if state.finish_reason in _BAD_CALL_REASONS:
            raise ProviderProtocolError(
                f"the model's function call failed (finishReason {state.finish_reason})",
                provider=self._name,
            )
        filtered = state.finish_reason in _FILTER_REASONS
        if filtered and not state.saw_text:
            raise ContentFiltered(
                f"answer blocked (finishReason {state.finish_reason})", provider=self._name
            )
        finish = "content_filter" if filtered else _FINISH.get(state.finish_reason, "stop")
        if finish == "stop" and state.calls:
            for call in state.calls:
                yield ToolCallRequested(call)
            finish = "tool_calls"
        yield UsageReport(usage)
        yield Finish(finish)

    def _map(self, exc: Any) -> ProviderError:
        status = int(exc.code or 500)
        message = str(exc.message or exc)
        response = getattr(exc, "response", None)
        headers: Mapping[str, str] | None = getattr(response, "headers", None)
        if status == 400 and "api key not valid" in message.lower():
            return ProviderAuthFailed(message, provider=self._name, status=status)
        if status == 400 and _CONTEXT.search(message):
            return ContextTooLong(message, provider=self._name, status=status)
        error = error_from_status(status, message, provider=self._name, headers=headers)
        if error.retry_after is None:
            error.retry_after = _retry_delay(exc.details)
        return error

    def _map_transport(self, exc: Exception) -> ProviderError:
        if "Timeout" in type(exc).__name__:
            return ProviderTimeout(f"request timed out: {exc!r}", provider=self._name)
        return ProviderUnavailable(f"cannot reach the API: {exc!r}", provider=self._name)

    async def check(self) -> None:
        """No network (``/readyz`` polls often; the breaker shows live health)."""
        if not self._has_key:
            raise ProviderAuthFailed("no API key configured", provider=self._name)

    async def aclose(self) -> None:
        await self._client.aio.aclose()


class _StreamState:
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.cached_tokens = 0
        self.finish_reason: str | None = None
        self.saw_text = False
        self.calls: list[ToolCall] = []

    def feed(self, chunk: Any) -> str:
        meta = chunk.usage_metadata
        if meta is not None:
            self.prompt_tokens = meta.prompt_token_count or self.prompt_tokens
            output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
            self.output_tokens = max(self.output_tokens, output)
            self.cached_tokens = meta.cached_content_token_count or self.cached_tokens
        feedback = chunk.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            reason = _enum_name(feedback.block_reason)
            raise ContentFiltered(f"prompt blocked ({reason})", provider=self.provider)
        if not chunk.candidates:
            return ""
        candidate = chunk.candidates[0]
        if candidate.finish_reason is not None:
            self.finish_reason = _enum_name(candidate.finish_reason)
        parts = candidate.content.parts if candidate.content is not None else None
        for part in parts or ():
            call = part.function_call
            if call is not None:
                if not call.name:
                    raise ProviderProtocolError(
                        "a functionCall has no name", provider=self.provider
                    )
                arguments = arguments_json(call.args)
                self.calls.append(
                    ToolCall(call_id(call.id, part.thought_signature), call.name, arguments)
                )
        text = "".join(p.text for p in parts or () if p.text and not p.thought)
        if text:
            self.saw_text = True
        return text

    def usage(self) -> Usage:
        return Usage(self.prompt_tokens, self.output_tokens, self.cached_tokens)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _retry_delay(details: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "7s"``)."""
    if not isinstance(details, dict):
        return None
    entries = details.get("error", {}).get("details", [])
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and str(entry.get("@type", "")).endswith("RetryInfo"):
            match = _DELAY.match(str(entry.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _sdk_errors() -> Any:
    return importlib.import_module("google.genai.errors")


def _transport_errors() -> tuple[type[Exception], ...]:
    httpx2 = importlib.import_module("httpx2")
    return (httpx2.TransportError, httpx2.StreamError)


def _make_client(
    api_key: str, base_url: str | None, api_version: str, timeouts: Timeouts
) -> Client:
    genai = importlib.import_module("google.genai")
    read = max(timeouts.first_token, timeouts.idle)
    options: dict[str, Any] = {"api_version": api_version, "timeout": int(read * 1000)}
    if base_url is not None:
        options["base_url"] = base_url
    # the SDK refuses an empty key at construction; ``check()`` reports it instead
    client: Client = genai.Client(api_key=api_key or "unset", http_options=options)
    return client
