"""A real hand-off seen from the customer's page: the escalation services (wired by
``tests.escalation.app_setup`` until app.py wires them) push the queue place, the agent's
claim and replies over ``/api/conversations/{id}/events`` into the open chat."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, expect

from frontdesk.auth.cli import create_key
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.escalation.app_setup import build_app
from tests.servers import serve
from tests.web.conftest import ChatPage, open_chat
from tests.web.helpers import ANSWERS, send, wait_idle, wait_ready

pytestmark = pytest.mark.browser

T = TypeVar("T")
BOT_ANSWER = "Our assistant answer."


def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` (it uses asyncio.run) off the thread that sync Playwright occupies."""
    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


@dataclass
class Desk:
    chat: ChatPage
    client: httpx.Client
    auth: dict[str, str]

    def agent(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"json": body} if method == "POST" else {}
        response = self.client.request(method, "/api/agent" + path, headers=self.auth, **kwargs)
        assert response.status_code in (200, 201), response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture
def desk(browser: Browser, settings: Settings) -> Iterator[Desk]:
    from frontdesk.memory.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    in_thread(lambda: upgrade(url))
    key = in_thread(lambda: create_key(url, role="agent", name="alice")).token
    provider = ScriptedProvider.from_texts([BOT_ANSWER])
    fast = settings.model_copy(update={"heartbeat_seconds": 0.5})
    with serve(build_app(fast, provider)) as base, httpx.Client(base_url=base) as client:
        for chat in open_chat(browser, base, viewport={"width": 1100, "height": 820}):
            yield Desk(chat, client, {"Authorization": f"Bearer {key}"})


def test_customer_sees_queue_claim_and_agent_reply_live(desk: Desk, artifacts: Path) -> None:
    page = desk.chat.page
    page.goto(desk.chat.base_url + "/static/index.html")  # the page as shipped, unrendered
    wait_ready(page)
    send(page, "I want to talk to a person")
    wait_idle(page, 0)
    expect(page.locator(".fd-system--handoff")).to_contain_text("ticket")
    expect(page.locator(".fd-msg--user .fd-note")).to_be_visible()  # the hand-off notice
    expect(page.locator(ANSWERS)).to_have_count(0)  # no empty bot bubble
    subtitle = page.locator("#fd-subtitle")
    expect(subtitle).to_have_text("You're next in the queue")

    ticket = desk.agent("GET", "/queue")["tickets"][0]["id"]
    desk.agent("POST", f"/tickets/{ticket}/claim")
    expect(subtitle).to_have_text("You're chatting with alice")
    desk.agent("POST", f"/tickets/{ticket}/reply", content="Hi, I'm **Alice**. <i>Hello</i>")
    agent = page.locator(".fd-msg--agent")
    expect(agent.locator(".fd-msg-label")).to_have_text("alice · Support")
    expect(agent.locator(".fd-content strong")).to_have_text("Alice")
    expect(agent.locator(".fd-content")).to_contain_text("<i>Hello</i>")
    page.screenshot(path=str(artifacts / "chat-live-agent.png"))

    send(page, "Thanks Alice, my invoice shows the wrong VAT number.")
    wait_idle(page, 0)
    expect(page.locator(ANSWERS)).to_have_count(0)  # held for the agent, not answered by the bot

    desk.agent("POST", f"/tickets/{ticket}/hand-back")
    expect(subtitle).to_have_text("AI assistant · replies instantly")
    send(page, "One more question for the bot")
    answer = wait_idle(page, 1)
    expect(answer.locator(".fd-content")).to_have_text(BOT_ANSWER)

    page.reload()
    wait_ready(page)
    expect(page.locator(".fd-msg--agent .fd-content strong")).to_have_text("Alice")
    expect(page.locator(".fd-msg--user")).to_have_count(3)
    assert desk.chat.problems.errors == []
