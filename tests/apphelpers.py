"""Helpers for tests that drive the real app over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource


@dataclass
class SSEEvent:
    event: str
    data: dict[str, Any]


def sse_events(response: httpx.Response) -> list[SSEEvent]:
    """The events of a (read or streamed) ``text/event-stream`` response, data as JSON."""
    return [SSEEvent(sse.event, sse.json()) for sse in EventSource(response).iter_sse() if sse.data]


def parse_sse(text: str) -> list[SSEEvent]:
    """The events of an event-stream body."""
    headers = {"content-type": "text/event-stream"}
    return sse_events(httpx.Response(200, headers=headers, text=text))


Running = Callable[..., AbstractContextManager[httpx.Client]]


def new_conversation(client: httpx.Client) -> str:
    resp = client.post("/api/conversations", json={})
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["id"]
    return cid


def send(client: httpx.Client, cid: str, content: str, **extra: Any) -> list[SSEEvent]:
    resp = client.post(f"/api/conversations/{cid}/messages", json={"content": content, **extra})
    assert resp.status_code == 200, resp.text
    return sse_events(resp)  # checks the content type


def text_of(events: list[SSEEvent]) -> str:
    return "".join(e.data["text"] for e in events if e.event == "delta")
