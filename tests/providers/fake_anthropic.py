"""A loopback server speaking the Anthropic Messages API (``POST /v1/messages``).

Streams the real SSE event sequence (message_start with usage, content_block_*,
ping, message_delta with output usage and stop_reason, message_stop) and answers
errors with Anthropic's JSON error body. Queue :class:`Reply` values with
:meth:`FakeAnthropic.push` to inject faults; without a queued reply it answers
``default_text``.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from tests.providers.fake_http import FakeHTTPServer, Reply, Request, json_reply, sse_frame

API_KEY = "sk-ant-test"
_PIECE = re.compile(r"\S+\s*|\s+")

STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def error_body(error_type: str, message: str) -> dict[str, object]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def error_reply(status: int, message: str = "", retry_after: str | None = None) -> Reply:
    error_type = STATUS_TYPES.get(status, "api_error")
    headers = {"request-id": "req_fake"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return json_reply(status, error_body(error_type, message or error_type), headers)


def stream_frames(
    text: str,
    *,
    model: str = "claude-haiku-4-5",
    input_tokens: int = 21,
    cache_read: int = 0,
    stop_reason: str = "end_turn",
    error_type: str | None = None,
) -> list[bytes]:
    """The SSE frames of one answer; with ``error_type`` an error event replaces the end."""
    pieces = _PIECE.findall(text)
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cache_read,
                "output_tokens": 1,
            },
        },
    }
    frames = [
        sse_frame(start, "message_start"),
        sse_frame(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
        sse_frame({"type": "ping"}, "ping"),
    ]
    for piece in pieces:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": piece},
        }
        frames.append(sse_frame(delta, "content_block_delta"))
    if error_type is not None:
        frames.append(sse_frame(error_body(error_type, error_type.replace("_", " ")), "error"))
        return frames
    frames += [
        sse_frame({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse_frame(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
            "message_delta",
        ),
        sse_frame({"type": "message_stop"}, "message_stop"),
    ]
    return frames


def tool_use_frames(
    calls: list[tuple[str, str, str]],
    *,
    text: str = "",
    model: str = "claude-haiku-4-5",
    input_tokens: int = 380,
    split: int = 7,
    stop_reason: str = "tool_use",
    error_type: str | None = None,
) -> list[bytes]:
    """The frames of an answer that calls tools: an optional text block, then one
    ``tool_use`` block per call (``(id, name, arguments)``) whose input streams as
    ``input_json_delta`` fragments of ``split`` characters; with ``error_type`` an
    error event follows the first fragment of the last call instead of the end."""
    frames = stream_frames(text, model=model, input_tokens=input_tokens, stop_reason=stop_reason)
    head, tail = frames[:1], frames[1:-3]  # message_start | text block | the end
    if not text:
        tail = []
    body: list[bytes] = []
    first = 1 if text else 0
    for offset, (call_id, name, arguments) in enumerate(calls):
        index = first + offset
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        body.append(
            sse_frame(
                {"type": "content_block_start", "index": index, "content_block": block},
                "content_block_start",
            )
        )
        pieces = [arguments[i : i + split] for i in range(0, len(arguments), split)]
        for n, piece in enumerate(pieces):
            delta = {"type": "input_json_delta", "partial_json": piece}
            body.append(
                sse_frame(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            )
            if error_type is not None and offset == len(calls) - 1 and n == 0:
                error = error_body(error_type, error_type.replace("_", " "))
                return [*head, *tail, *body, sse_frame(error, "error")]
        body.append(sse_frame({"type": "content_block_stop", "index": index}, "content_block_stop"))
    end = [
        sse_frame(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 9 * len(calls)},
            },
            "message_delta",
        ),
        sse_frame({"type": "message_stop"}, "message_stop"),
    ]
    return [*head, *tail, *body, *end]


def stream_reply(frames: list[bytes], **kwargs: object) -> Reply:
    return Reply(
        headers={"Content-Type": "text/event-stream", "request-id": "req_fake"},
        chunks=frames,
        **kwargs,  # type: ignore[arg-type]
    )


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def tool_problem(body: dict[str, Any]) -> str | None:
    """What the Messages API would refuse about tool blocks (400), if anything."""
    for tool in body.get("tools") or ():
        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            return "tools.0.input_schema: Field required"
    choice = body.get("tool_choice")
    if choice is not None and choice.get("type") not in ("auto", "any", "none", "tool"):
        return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    messages = body["messages"]
    uses = any(b.get("type") in ("tool_use", "tool_result") for m in messages for b in _blocks(m))
    if uses and not body.get("tools"):
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
    for i, message in enumerate(messages):
        for block in _blocks(message):
            if block.get("type") == "text" and not block.get("text"):
                return f"messages.{i}: text content blocks must be non-empty"
        ids = [b["id"] for b in _blocks(message) if b.get("type") == "tool_use"]
        if not ids:
            continue
        if message["role"] != "assistant":
            return f"messages.{i}: tool_use blocks belong to assistant messages"
        following = messages[i + 1] if i + 1 < len(messages) else None
        leading: list[str] = []
        for block in _blocks(following or {}):
            if block.get("type") != "tool_result":
                break
            leading.append(str(block.get("tool_use_id")))
        if sorted(leading) != sorted(ids):
            return (
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(ids)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
    return None


class FakeAnthropic(FakeHTTPServer):
    def __init__(self, default_text: str = "Hello from Claude.") -> None:
        super().__init__(self._answer)
        self.default_text = default_text
        self._queue: deque[Reply] = deque()

    def push(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def _answer(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/v1/messages":
            return error_reply(404, f"no route {request.method} {request.path}")
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        if key.removeprefix("Bearer ") != API_KEY:
            return error_reply(401, "invalid x-api-key")
        if self._queue:
            return self._queue.popleft()
        body = request.json()
        if not body.get("stream"):
            return error_reply(400, "this fake only streams")
        problem = tool_problem(body)
        if problem is not None:
            return error_reply(400, problem)
        return stream_reply(stream_frames(self.default_text, model=body["model"]))
