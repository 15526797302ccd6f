"""A minimal HTTP/1.1 client for ``POST /chat/completions`` on kept-alive asyncio connections.

httpx's request building (URL merging, header models, the pool's request queue) and its
line decoder were about a fifth of a gateway request's CPU after the native backend. This
client does only what the streamed completion needs: a request head built once per
endpoint (the path, host, key and accept headers as bytes; per request only the length and
optional extra headers are appended), the response parsed by ``httptools`` (C; status,
headers, chunked or length-delimited or close-delimited bodies), and the body handed out as
raw byte pieces for the caller's SSE splitter. Connections go back to a LIFO idle list when
a response was read to its end and both sides allow keep-alive; anything else closes them.

Errors are plain exceptions the caller maps (:class:`H1Timeout` for a connect or read
timeout, :class:`H1Error` for a refused or broken connection or a malformed response), the
same split httpx's ``TimeoutException`` / ``HTTPError`` gave.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from typing import Any, cast

import httptools

from frontdesk.providers.flow_control import FlowControlled

_HIGH_WATER = 256 * 1024
"""Buffered body bytes past which the socket is not read until the reader catches up."""
_MAX_IDLE = 100
KEEPALIVE_EXPIRY = 5.0
"""Seconds an idle connection is kept (httpx's default): servers close idle ones too
(uvicorn after 5 s), and a request written just as the server closes would be lost."""


class H1Error(Exception):
    """The connection failed or the response could not be parsed."""


class H1Timeout(H1Error):
    """Connecting, writing or waiting for response bytes took longer than the timeout."""


class _Connection(FlowControlled):
    """One connection: a response parser fed by the loop and a queue of body pieces."""

    def __init__(self) -> None:
        super().__init__()
        self.transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        """The connection's loop, kept: each ``asyncio.get_running_loop()`` is a
        ``getpid`` system call (its fork check)."""
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.error: Exception | None = None
        self._reset()
        self._paused = False
        self.idle_since = 0.0

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_done = False
        self.reusable = False
        self.complete = False
        self.pieces: deque[bytes] = deque()
        self.buffered = 0
        self.in_response = False
        self.unexpected = False
        """Bytes (or a close) arrived while no request was out: not reusable."""

    # -- parser callbacks ------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key in self.headers:
            self.headers[key] += ", " + text
        else:
            self.headers[key] = text

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.reusable = bool(self.parser.should_keep_alive())  # reset once the body ends
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        self.complete = True

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        if not self.in_response:
            self.unexpected = True
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = H1Error("the server switched protocols")
        except httptools.HttpParserError as exc:
            self.error = H1Error(f"malformed response: {exc}")
        if self.error is not None and self.transport is not None:
            self.transport.close()
        elif self.buffered > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._end_of_stream()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_of_stream()
        if exc is not None and self.error is None and not self.complete:
            self.error = H1Error(str(exc) or repr(exc))
        self._release_writer()

    def _end_of_stream(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.in_response:
            self.unexpected = True
        elif self.headers_done and not self.complete and self._close_delimited():
            self.complete = True  # no length, not chunked: the body ends with the connection
        self._wake()

    def _close_delimited(self) -> bool:
        if "content-length" in self.headers:
            return False
        return "chunked" not in self.headers.get("transfer-encoding", "").lower()

    # -- used by the client ----------------------------------------------------------------
    def usable(self) -> bool:
        return not self.closed and not self.unexpected and self.error is None

    def reusable_now(self, now: float) -> bool:
        """An idle connection that has not expired and whose socket has nothing to read
        (a close or bytes the loop has not delivered yet), checked with a zero-timeout
        ``select`` as httpcore does."""
        if not self.usable() or now - self.idle_since > KEEPALIVE_EXPIRY:
            return False
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def begin(self) -> None:
        self._reset()
        self.parser = httptools.HttpResponseParser(self)
        self.in_response = True

    async def wait(self, timeout: float | None) -> None:  # noqa: ASYNC109 (a read timeout)
        """Until the loop has fed this connection something (or it ended)."""
        loop = self._loop or asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def drain(self, timeout: float | None) -> None:  # noqa: ASYNC109
        drained = self._drained
        if drained is None:
            return
        loop = self._loop or asyncio.get_running_loop()
        timer = loop.call_later(timeout, _expire, drained) if timeout is not None else None
        try:
            await drained
        finally:
            if timer is not None:
                timer.cancel()

    def take(self) -> bytes:
        piece = self.pieces.popleft()
        self.buffered -= len(piece)
        if self._paused and self.buffered <= _HIGH_WATER // 2 and self.transport is not None:
            self._paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        return piece

    def keep_alive(self) -> bool:
        return self.complete and self.reusable and self.usable() and not self.pieces

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(H1Timeout("timed out"))


class H1Response:
    """Status and headers of a response whose body is still on the connection."""

    def __init__(self, pool: H1Pool, conn: _Connection, timeout: float | None) -> None:
        self._pool = pool
        self._conn = conn
        self._timeout = timeout
        self.status = conn.status
        self.headers = conn.headers
        self._decoder = _decoder(conn.headers.get("content-encoding"))
        self._done = False

    async def pieces(self) -> AsyncGenerator[bytes, None]:
        """The body's bytes as they arrive (decompressed when the server compressed it)."""
        conn = self._conn
        decoder = self._decoder
        while True:
            while conn.pieces:
                piece = conn.take()
                yield decoder.decompress(piece) if decoder is not None else piece
            if conn.error is not None:
                raise conn.error
            if conn.complete:
                break
            if conn.closed:
                raise H1Error("the server closed the connection before the response ended")
            await conn.wait(self._timeout)
        if decoder is not None:
            tail = decoder.flush()
            if tail:
                yield tail
        self._done = True

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.pieces()])

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        conn, self._conn = self._conn, _CLOSED
        if conn is _CLOSED:
            return
        conn.in_response = False
        if self._done and conn.keep_alive():
            self._pool.release(conn)
        else:
            conn.close()


