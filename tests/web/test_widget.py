"""The embeddable widget: a host page on another origin loads /widget.js, opens the chat
in an iframe and gets a streamed answer; the chat page allows only configured embedders."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from frontdesk.app import create_app
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.conftest import make_bot
from tests.servers import free_port, serve

pytestmark = pytest.mark.browser


def _host_site(app_url: str) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><title>Shop</title><h1>Acme shop</h1>"
            f'<script src="{app_url}/widget.js" data-label="Help" defer></script>'
        )

    return Starlette(routes=[Route("/", page)])


def test_widget_opens_the_chat_on_another_site(
    browser: Browser, web_settings: Settings, artifacts: Path
) -> None:
    host_port = free_port()
    host_origin = f"http://127.0.0.1:{host_port}"
    settings = web_settings.model_copy(update={"widget_origins": [host_origin]})
    app = create_app(
        settings, bot=make_bot(), provider=ScriptedProvider.from_texts(["Hello from the widget."])
    )
    with serve(app) as app_url:
        csp = httpx.get(app_url + "/").headers["content-security-policy"]
        assert f"frame-ancestors 'self' {host_origin}" in csp
        assert (
            httpx.get(app_url + "/widget.js").headers["content-type"].startswith("text/javascript")
        )
        with serve(_host_site(app_url), port=host_port) as host_url:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            try:
                page.goto(host_url)
                button = page.get_by_role("button", name="Help")
                expect(button).to_be_visible()
                button.click()
                expect(button).to_have_attribute("aria-expanded", "true")
                chat = page.frame_locator("#frontdesk-widget-frame")
                box = chat.get_by_role("textbox")
                box.fill("hi")
                box.press("Enter")
                expect(chat.locator(".fd-msg--assistant").last).to_contain_text(
                    "Hello from the widget."
                )
                page.screenshot(path=str(artifacts / "widget.png"))
            finally:
                page.close()


def test_chat_page_refuses_unknown_embedders_by_default(web_settings: Settings) -> None:
    app = create_app(web_settings, bot=make_bot(), provider=ScriptedProvider())
    with serve(app) as app_url:
        csp = httpx.get(app_url + "/").headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp
        assert "frame-ancestors 'self' " not in csp
