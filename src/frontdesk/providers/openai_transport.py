"""A native-asyncio network backend for httpcore, under the OpenAI wire client's pool.

httpcore's default backend goes through anyio: every read and write opens a cancel
scope, and every request asks each pooled keep-alive connection whether it is readable
(``has_expired``) through anyio's typed attributes and a ``select`` on its socket; on
the gateway path that was about a tenth of a request's CPU. This backend is an
:class:`asyncio.Protocol` with a buffer: reads wait on one future (with a timer for the
timeout), writes respect the transport's flow control, and a connection is "readable"
(closed or sent something unasked) when the loop has told the protocol so.

Only the network layer changes: HTTP/1.1 framing, the pool, TLS settings and the errors
stay httpx's and httpcore's (this backend raises httpcore's ``Connect*``, ``Read*`` and
``Write*`` errors, which httpx maps as before). Proxied requests (``HTTPS_PROXY`` ...)
keep httpx's own transports.
"""

# ruff: noqa: ASYNC109 (httpcore's stream and backend interface takes timeout arguments)
from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore
import httpx

from frontdesk.providers.flow_control import FlowControlled

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
_HIGH_WATER = 256 * 1024
"""Buffered bytes past which the socket is not read until the client catches up."""


class _Protocol(FlowControlled):
    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.transport: asyncio.Transport | None = None
        self._paused_reading = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._paused_reading = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self._release_writer()

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._paused_reading and len(self.buffer) <= _HIGH_WATER // 2:
            self._paused_reading = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
        return data

    async def wait(self, future: asyncio.Future[None], seconds: float | None, error: type) -> None:
        """Wait for ``future``; ``error`` (an httpcore timeout) after ``seconds``."""
        if seconds is None:
            await future
            return
        loop = asyncio.get_running_loop()
        timer = loop.call_later(seconds, _expire, future, error)
        try:
            await future
        finally:
            timer.cancel()

    async def readable(self, seconds: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self.wait(self._waiter, seconds, httpcore.ReadTimeout)
        finally:
            self._waiter = None


def _expire(future: asyncio.Future[None], error: type) -> None:
    if not future.done():
        future.set_exception(error("timed out"))


class NativeStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            await protocol.readable(timeout)
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or repr(protocol.error))
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if self._transport.is_closing() or protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error or "the connection is closed"))
        self._transport.write(buffer)
        drained = protocol._drained
        if drained is not None:
            await protocol.wait(drained, timeout, httpcore.WriteTimeout)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                self._transport,
                self._protocol,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:
            raise httpcore.ConnectError("the TLS handshake did not complete")
        self._protocol.transport = transport
        return NativeStream(self._protocol.transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle keep-alive connection the server closed or wrote to
            return bool(self._protocol.buffer) or self._protocol.eof
        if self._transport.is_closing():  # asyncio's TLS transport raises once closed
            return None
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class NativeBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        _set_options(transport, socket_options)
        return NativeStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connecting to {path} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        _set_options(transport, socket_options)
        return NativeStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(transport: asyncio.BaseTransport, options: Iterable[SocketOption] | None) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for option in options or ():
        sock.setsockopt(*option)


def use_native_backend(client: httpx.AsyncClient) -> bool:
    """Put the client's direct (unproxied) connections on :class:`NativeBackend`; False
    when this httpx does not have the pool where this expects it (then nothing changes)."""
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool or not hasattr(pool, "_network_backend"):
        return False
    pool._network_backend = NativeBackend()
    return True
