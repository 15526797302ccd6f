"""The thin HTTP/1.1 client under ``OpenAIHTTP.stream_chat`` against raw loopback servers:
body framings (chunked, length, close-delimited, gzip), SSE line endings split across
reads, keep-alive reuse and its refusals, 429 with Retry-After, timeouts and cut streams."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from frontdesk.errors import ProviderRateLimited, ProviderTimeout, ProviderUnavailable
from frontdesk.providers import openai_h1
from frontdesk.providers.openai_http import OpenAIHTTP

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[int, list[bytes]]]:
    heads: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await handler(reader, writer)

    srv = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield port, heads
    finally:
        srv.close()
        for writer in writers:
            writer.close()
        await srv.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def frames(*texts: str) -> bytes:
    out = b""
    for text in texts:
        chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        out += b"data: " + json.dumps(chunk).encode() + b"\n\n"
    return out + b"data: [DONE]\n\n"


def client(port: int, timeout: float = 5.0) -> OpenAIHTTP:
    return OpenAIHTTP(
        provider="p", api_key="k", base_url=f"http://127.0.0.1:{port}/v1", timeout=timeout
    )


def text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


async def collect(http: OpenAIHTTP) -> list[dict[str, Any]]:
    return [c async for c in http.stream_chat(PAYLOAD, {"Idempotency-Key": "idem-1"})]


SSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"


async def test_the_request_on_the_wire_and_keep_alive_across_framings() -> None:
    """Length-delimited, chunked (pieces split mid-line, CRLF split across reads) and
    gzip bodies on one kept-alive connection."""
    seen: list[tuple[bytes, bytes]] = []
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        body = frames("one ", "two")
        seen.append(await read_request(reader))
        writer.write(SSE + b"content-length: %d\r\n\r\n" % len(body) + body)
        seen.append(await read_request(reader))
        crlf = body.replace(b"\n", b"\r\n")
        writer.write(SSE + b"transfer-encoding: chunked\r\n\r\n")
        for piece in (crlf[:7], crlf[7:41], crlf[41:42], crlf[42:]):  # "\r" | "\n" split too
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        seen.append(await read_request(reader))
        packed = gzip.compress(body)
        writer.write(SSE + b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(packed))
        writer.write(packed)
        await writer.drain()
        await reader.read()  # until the client closes

    async with server(handler) as (port, _):
        http = client(port)
        try:
            results = [text(await collect(http)) for _ in range(3)]
        finally:
            await http.aclose()
    assert results == ["one two"] * 3
    assert connections == 1
    head, body = seen[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    lines = {
        k.lower(): v.strip()
        for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
    }
    assert lines[b"host"] == b"127.0.0.1:%d" % port
    assert lines[b"authorization"] == b"Bearer k"
    assert lines[b"content-type"] == b"application/json"
    assert lines[b"idempotency-key"] == b"idem-1"
    assert int(lines[b"content-length"]) == len(body)
    assert json.loads(body) == PAYLOAD


async def test_a_close_delimited_body_ends_with_the_connection_and_is_not_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
        writer.write(frames("a", "b")[:-2] + b"\r")  # last event without its blank line
        await writer.drain()
        writer.close()

    async with server(handler) as (port, _):
        http = client(port)
        try:
            assert text(await collect(http)) == "ab"
            assert text(await collect(http)) == "ab"
        finally:
            await http.aclose()
    assert connections == 2


async def test_429_retry_after_and_the_connection_is_kept() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        error = json.dumps({"error": {"message": "slow down", "code": "rate_limit_exceeded"}})
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
            b"retry-after: 7\r\ncontent-length: %d\r\n\r\n%s" % (len(error), error.encode())
        )
        await read_request(reader)
        body = frames("ok")
        writer.write(SSE + b"content-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        await reader.read()

    async with server(handler) as (port, _):
        http = client(port)
        try:
            with pytest.raises(ProviderRateLimited) as caught:
                await collect(http)
            assert caught.value.retry_after == 7
            assert "rate_limit_exceeded: slow down" in str(caught.value)
            assert text(await collect(http)) == "ok"
        finally:
            await http.aclose()
    assert connections == 1


async def test_timeouts_before_and_during_the_stream() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # never answers

    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE + b"transfer-encoding: chunked\r\n\r\n")
        first = frames("x")[:40]
        writer.write(b"%x\r\n%s\r\n" % (len(first), first))
        await writer.drain()
        await reader.read()

    for handler, message in ((silent, "request timed out"), (stalls, "stream timed out")):
        async with server(handler) as (port, _):
            http = client(port, timeout=0.3)
            try:
                with pytest.raises(ProviderTimeout, match=message):
                    await collect(http)
            finally:
                await http.aclose()


async def test_a_cut_stream_and_a_refused_connection_are_unavailable() -> None:
    async def cuts(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        body = frames("one", "two")
        writer.write(SSE + b"content-length: %d\r\n\r\n" % len(body) + body[:30])
        await writer.drain()
        writer.close()

    got: list[dict[str, Any]] = []

    async def read(http: OpenAIHTTP) -> None:
        async for chunk in http.stream_chat(PAYLOAD):
            got.append(chunk)

    async with server(cuts) as (port, _):
        http = client(port)
        try:
            with pytest.raises(ProviderUnavailable, match="stream broke"):
                await read(http)
        finally:
            await http.aclose()
    assert got == []  # the first event was not complete when the connection went
    http = client(port)  # the server is gone: nothing listens there now
    try:
        with pytest.raises(ProviderUnavailable, match="connection failed"):
            await collect(http)
    finally:
        await http.aclose()


async def test_a_proxy_from_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    http = client(1)
    try:
        assert http._h1 is None
    finally:
        await http.aclose()
    monkeypatch.delenv("HTTP_PROXY")
    http = client(1)
    try:
        assert http._h1 is not None
    finally:
        await http.aclose()


async def test_an_idle_connection_past_its_expiry_is_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(openai_h1, "KEEPALIVE_EXPIRY", 0.05)
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            body = frames("ok")
            writer.write(SSE + b"content-length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()

    async with server(handler) as (port, _):
        http = client(port)
        try:
            assert text(await collect(http)) == "ok"
            assert text(await collect(http)) == "ok"  # at once: the same connection
            await asyncio.sleep(0.1)
            assert text(await collect(http)) == "ok"  # after the expiry: a new one
        finally:
            await http.aclose()
    assert connections == 2
