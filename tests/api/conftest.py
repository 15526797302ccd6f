from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.config import BotConfig
from frontdesk.providers.base import ChatProvider
from frontdesk.settings import Settings
from tests.conftest import make_bot
from tests.servers import serve


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


@pytest.fixture
def running(migrated: Settings) -> Running:
    """Start the real app on a loopback port with the given provider and bot."""

    @contextmanager
    def start(
        provider: ChatProvider, bot: BotConfig | None = None, **overrides: Any
    ) -> Iterator[httpx.Client]:
        settings = migrated.model_copy(update=overrides)
        app = create_app(settings, bot=bot or make_bot(), provider=provider)
        with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client

    return start


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
