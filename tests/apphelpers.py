"""Helpers for tests that drive the real app over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SSEEvent:
    event: str
    data: dict[str, Any]


def parse_sse(text: str) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for block in text.split("\n\n"):
        name, data = "message", None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if data is not None:
            events.append(SSEEvent(name, json.loads(data)))
    return events


Running = Callable[..., AbstractContextManager[httpx.Client]]


def new_conversation(client: httpx.Client) -> str:
    resp = client.post("/api/conversations", json={})
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["id"]
    return cid


def send(client: httpx.Client, cid: str, content: str, **extra: Any) -> list[SSEEvent]:
    resp = client.post(f"/api/conversations/{cid}/messages", json={"content": content, **extra})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    return parse_sse(resp.text)


def text_of(events: list[SSEEvent]) -> str:
    return "".join(e.data["text"] for e in events if e.event == "delta")
