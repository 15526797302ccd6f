"""A fast fake OpenAI-compatible upstream for gateway benchmarks.

Raw ASGI (no framework) under uvicorn with uvloop + httptools, HTTP/1.1 keep-alive.
``POST /v1/chat/completions`` answers a fixed short reply, as one JSON document or as
an SSE stream (role chunk, content chunks, finish chunk, usage chunk when asked,
``[DONE]``). No artificial delay: it must not be the bottleneck.

    .venv/bin/python -m benchmarks.upstream --port 18001
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ANSWER_PARTS = ("Our support team ", "is available ", "around the clock, ", "every day.")
ANSWER = "".join(ANSWER_PARTS)
PROMPT_TOKENS = 12
COMPLETION_TOKENS = 10
USAGE = {
    "prompt_tokens": PROMPT_TOKENS,
    "completion_tokens": COMPLETION_TOKENS,
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
}
JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def _completion(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": USAGE,
        },
        separators=(",", ":"),
    ).encode()


def _stream_frames(model: str, include_usage: bool) -> list[bytes]:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time())}

    def frame(payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps({**head, "model": model, **payload}).encode() + b"\n\n"

    def choice(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    frames = [frame(choice({"role": "assistant", "content": ""}, None))]
    frames += [frame(choice({"content": part}, None)) for part in ANSWER_PARTS]
    frames.append(frame(choice({}, "stop")))
    if include_usage:
        frames.append(frame({"choices": [], "usage": USAGE}))
    frames.append(b"data: [DONE]\n\n")
    return frames


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if scope["method"] == "POST" and path.endswith("/chat/completions"):
        body = json.loads(await _read_body(receive) or b"{}")
        model = str(body.get("model", "gpt-4o-mini"))
        if not body.get("stream"):
            await _send(send, 200, JSON_HEADERS, _completion(model))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for frame in _stream_frames(model, include_usage):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await _read_body(receive)
    if path.endswith("/models"):
        models = {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}
        await _send(send, 200, JSON_HEADERS, json.dumps(models).encode())
    elif path == "/health":
        await _send(send, 200, JSON_HEADERS, b'{"status":"ok"}')
    else:
        await _send(send, 404, JSON_HEADERS, b'{"error":{"message":"not found"}}')


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18001)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
