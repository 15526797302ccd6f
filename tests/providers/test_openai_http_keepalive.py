"""The thin OpenAI client reuses its connection after a whole stream (so the gateway pays
no TCP connect per request) and drops it when the stream is closed early (which cancels
the upstream call). A keep-alive server (uvicorn) records the client port of each call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any

from frontdesk.providers.openai_http import OpenAIHTTP
from tests.servers import serve

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class StreamingUpstream:
    """Raw ASGI: every POST streams four chunks, a finish, usage and ``[DONE]``."""

    def __init__(self) -> None:
        self.ports: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            await send({"type": "lifespan.startup.complete"})
            assert (await receive())["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        self.ports.append(scope["client"][1])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for text in ("one ", "two ", "three ", "four"):
            await send({"type": "http.response.body", "body": _frame(text), "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": _frame(None, "stop"), "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def _frame(text: str | None, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def test_a_finished_stream_keeps_the_connection_and_an_early_close_drops_it() -> None:
    upstream = StreamingUpstream()

    async def calls(base_url: str) -> list[str]:
        client = OpenAIHTTP(provider="p", api_key="k", base_url=base_url, timeout=10)
        texts = []
        try:
            for _ in range(3):  # whole streams
                chunks = [c async for c in client.stream_chat(PAYLOAD)]
                texts.append("".join(c["choices"][0]["delta"].get("content", "") for c in chunks))
            async with aclosing(client.stream_chat(PAYLOAD)) as stream:
                await anext(stream)  # then one closed after its first chunk
            await anext(aiter(client.stream_chat(PAYLOAD)))  # and one more call
        finally:
            await client.aclose()
        return texts

    with serve(upstream) as url:
        texts = asyncio.run(calls(url + "/v1"))
    assert texts == ["one two three four"] * 3
    first, second, third, closed_early, after = upstream.ports
    assert first == second == third == closed_early  # one connection, reused
    assert after != closed_early  # the early close did not hand back a half-read connection
