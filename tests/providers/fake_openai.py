"""A loopback server speaking OpenAI's chat-completions API (``/v1/chat/completions``).

Streams the real wire format: ``data: {chat.completion.chunk}`` frames (a role
chunk, content chunks, a finish chunk), a usage chunk with empty ``choices``
when the request asks ``stream_options.include_usage``, then ``data: [DONE]``.
Errors use OpenAI's JSON error envelope. ``GET /v1/models`` lists the model.

Queue :class:`~tests.providers.fake_http.Reply` values with
:meth:`FakeOpenAI.push` to inject faults (helpers below: rate limits with
Retry-After, 5xx, 401, context_length_exceeded, slow first byte/token, a cut
stream, a malformed chunk, a wrong content type); without a queued reply it
answers ``default_text``. Usable from any test: ``async with FakeOpenAI() as fake``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from tests.providers.fake_http import FakeHTTPServer, Reply, Request, json_reply, sse_frame

API_KEY = "sk-test-openai"
MODEL = "gpt-4o-mini"
CREATED = 1_700_000_000
_PIECE = re.compile(r"\S+\s*|\s+")

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    error_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return {
        "error": {
            "message": message,
            "type": error_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def error_reply(
    status: int, message: str = "", *, code: str | None = None, retry_after: str | None = None
) -> Reply:
    headers = {"x-request-id": "req_fake"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return json_reply(status, error_body(status, message or f"fake error {status}", code), headers)


def rate_limited(retry_after: str = "7") -> Reply:
    return error_reply(
        429, "Rate limit reached for gpt-4o-mini on requests per min (RPM)", retry_after=retry_after
    )


def context_too_long() -> Reply:
    return error_reply(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130017 tokens. Please reduce the length of the messages.",
        code="context_length_exceeded",
    )


def _chunk(model: str, choices: list[dict[str, Any]], usage: object = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": choices,
        "usage": usage,
    }


def _delta(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return _chunk(model, [choice])


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def stream_frames(
    text: str,
    *,
    model: str = MODEL,
    include_usage: bool = True,
    finish_reason: str | None = "stop",
    prompt_tokens: int = 12,
    done: bool = True,
) -> list[bytes]:
    """The SSE frames OpenAI sends for ``text`` (one content chunk per word)."""
    pieces = _PIECE.findall(text)
    frames = [sse_frame(_delta(model, {"role": "assistant", "content": "", "refusal": None}))]
    frames += [sse_frame(_delta(model, {"content": p})) for p in pieces]
    if finish_reason is not None:
        frames.append(sse_frame(_delta(model, {}, finish_reason)))
    if include_usage:
        frames.append(sse_frame(_chunk(model, [], usage_body(prompt_tokens, len(pieces)))))
    if done:
        frames.append(sse_frame("[DONE]"))
    return frames


def pieces_of(text: str, size: int) -> list[str]:
    """``text`` in pieces of ``size`` characters (how vendors split tool arguments)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def tool_call_frames(
    calls: list[tuple[str, str, str]],
    *,
    text: str = "",
    model: str = MODEL,
    split: int = 7,
    prompt_tokens: int = 40,
    finish_reason: str | None = "tool_calls",
    done: bool = True,
) -> list[bytes]:
    """OpenAI's frames for an answer that calls tools: optional text, then each call
    (``(id, name, arguments)``) as a first fragment with id and name, its arguments in
    ``split``-character fragments, the ``tool_calls`` finish, usage, ``[DONE]``."""
    frames = [sse_frame(_delta(model, {"role": "assistant", "content": None, "refusal": None}))]
    frames += [sse_frame(_delta(model, {"content": p})) for p in _PIECE.findall(text)]
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        frames.append(sse_frame(_delta(model, {"tool_calls": [head]})))
        for piece in pieces_of(arguments, split):
            fragment = {"index": index, "function": {"arguments": piece}}
            frames.append(sse_frame(_delta(model, {"tool_calls": [fragment]})))
    if finish_reason is not None:
        frames.append(sse_frame(_delta(model, {}, finish_reason)))
        output = len(_PIECE.findall(text)) + sum(len(a) // 4 + 5 for _, _, a in calls)
        frames.append(sse_frame(_chunk(model, [], usage_body(prompt_tokens, output))))
    if done:
        frames.append(sse_frame("[DONE]"))
    return frames


def tool_call_reply(calls: list[tuple[str, str, str]], **kwargs: Any) -> Reply:
    cut_after = kwargs.pop("cut_after", None)
    return Reply(
        headers={"Content-Type": "text/event-stream; charset=utf-8"},
        chunks=tool_call_frames(calls, **kwargs),
        cut_after=cut_after,
    )


def stream_reply(text: str, **kwargs: Any) -> Reply:
    first_delay = float(kwargs.pop("first_delay", 0.0))
    chunk_delay = float(kwargs.pop("chunk_delay", 0.0))
    cut_after = kwargs.pop("cut_after", None)
    return Reply(
        headers={"Content-Type": "text/event-stream; charset=utf-8"},
        chunks=stream_frames(text, **kwargs),
        first_delay=first_delay,
        chunk_delay=chunk_delay,
        cut_after=cut_after,
    )


def malformed_stream(after: int = 2) -> Reply:
    """A valid stream whose frame number ``after`` is not JSON."""
    frames = stream_frames("one two three four")
    frames.insert(after, b'data: {"id": "chatcmpl-fake", "choices": [\n\n')
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames)


