"""A loopback server speaking the Gemini API's ``streamGenerateContent?alt=sse``.

Each SSE ``data:`` frame is a ``GenerateContentResponse`` (candidates with text
parts, ``finishReason`` on the last, ``usageMetadata``); errors are Google's JSON
error body (``{"error": {"code", "message", "status", "details"}}``). Queue
:class:`Reply` values with :meth:`FakeGemini.push` to inject faults.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from tests.providers.fake_http import FakeHTTPServer, Reply, Request, json_reply, sse_frame

API_KEY = "gemini-test-key"
_PIECE = re.compile(r"\S+\s*|\s+")
_ROUTE = re.compile(r"^/(?P<version>v1\w*)/models/(?P<model>[^:/]+):streamGenerateContent$")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_payload(status: int, message: str = "", retry_delay: str | None = None) -> dict[str, Any]:
    details: list[dict[str, str]] = []
    if retry_delay is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    name = STATUS_NAMES.get(status, "UNKNOWN")
    return {
        "error": {
            "code": status,
            "message": message or name.lower(),
            "status": name,
            "details": details,
        }
    }


def error_reply(
    status: int, message: str = "", retry_delay: str | None = None, retry_after: str | None = None
) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return json_reply(status, error_payload(status, message, retry_delay), headers)


def usage(prompt: int, output: int, cached: int = 0) -> dict[str, int]:
    meta = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output,
    }
    if cached:
        meta["cachedContentTokenCount"] = cached
    return meta


def stream_frames(
    text: str,
    *,
    model: str = "gemini-2.5-flash",
    prompt_tokens: int = 17,
    cached: int = 0,
    finish_reason: str = "STOP",
) -> list[bytes]:
    pieces = _PIECE.findall(text)
    frames: list[bytes] = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": piece}], "role": "model"},
            "index": 0,
        }
        if last:
            candidate["finishReason"] = finish_reason
        frames.append(
            sse_frame(
                {
                    "candidates": [candidate],
                    "usageMetadata": usage(prompt_tokens, i + 1, cached),
                    "modelVersion": model,
                    "responseId": "resp-fake",
                }
            )
        )
    if not pieces:
        frames.append(
            sse_frame(
                {
                    "candidates": [{"finishReason": finish_reason, "index": 0}],
                    "usageMetadata": usage(prompt_tokens, 0, cached),
                    "modelVersion": model,
                }
            )
        )
    return frames


def function_call_frames(
    calls: list[tuple[str, dict[str, Any]]],
    *,
    text: str = "",
    model: str = "gemini-2.5-flash",
    prompt_tokens: int = 120,
    signature: str | None = None,
    finish_reason: str | None = "STOP",
) -> list[bytes]:
    """Frames of an answer that calls functions (``(name, args)``): optional text
    frames, then one frame per call (parallel calls in separate frames, as the
    API streams them), the first call's part carrying ``signature`` (base64) as its
    ``thoughtSignature``; ``finishReason`` and usage on the last frame (without
    ``finish_reason`` the stream just stops)."""
    frames = [
        sse_frame(
            {
                "candidates": [{"content": {"parts": [{"text": p}], "role": "model"}, "index": 0}],
                "usageMetadata": usage(prompt_tokens, i + 1),
                "modelVersion": model,
            }
        )
        for i, p in enumerate(_PIECE.findall(text))
    ]
    for i, (name, args) in enumerate(calls):
        part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
        if i == 0 and signature is not None:
            part["thoughtSignature"] = signature
        candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
        if i == len(calls) - 1 and finish_reason is not None:
            candidate["finishReason"] = finish_reason
        frames.append(
            sse_frame(
                {
                    "candidates": [candidate],
                    "usageMetadata": usage(prompt_tokens, 10 * (i + 1)),
                    "modelVersion": model,
                    "responseId": "resp-fake",
                }
            )
        )
    return frames


def blocked_prompt_frames(reason: str = "SAFETY") -> list[bytes]:
    return [sse_frame({"promptFeedback": {"blockReason": reason}, "usageMetadata": usage(9, 0)})]


def stream_reply(frames: list[bytes], **kwargs: object) -> Reply:
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=frames, **kwargs)  # type: ignore[arg-type]


def tool_problem(body: dict[str, Any], model: str) -> str | None:
    """What the Gemini API would refuse about function calling (400), if anything; a
    ``gemini-3`` model also wants the first call of each model turn to carry its
    ``thoughtSignature`` back."""
    for tool in body.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or ():
            if not declaration.get("name"):
                return "* GenerateContentRequest.tools[0].function_declarations[0].name: required"
            # proto JSON takes either spelling (the SDK sends parameters_json_schema)
            schema = {"parametersJsonSchema", "parameters_json_schema"} & set(declaration)
            if "parameters" in declaration and schema:
                return "parameters and parametersJsonSchema are mutually exclusive"
            if schema and not isinstance(declaration[schema.pop()], dict):
                return "parametersJsonSchema must be a JSON schema object"
    contents = body.get("contents") or []
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        calls = [p for p in parts if "functionCall" in p]
        if not calls:
            continue
        if content.get("role") != "model":
            return f"contents[{i}]: functionCall parts belong to model turns"
        if model.startswith("gemini-3") and "thoughtSignature" not in calls[0]:
            name = calls[0]["functionCall"].get("name")
            return (
                f"Function call `{name}` in the {i + 1}. content block is missing a "
                "`thought_signature`."
            )
        following = contents[i + 1] if i + 1 < len(contents) else {}
        responses = [p for p in following.get("parts") or [] if "functionResponse" in p]
        if [p["functionResponse"].get("name") for p in responses] != [
            p["functionCall"].get("name") for p in calls
        ]:
            return (
                "Please ensure that the number of function response parts is equal to the "
                "number of function call parts of the function call turn."
            )
        for response in responses:
            if not isinstance(response["functionResponse"].get("response"), dict):
                return "functionResponse.response must be an object"
    return None


class FakeGemini(FakeHTTPServer):
    def __init__(self, default_text: str = "Hello from Gemini.") -> None:
        super().__init__(self._answer)
        self.default_text = default_text
        self._queue: deque[Reply] = deque()

    def push(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def _answer(self, request: Request) -> Reply:
        route = _ROUTE.match(request.path)
        if request.method != "POST" or route is None or request.query.get("alt") != ["sse"]:
            return error_reply(404, f"no route {request.method} {request.path}")
        if request.headers.get("x-goog-api-key") != API_KEY:
            return error_reply(400, "API key not valid. Please pass a valid API key.")
        problem = tool_problem(request.json(), route["model"])
        if problem is not None:
            return error_reply(400, problem)
        if self._queue:
            return self._queue.popleft()
        return stream_reply(stream_frames(self.default_text, model=route["model"]))
