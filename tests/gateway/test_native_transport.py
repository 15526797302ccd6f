"""The native-asyncio network backend under the OpenAI wire client, against loopback
servers: keep-alive reuse, a connection the server closed while idle, timeouts, a refused
connect, TLS and a body larger than its read buffer."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import httpx
import pytest

from frontdesk.errors import ProviderTimeout, ProviderUnavailable
from frontdesk.providers.openai_http import OpenAIHTTP
from frontdesk.providers.openai_transport import NativeBackend, use_native_backend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await handler(reader, writer)

    srv = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=tls)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        srv.close()
        for writer in writers:  # a handler still waiting: its connection ends with the test
            writer.close()
        await srv.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return True


def _response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _client(port: int, timeout: float = 5.0, scheme: str = "http") -> OpenAIHTTP:
    return OpenAIHTTP(
        provider="p", api_key="k", base_url=f"{scheme}://127.0.0.1:{port}/v1", timeout=timeout
    )


async def test_reuses_a_connection_and_reconnects_when_the_server_closed_it() -> None:
    connections: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer.get_extra_info("peername")[1])
        served = 0
        while served < 2:  # two answers on a connection, then it is closed while idle
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(_response(b'{"data": [%d]}' % served))
            await writer.drain()
            served += 1
        writer.close()

    async with server(handler) as port:
        client = _client(port)
        try:
            answers = []
            for _ in range(4):
                answers.append(await client.get("/models", deadline_seconds=5))
                await asyncio.sleep(0.05)  # the close reaches the pool while it is idle
        finally:
            await client.aclose()
    assert answers == [{"data": [0]}, {"data": [1]}, {"data": [0]}, {"data": [1]}]
    assert len(connections) == 2


async def test_a_silent_server_times_out_and_a_closed_port_is_unavailable() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await reader.read()  # until the client hangs up

    async with server(silent) as port:
        client = _client(port, timeout=0.3)
        try:
            with pytest.raises(ProviderTimeout):
                async for _ in client.stream_chat({"model": "m"}):
                    pass
        finally:
            await client.aclose()
    client = _client(port)  # nothing listens there any more
    try:
        with pytest.raises(ProviderUnavailable):
            await client.get("/models", deadline_seconds=2)
    finally:
        await client.aclose()


async def test_a_server_that_hangs_up_mid_body_is_unavailable() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        frame = b'data: {"choices": []}\n\n'
        writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        await writer.drain()
        writer.close()

    async with server(cut) as port:
        client = _client(port)
        try:
            with pytest.raises(ProviderUnavailable):
                async for _ in client.stream_chat({"model": "m"}):
                    pass
        finally:
            await client.aclose()


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_and_a_body_larger_than_the_read_buffer(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    big = b'{"data": "' + b"x" * 3_000_000 + b'"}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(big))
        await writer.drain()
        writer.close()

    async with server(handler, tls) as port:
        client = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(cert)))
        assert use_native_backend(client)
        try:
            response = await client.get(f"https://127.0.0.1:{port}/v1/models")
            assert response.content == big
            stream = response.extensions["network_stream"]
            assert stream.get_extra_info("ssl_object") is None  # closed by the server
        finally:
            await client.aclose()
        untrusting = httpx.AsyncClient()  # the system's roots do not know this certificate
        assert use_native_backend(untrusting)
        try:
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(f"https://127.0.0.1:{port}/v1/models")
        finally:
            await untrusting.aclose()


def test_proxied_clients_keep_httpx_transports() -> None:
    proxied = httpx.AsyncClient(proxy="http://127.0.0.1:9")
    use_native_backend(proxied)  # the direct transport only; the proxy's is httpx's own
    for transport in proxied._mounts.values():
        pool = transport._pool  # type: ignore[union-attr]
        assert isinstance(pool, httpcore.AsyncHTTPProxy)
        assert not isinstance(pool._network_backend, NativeBackend)
    plain = httpx.AsyncClient()
    assert use_native_backend(plain)
    assert isinstance(plain._transport._pool._network_backend, NativeBackend)  # type: ignore[attr-defined]