_CLOSED = _Connection()


def _decoder(encoding: str | None) -> Any:
    if not encoding or encoding.strip().lower() == "identity":
        return None
    value = encoding.strip().lower()
    if value in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if value == "deflate":
        return zlib.decompressobj()
    raise H1Error(f"unsupported content-encoding {encoding!r}")


class H1Pool:
    """Kept-alive connections to one ``http``/``https`` origin, newest idle first."""

    def __init__(
        self, *, host: str, port: int, tls: ssl.SSLContext | None, timeout: float | None
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        self._timeout = timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                transport, conn = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls is not None else None,
                )
        except TimeoutError as exc:
            raise H1Timeout(f"connecting to {self._host}:{self._port} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise H1Error(f"connecting to {self._host}:{self._port}: {exc}") from exc
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def release(self, conn: _Connection) -> None:
        if len(self._idle) >= _MAX_IDLE:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def send(self, head: bytes, body: bytes) -> H1Response:
        """Write one request on the newest usable idle connection (else a new one) and wait
        for its status and headers. Nothing is retried: a request that was written may
        have reached the server."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable_now(now):
                return await self._exchange(conn, head, body)
            conn.close()  # expired, or the server closed it (or wrote to it) while idle
        conn = await self._connect()
        return await self._exchange(conn, head, body)

    async def _exchange(self, conn: _Connection, head: bytes, body: bytes) -> H1Response:
        try:
            conn.begin()
            transport = conn.transport
            if transport is None or transport.is_closing():
                raise H1Error("the connection is closed")
            transport.write(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                transport.write(body)
            await conn.drain(self._timeout)
            while not conn.headers_done:
                if conn.error is not None:
                    raise conn.error
                if conn.closed:
                    raise H1Error("the server closed the connection without a response")
                await conn.wait(self._timeout)
        except BaseException:
            conn.close()
            raise
        return H1Response(self, conn, self._timeout)

    def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def request_head(method: str, target: str, host_header: str, headers: Mapping[str, str]) -> bytes:
    """``METHOD target HTTP/1.1`` and the fixed headers, without the final blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")
