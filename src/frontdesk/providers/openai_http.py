"""A thin client for the OpenAI chat-completions wire format.

The streamed ``POST /chat/completions`` goes over :mod:`~frontdesk.providers.openai_h1`
(a kept-alive HTTP/1.1 pool with a prebuilt request head); ``GET /models``, endpoints
behind a proxy from the environment and base URLs with a query go through ``httpx``.

It does what the hot path needs and nothing else: POST ``/chat/completions`` with
``stream: true``, parse the server-sent events into plain dicts (no per-chunk
pydantic models, no per-request option transforms), ``GET /models`` for
readiness. A request without ``stream: true`` (a gateway client that asked for one
complete answer) gets one ``chat.completion`` JSON document, handed out as a single
chunk whose choices carry their ``message`` as the ``delta`` (a server that streams
anyway is read as a stream). Every failure is raised as one of our
:class:`~frontdesk.errors.ProviderError` subclasses, the same mapping the SDK
adapter had: HTTP status (with ``Retry-After``) via
:func:`~frontdesk.providers.errors_map.error_from_status`, timeouts as
:class:`~frontdesk.errors.ProviderTimeout`, connection failures as
:class:`~frontdesk.errors.ProviderUnavailable`, an ``error`` object inside the
stream as ``ProviderUnavailable``, anything that is not an event stream of JSON
objects as :class:`~frontdesk.errors.ProviderProtocolError`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any

import httpx

from frontdesk.errors import (
    ContentFiltered,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.providers.errors_map import error_from_status
from frontdesk.providers.openai_h1 import H1Error, H1Pool, H1Response, H1Timeout, request_head
from frontdesk.providers.openai_transport import use_native_backend

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def error_message(body: object, fallback: str) -> str:
    """``code: message`` from an OpenAI error body, so markers like
    ``context_length_exceeded`` survive into our error."""
    error = body.get("error", body) if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        message = str(error.get("message") or fallback)
        code = error.get("code") or error.get("type")
        return f"{code}: {message}" if code else message
    return fallback


class OpenAIHTTP:
    """One connection pool to one OpenAI-dialect endpoint."""

    def __init__(
        self, *, provider: str, api_key: str, base_url: str | None, timeout: float
    ) -> None:
        self._provider = provider
        self._client = httpx.AsyncClient(
            base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        use_native_backend(self._client)  # asyncio sockets, not anyio's layers
        self._h1, self._head = _thin_client(self._client, timeout)

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def stream_chat(
        self, payload: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``chat.completion.chunk`` objects of one streamed completion (or the one
        chunk of a complete one, when ``payload`` does not ask for a stream).

        The body is read to its end after ``[DONE]`` (the server closes it there), so the
        connection goes back to the pool; closing the generator early closes the
        connection instead, which cancels the upstream call."""
        if self._h1 is None:
            async for chunk in self._stream_httpx(payload, headers):
                yield chunk
            return
        body = _dumps(payload)
        head = self._head
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        try:
            response = await self._h1.send(head, body)
        except H1Timeout as exc:
            raise ProviderTimeout(f"request timed out: {exc!r}", provider=self._provider) from exc
        except H1Error as exc:
            raise ProviderUnavailable(
                f"connection failed: {exc!r}", provider=self._provider
            ) from exc
        try:
            if response.status >= 400:
                try:
                    error_body = await response.read()
                except H1Error:
                    error_body = b""
                raise self._status_error(response.status, response.headers, error_body)
            content_type = response.headers.get("content-type", "")
            if not payload.get("stream") and _is_json(content_type):
                yield self._whole(await self._h1_read(response))
                return
            self._expect_event_stream(response.status, content_type)
            # split, decoded and checked in this one generator, from the socket's pieces
            events = _EventSplitter()
            done = False  # nothing may follow [DONE]; reading to the end keeps the connection
            try:
                async for piece in response.pieces():
                    for data in events.feed(piece):
                        if not done:
                            parsed = self._event_chunk(data)
                            if parsed is None:
                                done = True
                            else:
                                yield parsed
            except H1Timeout as exc:
                raise ProviderTimeout(
                    f"stream timed out: {exc!r}", provider=self._provider
                ) from exc
            except H1Error as exc:
                raise ProviderUnavailable(
                    f"stream broke: {exc!r}", provider=self._provider
                ) from exc
            for data in events.end():
                if not done:
                    parsed = self._event_chunk(data)
                    if parsed is not None:
                        yield parsed
        finally:
            response.close()

    async def _chunks(
        self, status: int, content_type: str, events: AsyncGenerator[str, None]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The stream's JSON chunks up to ``[DONE]``, read to the end (the connection is
        kept); an ``error`` chunk raises."""
        self._expect_event_stream(status, content_type)
        done = False
        async with aclosing(events):
            async for data in events:
                if done:
                    continue  # nothing may follow [DONE]; reading to the end keeps the connection
                chunk = self._event_chunk(data)
                if chunk is None:
                    done = True
                else:
                    yield chunk

    def _expect_event_stream(self, status: int, content_type: str) -> None:
        if not content_type.startswith("text/event-stream"):
            raise ProviderProtocolError(
                f"expected an event stream, got content-type {content_type!r}",
                provider=self._provider,
                status=status,
            )

    def _event_chunk(self, data: str) -> dict[str, Any] | None:
        """The chunk an event's data holds; None for ``[DONE]``; an ``error`` chunk raises."""
        if data.startswith("[DONE]"):
            return None
        chunk = self._decode(data)
        if chunk.get("error"):
            fallback = "error event in the stream"
            raise ProviderUnavailable(
                error_message(chunk["error"], fallback), provider=self._provider
            )
        return chunk

    async def _h1_read(self, response: H1Response) -> bytes:
        try:
            return await response.read()
        except H1Timeout as exc:
            raise ProviderTimeout(f"response timed out: {exc!r}", provider=self._provider) from exc
        except H1Error as exc:
            raise ProviderUnavailable(f"response broke: {exc!r}", provider=self._provider) from exc

    def _whole(self, body: bytes) -> dict[str, Any]:
        """A ``chat.completion`` as the one chunk of its answer: each choice's ``message``
        becomes its ``delta`` (the chunk parser reads content and tool calls from there)."""
        completion = self._decode(body)
        if completion.get("error"):
            raise ProviderUnavailable(
                error_message(completion["error"], "error in the response"),
                provider=self._provider,
            )
        choices = completion.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and "delta" not in choice:
                    choice["delta"] = choice.pop("message", None)
        return completion

    async def _stream_httpx(
        self, payload: dict[str, Any], headers: Mapping[str, str] | None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """:meth:`stream_chat` through httpx: proxied endpoints and base URLs with a query."""
        request = self._client.build_request(
            "POST", "/chat/completions", content=_dumps(payload), headers=_json_headers(headers)
        )
        response = await self._send(request)
        try:
            content_type = response.headers.get("content-type", "")
            if not payload.get("stream") and _is_json(content_type):
                try:
                    body = await response.aread()
                except httpx.TimeoutException as exc:
                    raise ProviderTimeout(
                        f"response timed out: {exc!r}", provider=self._provider
                    ) from exc
                except httpx.HTTPError as exc:
                    raise ProviderUnavailable(
                        f"response broke: {exc!r}", provider=self._provider
                    ) from exc
                yield self._whole(body)
                return
            async with aclosing(
                self._chunks(response.status_code, content_type, self._events(response))
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            await response.aclose()

    async def get(self, path: str, *, deadline_seconds: float) -> Any:
        request = self._client.build_request("GET", path, timeout=httpx.Timeout(deadline_seconds))
        response = await self._send(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response.json()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"request timed out: {exc!r}", provider=self._provider) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"connection failed: {exc!r}", provider=self._provider
            ) from exc
        if response.status_code >= 400:
            try:
                body = await response.aread()
            except httpx.HTTPError:
                body = b""
            finally:
                await response.aclose()
            raise self._status_error(response.status_code, response.headers, body)
        return response

    def _status_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        fallback = f"HTTP {status}"
        try:
            parsed: object = json.loads(body) if body else None
        except ValueError:
            parsed = None
        message = error_message(parsed, body.decode("utf-8", "replace")[:500] or fallback)
        if status == 400 and "content_filter" in message:
            return ContentFiltered(message, provider=self._provider, status=400)
        return error_from_status(status, message, provider=self._provider, headers=headers)

    async def _events(self, response: httpx.Response) -> AsyncGenerator[str, None]:
        """The ``data`` of each server-sent event (multi-line data joined by newlines)."""
        data: list[str] = []
        try:
            async for line in response.aiter_lines():
                if not line:
                    if data:
                        yield "\n".join(data)
                        data = []
                elif line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                # comments (":"), event:, id: and retry: lines carry nothing we use
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"stream timed out: {exc!r}", provider=self._provider) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"stream broke: {exc!r}", provider=self._provider) from exc
        if data:
            yield "\n".join(data)

    def _decode(self, data: str | bytes) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderProtocolError(
                f"malformed stream chunk: {exc}", provider=self._provider
            ) from exc
        if not isinstance(chunk, dict):
            raise ProviderProtocolError(
                f"stream chunk is {type(chunk).__name__}, not an object", provider=self._provider
            )
        return chunk

    async def aclose(self) -> None:
        if self._h1 is not None:
            self._h1.aclose()
        await self._client.aclose()


