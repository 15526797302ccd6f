"""The agent console in Debian's chromium against the real services (wired by
tests.escalation.app_setup until the lead wires app.py): a customer asks for a
person, the agent signs in, claims, replies (the reply reaches the customer's
live stream), writes a note and hands the conversation back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from frontdesk.auth.cli import create_key
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send
from tests.escalation.app_setup import build_app
from tests.escalation.sse_reader import SSEReader
from tests.servers import serve
from tests.web.conftest import PageProblems

pytestmark = pytest.mark.browser

T = TypeVar("T")
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">I want to talk to a person'


def _in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which uses asyncio.run) off the thread where sync Playwright runs its loop."""
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
class Console:
    page: Page
    base: str
    client: httpx.Client
    key: str
    problems: PageProblems


@pytest.fixture
def console(browser: Browser, settings: Settings) -> Iterator[Console]:
    from frontdesk.memory.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    _in_thread(lambda: upgrade(url))
    key = _in_thread(lambda: create_key(url, role="agent", name="alice")).token
    provider = ScriptedProvider.from_texts(["Our assistant answer."])
    with (
        serve(build_app(settings.model_copy(update={"heartbeat_seconds": 0.5}), provider)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        ctx = browser.new_context(viewport={"width": 1280, "height": 820})
        ctx.set_default_timeout(10_000)
        page = ctx.new_page()
        problems = PageProblems()
        page.on("console", problems.on_console)
        page.on("pageerror", problems.on_page_error)
        try:
            yield Console(page, base, client, key, problems)
        finally:
            ctx.close()


def _sign_in(c: Console) -> None:
    c.page.goto(c.base + "/agent")
    c.page.locator("#ac-key").fill(c.key)
    c.page.get_by_role("button", name="Sign in").click()
    expect(c.page.locator("#ac-agent-name")).to_have_text("alice · agent")


def test_agent_claims_replies_live_and_hands_back(console: Console, artifacts: Path) -> None:
    c = console
    cid = new_conversation(c.client)
    assert [e.event for e in send(c.client, cid, "How do I export?")][-1] == "done"
    events = send(c.client, cid, HOSTILE)
    assert [e.event for e in events] == ["start", "escalated", "notice", "done"]

    _sign_in(c)
    item = c.page.locator(".ac-ticket-item").first
    expect(item).to_contain_text("Customer asked for a person")
    expect(item).to_contain_text("#1 in queue")
    c.page.screenshot(path=str(artifacts / "agent-console-queue.png"))
    item.click()
    transcript = c.page.locator("#ac-transcript")
    expect(transcript.locator(".ac-msg--user").nth(1)).to_contain_text('<img src=x onerror="')
    assert transcript.locator("img").count() == 0
    expect(c.page.locator("#ac-reply")).to_be_disabled()

    with SSEReader(c.base, f"/api/conversations/{cid}/events") as live:
        assert live.next("status")["status"] == "waiting_for_agent"
        c.page.get_by_role("button", name="Claim").click()
        expect(c.page.locator("#ac-ticket-meta")).to_contain_text("agent: alice")
        assert live.next("status")["agent"] == "alice"

        c.page.locator("#ac-reply").fill("Hi, I'm Alice from support. I can help with that.")
        c.page.get_by_role("button", name="Send").click()
        pushed = live.next("message")
        assert (pushed["role"], pushed["author"]) == ("agent", "alice")
        assert pushed["content"] == "Hi, I'm Alice from support. I can help with that."
        expect(transcript.locator(".ac-msg--agent")).to_contain_text("I can help with that")

        send(c.client, cid, "Thanks Alice, my invoice shows the wrong VAT number.")
        expect(transcript.locator(".ac-msg--user").last).to_contain_text("wrong VAT number")

        c.page.locator("#ac-note").fill("VAT number fix requested; forward to billing.")
        c.page.get_by_role("button", name="Add note").click()
        expect(c.page.locator("#ac-notes")).to_contain_text("forward to billing")
        details = c.page.locator("details.ac-turn")
        expect(details).to_have_count(1)  # the bot's answer, with its sources and verdicts
        details.locator("summary").click()
        expect(details).to_contain_text("verdict injection · allow")
        c.page.screenshot(path=str(artifacts / "agent-console-claimed.png"), full_page=True)

        c.page.get_by_role("button", name="Hand back to bot").click()
        assert live.next("status")["status"] == "bot"
        expect(c.page.locator("#ac-ticket-meta")).to_contain_text("status: handed back")
    expect(c.page.locator("#ac-queue-empty")).to_be_visible()
    c.page.screenshot(path=str(artifacts / "agent-console-handed-back.png"))

    after = send(c.client, cid, "Is there anything else I should do?")
    assert [e.event for e in after][:2] == ["start", "delta"]
    assert c.page.evaluate("() => document.body.dataset.pwned") is None
    assert c.problems.errors == []


def test_a_wrong_key_is_refused_and_the_key_stays_in_the_tab(console: Console) -> None:
    c = console
    c.page.goto(c.base + "/agent")
    c.page.locator("#ac-key").fill("fd_wrong")
    c.page.get_by_role("button", name="Sign in").click()
    expect(c.page.locator("#ac-login-error")).to_contain_text("invalid or revoked API key")
    _sign_in(c)
    stored = c.page.evaluate("() => sessionStorage.getItem('frontdesk:agent-key')")
    assert stored == c.key
    assert c.page.evaluate("() => localStorage.length") == 0
    c.page.reload()
    expect(c.page.locator("#ac-agent-name")).to_have_text("alice · agent")
    c.page.get_by_role("button", name="Sign out").click()
    expect(c.page.locator("#ac-login-form")).to_be_visible()
    c.problems.errors = [e for e in c.problems.errors if "401" not in e]
    assert c.problems.errors == []
