"""A tiny HTTP/1.1 server on 127.0.0.1 for vendor fakes.

Each request is answered by a :class:`Reply` from a handler: status, headers and
body pieces written one by one (chunked encoding), with optional delays and an
abrupt cut (connection closed without the final chunk) to inject faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    first_delay: float = 0.0
    """Seconds before the status line is sent (slow first byte)."""
    chunk_delay: float = 0.0
    """Seconds before each body piece after the first (slow stream)."""
    cut_after: int | None = None
    """Close the connection after this many pieces, without ending the body."""


Handler = Callable[[Request], Reply]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


class FakeHTTPServer:
    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests: list[Request] = []

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._on_connection, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        if self._server is not None:
            self._server.close()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await _read_request(reader)
            if request is not None:
                self.requests.append(request)
                await _write_reply(reader, writer, self._handler(request))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    return Request(method, url.path, parse_qs(url.query), headers, body)


async def _sleep_unless_hung_up(reader: asyncio.StreamReader, seconds: float) -> None:
    """Wait ``seconds``, but stop at once when the client closes the connection
    (so a test can see that a timed-out call really cancelled its request)."""
    try:
        data = await asyncio.wait_for(reader.read(1), seconds)
    except TimeoutError:
        return
    if not data:
        raise ConnectionResetError("the client closed the connection")


async def _write_reply(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply
) -> None:
    if reply.first_delay:
        await _sleep_unless_hung_up(reader, reply.first_delay)
    reason = _REASONS.get(reply.status, "Status")
    head = [f"HTTP/1.1 {reply.status} {reason}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in reply.headers.items()]
    head.append("Transfer-Encoding: chunked")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    for i, piece in enumerate(reply.chunks):
        if reply.cut_after is not None and i >= reply.cut_after:
            return  # abrupt end: no terminating chunk
        if i and reply.chunk_delay:
            await asyncio.sleep(reply.chunk_delay)
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await writer.drain()
    if reply.cut_after is not None and reply.cut_after >= len(reply.chunks):
        return
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def json_reply(status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        chunks=[body],
    )


def sse_frame(data: object, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"{prefix}data: {text}\n\n".encode()
