"""Issue 13 in the browser: a signed-in customer's action, confirmed with the button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.actions.chatapp import ChatApp, chat_app, identity_env, migrated_settings
from tests.actions.northwind import Northwind, northwind
from tests.identity.keys import live_hs256
from tests.servers import free_port, serve
from tests.web.conftest import ChatPage, open_chat

pytestmark = pytest.mark.browser


@pytest.fixture
def company() -> Iterator[Northwind]:
    with northwind() as running:
        yield running


@pytest.fixture
def actions_chat(
    tmp_path: Path, company: Northwind, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ChatApp]:
    identity_env(monkeypatch, company.url)
    with chat_app(migrated_settings(tmp_path / "home"), company) as running:
        yield running


@pytest.fixture
def page(browser: Browser, actions_chat: ChatApp) -> Iterator[ChatPage]:
    yield from open_chat(
        browser, str(actions_chat.client.base_url), viewport={"width": 1000, "height": 800}
    )


def test_resend_my_last_invoice_with_the_button(
    page: ChatPage, company: Northwind, artifacts: Path
) -> None:
    p = page.page
    p.goto(f"{page.base_url}/#identity={live_hs256()}")
    expect(p.locator(".fd-msg--greeting")).to_be_visible()
    assert "identity=" not in p.url  # the token left the address bar at once
    p.fill("#fd-input", "resend my last invoice")
    p.press("#fd-input", "Enter")
    yes = p.locator(".fd-confirm-yes")
    expect(yes).to_be_visible()
    expect(p.locator("#fd-log")).to_contain_text("email your most recent invoice")
    assert company.state.resent == []
    p.screenshot(path=str(artifacts / "action-confirm.png"))
    # the page is opened again (the company's page hands over the token again): the
    # conversation comes back with the button still waiting
    token = live_hs256()
    p.goto(f"{page.base_url}/?again=1#identity={token}")
    expect(p.locator(".fd-msg--user")).to_have_count(1)
    yes = p.locator(".fd-confirm-yes")
    expect(yes).to_be_visible()
    yes.click()
    expect(p.locator("#fd-log")).to_contain_text("INV-2026-0311")
    expect(p.locator(".fd-confirm-status")).to_have_text("Confirmed")
    expect(yes).to_be_disabled()
    assert len(company.state.resent) == 1
    assert company.state.resent[0]["user"] == "u_1001"
    p.screenshot(path=str(artifacts / "action-confirmed.png"))
    assert page.problems.errors == []


def test_an_anonymous_visitor_sees_no_account_data(page: ChatPage, company: Northwind) -> None:
    p = page.page
    p.goto(page.base_url)
    expect(p.locator(".fd-msg--greeting")).to_be_visible()
    p.fill("#fd-input", "Which plan am I on?")
    p.press("#fd-input", "Enter")
    expect(p.locator("#fd-log")).to_contain_text("once you're signed in")
    assert company.state.calls == []
    # signing in on the page keeps the conversation and the next answer is the customer's
    p.evaluate(f"window.Frontdesk.identify({{token: {live_hs256()!r}}})")
    p.fill("#fd-input", "Which plan am I on?")
    p.press("#fd-input", "Enter")
    expect(p.locator("#fd-log")).to_contain_text("Growth plan (since 3 March 2026)")
    expect(p.locator(".fd-msg--user")).to_have_count(2)
    assert [c["user"] for c in company.state.calls] == ["u_1001"]
    assert page.problems.errors == []


def host_page(frontdesk: str, token: str) -> Any:
    """The company's own page embedding the widget with the signed-in customer's token."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    html = (
        "<!doctype html><html><head><title>Northwind app</title>"
        '<link rel="icon" href="data:,"></head><body>'
        "<h1>Your Northwind workspace</h1>"
        f'<script src="{frontdesk}/widget.js" data-identity="{token}" defer></script>'
        "</body></html>"
    )

    async def index(request: object) -> HTMLResponse:
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", index)])


def test_the_widget_carries_the_host_pages_signed_identity(
    browser: Browser, tmp_path: Path, company: Northwind, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity_env(monkeypatch, company.url)
    host_port = free_port()
    host = f"http://127.0.0.1:{host_port}"
    settings = migrated_settings(tmp_path / "home").model_copy(update={"widget_origins": [host]})
    with chat_app(settings, company) as chat:
        frontdesk = str(chat.client.base_url)
        with serve(host_page(frontdesk, live_hs256()), port=host_port):
            for opened in open_chat(browser, host, viewport={"width": 1100, "height": 800}):
                p = opened.page
                p.goto(host)
                p.locator(".frontdesk-widget-button").click()
                frame = p.frame_locator("#frontdesk-widget-frame")
                expect(frame.locator(".fd-msg--greeting")).to_be_visible()
                frame.locator("#fd-input").fill("Which plan am I on?")
                frame.locator("#fd-input").press("Enter")
                expect(frame.locator("#fd-log")).to_contain_text("Growth plan (since 3 March 2026)")
                assert [c["user"] for c in company.state.calls] == ["u_1001"]
                # the host page signs the customer out: a new, anonymous conversation
                p.evaluate("window.Frontdesk.logout()")
                expect(frame.locator(".fd-msg--user")).to_have_count(0)
                frame.locator("#fd-input").fill("Which plan am I on?")
                frame.locator("#fd-input").press("Enter")
                expect(frame.locator("#fd-log")).to_contain_text("once you're signed in")
                assert len(company.state.calls) == 1
                assert opened.problems.errors == []