def wrong_shape_stream() -> Reply:
    """Valid JSON that is not a chunk (``choices`` is a string)."""
    frames = [sse_frame(_chunk(MODEL, "nope")), sse_frame("[DONE]")]  # type: ignore[arg-type]
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames)


def wrong_content_type() -> Reply:
    """What a misconfigured proxy answers: 200 with an HTML page."""
    page = b"<html><body>Welcome to nginx!</body></html>"
    return Reply(headers={"Content-Type": "text/html"}, chunks=[page])


class CountingFrames(list[bytes]):
    """Frames that remember how many the server actually pulled (to see a disconnect)."""

    pulled: int = 0

    def __iter__(self) -> Iterator[bytes]:
        for frame in super().__iter__():
            self.pulled += 1
            yield frame


class FakeOpenAI:
    """``async with FakeOpenAI() as fake: ... fake.base_url`` (ends in ``/v1``)."""

    def __init__(
        self,
        *,
        default_text: str = "Hello! How can I help you today?",
        model: str = MODEL,
        api_key: str | None = API_KEY,
    ) -> None:
        self.default_text = default_text
        self.model = model
        self.api_key = api_key
        self.replies: deque[Reply] = deque()
        self._server = FakeHTTPServer(self._handle)

    async def __aenter__(self) -> FakeOpenAI:
        await self._server.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.__aexit__(*exc)

    @property
    def base_url(self) -> str:
        return self._server.base_url + "/v1"

    @property
    def requests(self) -> list[Request]:
        return self._server.requests

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _handle(self, request: Request) -> Reply:
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return error_reply(401, "Incorrect API key provided: sk-wr***ng.")
        if self.replies and (
            self.replies[0].status != 200 or request.path.endswith("/chat/completions")
        ):
            return self.replies.popleft()
        if request.method == "GET" and request.path == "/v1/models":
            model = {"id": self.model, "object": "model", "created": CREATED, "owned_by": "fake"}
            return json_reply(200, {"object": "list", "data": [model]})
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._completion(request.json())
        return error_reply(404, f"Invalid URL ({request.method} {request.path})")

    def _completion(self, body: dict[str, Any]) -> Reply:
        problem = tool_problem(body)
        if problem is not None:
            return error_reply(400, problem)
        model = str(body.get("model", self.model))
        prompt_tokens = sum(len(str(m.get("content", "")).split()) + 3 for m in body["messages"])
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return stream_reply(
                self.default_text, model=model, include_usage=include, prompt_tokens=prompt_tokens
            )
        completion = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.default_text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage_body(prompt_tokens, len(_PIECE.findall(self.default_text))),
        }
        return json_reply(200, completion)


def tool_problem(body: dict[str, Any]) -> str | None:
    """What OpenAI would refuse about a request's tools and tool messages (400), if anything."""
    for tool in body.get("tools") or ():
        function = tool.get("function") or {}
        if tool.get("type") != "function" or not function.get("name"):
            return "Invalid 'tools': each tool needs type 'function' and function.name."
        if not isinstance(function.get("parameters", {}), dict):
            return "Invalid 'tools[].function.parameters': expected an object."
    if body.get("tool_choice") not in (None, "auto", "none", "required") and not isinstance(
        body.get("tool_choice"), dict
    ):
        return "Invalid 'tool_choice'."
    pending: set[str] = set()
    for message in body["messages"]:
        if message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'."
                )
            pending.discard(call_id)
            continue
        if pending:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id'. Missing: {sorted(pending)}"
            )
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            if call.get("type") != "function" or not isinstance(function.get("arguments"), str):
                return "Invalid 'tool_calls': type 'function' with string arguments expected."
            pending.add(call.get("id"))
    return None


def request_body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.body)
    return body
