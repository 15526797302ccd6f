"""The OpenAI chat-completions wire format, in one place: completion bodies,
``chat.completion.chunk`` SSE frames, usage and the error shape.

JSON is written as UTF-8 (``ensure_ascii=False``), as OpenAI itself does: it is
valid JSON either way, but escaping every non-ASCII character as ``\\uXXXX``
makes non-English answers up to six times larger on the wire. SSE framing stays
safe because JSON always escapes control characters (``\\n``, ``\\r``) inside
strings, so a frame never contains a raw line break.

:class:`ChunkEncoder` pre-renders the fixed part of a stream's chunks (id,
created, model) once, so a text delta costs one ``json.dumps`` of the text.

Tool calls (gateway models): a streamed call is one chunk with its ``index``,
``id``, ``type``, name and whole ``arguments`` (the provider assembled them; a
client accumulating fragments by index reads one fragment); the finish reason is
``tool_calls`` only when calls were sent (:data:`TOOL_CALLS`), never for a bot
turn that merely ran actions server-side.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from frontdesk.domain import ToolCall, Usage
from frontdesk.errors import ValidationFailed

FINISH_REASONS = frozenset({"stop", "length", "content_filter"})
TOOL_CALLS = "tool_calls"
MEDIA_PARTS = frozenset({"image_url", "input_audio"})
"""Content parts that carry a file: images (``data:`` or https URLs) and audio (base64)."""
DONE = "data: [DONE]\n\n"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""``json.dumps`` with these options, without building an encoder per call (it does
whenever an option differs from the defaults)."""


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(reason: str, *, called: bool = False) -> str:
    """An OpenAI finish reason for one of ours (``cancelled``, ``blocked``...: ``stop``);
    ``tool_calls`` only when the answer ``called`` tools."""
    if called and reason == TOOL_CALLS:
        return TOOL_CALLS
    return reason if reason in FINISH_REASONS else "stop"


def tool_call_body(call: ToolCall) -> dict[str, Any]:
    """One call in a message's ``tool_calls``."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def usage_body(usage: Usage | None) -> dict[str, int]:
    u = usage or Usage()
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
    }


def error_body(message: str, code: str, *, type: str = "server_error") -> dict[str, Any]:
    """OpenAI's error object (the body of an error response, or an in-stream frame)."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def sse_data(payload: object) -> str:
    """One SSE ``data:`` frame of ``payload`` as compact UTF-8 JSON."""
    return "data: " + _dumps(payload) + "\n\n"


def completion_body(
    completion_id: str,
    model: str,
    text: str,
    finish: str,
    usage: Usage | None,
    *,
    created: int | None = None,
    tool_calls: Sequence[ToolCall] = (),
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` (``content`` is null when tools were called
    without text, as OpenAI sends it)."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["content"] = text or None
        message["tool_calls"] = [tool_call_body(c) for c in tool_calls]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason(finish, called=bool(tool_calls)),
                "logprobs": None,
            }
        ],
        "usage": usage_body(usage),
    }


class ChunkEncoder:
    """SSE frames of one streamed completion (``chat.completion.chunk``)."""

    def __init__(self, completion_id: str, model: str, *, created: int | None = None) -> None:
        self.completion_id = completion_id
        self.model = model
        self.created = int(time.time()) if created is None else created
        head = _dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": model,
            }
        )
        self._head = "data: " + head[:-1] + ',"choices":'
        self._text_open = self._head + '[{"index":0,"delta":{"content":'
        self._text_close = '},"finish_reason":null,"logprobs":null}]}\n\n'

    def _choice(self, delta: dict[str, Any], finish: str | None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return self._head + _dumps([choice]) + "}\n\n"

    def role(self) -> str:
        """The opening frame: the assistant role with empty content."""
        return self._choice({"role": "assistant", "content": ""}, None)

    def text(self, text: str) -> str:
        return self._text_open + _dumps(text) + self._text_close

    def tool_call(self, index: int, call: ToolCall) -> str:
        """One whole call as a ``delta.tool_calls`` fragment."""
        return self._choice({"tool_calls": [{"index": index, **tool_call_body(call)}]}, None)

    def finish(self, reason: str, *, called: bool = False) -> str:
        return self._choice({}, finish_reason(reason, called=called))

    def usage(self, usage: Usage | None) -> str:
        """The final usage frame (``stream_options.include_usage``): no choices."""
        return self._head + "[]," + '"usage":' + _dumps(usage_body(usage)) + "}\n\n"

    @staticmethod
    def error(message: str, code: str) -> str:
        """An error after the stream began (OpenAI reports it in-band)."""
        return sse_data(error_body(message, code))

    done = DONE


@dataclass(frozen=True, slots=True)
class MediaPart:
    """A file in a message's content parts: a URL (``data:`` or https) or base64 audio."""

    kind: Literal["image", "audio"]
    url: str = ""
    data: str = ""


def media_parts(content: str | list[dict[str, Any]] | None) -> list[MediaPart]:
    """The ``image_url`` and ``input_audio`` parts of a message, in order."""
    if not isinstance(content, list):
        return []
    found: list[MediaPart] = []
    for part in content:
        kind = part.get("type")
        if kind == "image_url":
            ref = part.get("image_url")
            url = ref.get("url") if isinstance(ref, dict) else ref
            if not isinstance(url, str) or not url:
                raise ValidationFailed("an image_url part needs image_url.url")
            found.append(MediaPart("image", url=url))
        elif kind == "input_audio":
            ref = part.get("input_audio")
            data = ref.get("data") if isinstance(ref, dict) else None
            if not isinstance(data, str) or not data:
                raise ValidationFailed("an input_audio part needs input_audio.data (base64)")
            found.append(MediaPart("audio", data=data))
    return found