class _EventSplitter:
    """The ``data`` of each server-sent event in a byte stream, split on ``\n``, ``\r\n``
    or ``\r`` as httpx's line decoder does; decoded as UTF-8 with replacement. A plain
    object fed piece by piece (not a generator layer per event)."""

    __slots__ = ("_data", "_rest")

    def __init__(self) -> None:
        self._data: list[bytes] = []
        self._rest = b""

    def feed(self, piece: bytes) -> list[str]:
        """The events that ``piece`` completes."""
        rest = self._rest + piece if self._rest else piece
        if b"\r" in rest:
            held = rest.endswith(b"\r")  # maybe the first half of \r\n
            if held:
                rest = rest[:-1]
            rest = rest.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                rest += b"\r"
        if b"\n" not in rest:
            self._rest = rest
            return []
        lines = rest.split(b"\n")
        self._rest = lines.pop()
        out: list[str] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    out.append(b"\n".join(data).decode("utf-8", "replace"))
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            # comments (":"), event:, id: and retry: lines carry nothing we use
        self._data = data
        return out

    def end(self) -> list[str]:
        """The last event when the body ended without its blank line."""
        line = self._rest.rstrip(b"\r")
        data = self._data
        if line.startswith(b"data:"):
            data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        self._rest, self._data = b"", []
        return [b"\n".join(data).decode("utf-8", "replace")] if data else []


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""One encoder (``json.dumps`` with options builds one per call)."""


def _dumps(payload: object) -> bytes:
    return _ENCODE(payload).encode()


def _json_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(extra or {})}


def _thin_client(client: httpx.AsyncClient, timeout: float) -> tuple[H1Pool | None, bytes]:
    """The :mod:`~frontdesk.providers.openai_h1` pool and the prebuilt head of
    ``POST {base}/chat/completions`` with the client's own default headers (so the wire
    request is the one httpx sent); (None, b"") when httpx must carry the request: a
    proxy from the environment applies, or the base URL has a query or another scheme."""
    url = client.base_url
    if url.scheme not in ("http", "https") or url.query:
        return None, b""
    proxies = urllib.request.getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(
        url.host
    ):
        return None, b""
    tls = httpx.create_ssl_context() if url.scheme == "https" else None
    port = url.port or (443 if url.scheme == "https" else 80)
    host_header = url.host if url.port is None else f"{url.host}:{url.port}"
    if ":" in url.host:  # an IPv6 literal
        host_header = f"[{url.host}]" + ("" if url.port is None else f":{url.port}")
    target = url.raw_path.decode("ascii") + "chat/completions"
    fixed = {k.title(): v for k, v in client.headers.items() if k.lower() != "host"}
    fixed["Content-Type"] = "application/json"
    head = request_head("POST", target, host_header, fixed)
    return H1Pool(host=url.host, port=port, tls=tls, timeout=timeout), head
