"""A thin client for the OpenAI chat-completions wire format on ``httpx``.

It does what the hot path needs and nothing else: POST ``/chat/completions`` with
``stream: true``, parse the server-sent events into plain dicts (no per-chunk
pydantic models, no per-request option transforms), ``GET /models`` for
readiness. Every failure is raised as one of our
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
from collections.abc import AsyncGenerator, Mapping
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

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def stream_chat(
        self, payload: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``chat.completion.chunk`` objects of one streamed completion.

        The body is read to its end after ``[DONE]`` (the server closes it there), so the
        connection goes back to the pool; closing the generator early closes the
        connection instead, which cancels the upstream call."""
        request = self._client.build_request(
            "POST", "/chat/completions", content=_dumps(payload), headers=_json_headers(headers)
        )
        response = await self._send(request)
        try:
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise ProviderProtocolError(
                    f"expected an event stream, got content-type {content_type!r}",
                    provider=self._provider,
                    status=response.status_code,
                )
            done = False
            async for data in self._events(response):
                if done:
                    continue  # nothing may follow [DONE]; reading to the end keeps the connection
                if data.startswith("[DONE]"):
                    done = True
                    continue
                chunk = self._decode(data)
                if chunk.get("error"):
                    fallback = "error event in the stream"
                    raise ProviderUnavailable(
                        error_message(chunk["error"], fallback), provider=self._provider
                    )
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
            raise self._status_error(response, body)
        return response

    def _status_error(self, response: httpx.Response, body: bytes) -> ProviderError:
        fallback = f"HTTP {response.status_code}"
        try:
            parsed: object = json.loads(body) if body else None
        except ValueError:
            parsed = None
        message = error_message(parsed, body.decode("utf-8", "replace")[:500] or fallback)
        if response.status_code == 400 and "content_filter" in message:
            return ContentFiltered(message, provider=self._provider, status=400)
        return error_from_status(
            response.status_code, message, provider=self._provider, headers=response.headers
        )

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

    def _decode(self, data: str) -> dict[str, Any]:
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
        await self._client.aclose()


def _dumps(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(extra or {})}
