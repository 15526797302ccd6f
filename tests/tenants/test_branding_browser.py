"""Two tenants' web chats in chromium: each page shows its tenant's name, colours, logo and
greeting, answers from its tenant's documents, and keeps the site key on cited links; the
widget on a tenant's own site takes its colour and label (screenshots in test-artifacts/)."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from frontdesk.app import create_app
from frontdesk.config import KnowledgeConfig
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.conftest import make_bot
from tests.servers import free_port, serve
from tests.tenants.world import ACME, ACME_DOCS, GLOBEX, GLOBEX_DOCS, create_tenant, ingest_docs
from tests.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PageProblems

pytestmark = pytest.mark.browser

LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
    '<rect width="40" height="40" rx="8" fill="#fde047"/>'
    '<path d="M8 30 L20 8 L32 30 Z" fill="#b91c1c"/></svg>'
)
LOGO = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG.encode()).decode()
QUESTION = "How many days do I have to get a refund on an annual plan?"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps`")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _rgb(color: str) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _ask(page: Page, question: str) -> None:
    box = page.get_by_role("textbox", name="Your message")
    box.fill(question)
    box.press("Enter")


def _host_site(app_url: str, site_key: str) -> Starlette:
    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><title>Acme shop</title><h1>Acme rocket skates</h1>"
            f'<script src="{app_url}/widget.js" data-site-key="{site_key}" defer></script>'
        )

    return Starlette(routes=[Route("/", home)])


def test_each_tenant_chat_has_its_branding_and_documents(
    browser: Browser, migrated: Settings, tmp_path: Path
) -> None:
    host_port = free_port()
    host_origin = f"http://127.0.0.1:{host_port}"
    acme_doc = copy.deepcopy(ACME)
    acme_doc["branding"]["logo_url"] = LOGO
    acme_doc["branding"]["launcher_label"] = "Ask Acme"
    acme_doc["widget_origins"] = [host_origin]
    acme = create_tenant(migrated, "acme", acme_doc)
    globex = create_tenant(migrated, "globex", copy.deepcopy(GLOBEX))
    ingest_docs(migrated, tmp_path, ACME_DOCS, tenant="acme", collection="acme-docs")
    ingest_docs(migrated, tmp_path, GLOBEX_DOCS, tenant="globex", collection="globex-docs")
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    app = create_app(migrated, bot=bot, provider=ScriptedProvider.from_texts(["Hi."] * 5))
    ARTIFACTS.mkdir(exist_ok=True)
    cases = [
        (acme, acme_doc, "30 days", "Acme refunds"),
        (globex, GLOBEX, "7 days", "Globex refunds"),
    ]
    with serve(app) as app_url:
        for record, document, days, source in cases:
            ctx = browser.new_context(viewport={"width": 900, "height": 760})
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            problems = PageProblems()
            page.on("console", problems.on_console)
            page.on("pageerror", problems.on_page_error)
            try:
                page.goto(f"{app_url}/?site={record.site_key}")
                name = document["branding"]["name"]
                expect(page).to_have_title(f"{name} · Chat")
                expect(page.locator("h1")).to_have_text(name)
                expect(page.locator(".fd-app")).to_have_class(re.compile("is-branded"))
                expect(page.locator(".fd-msg--greeting")).to_contain_text(
                    document["branding"]["greeting"]
                )
                header = page.locator(".fd-header")
                color = _rgb(document["branding"]["primary_color"])
                assert color in header.evaluate("e => getComputedStyle(e).backgroundImage")
                if record is acme:
                    expect(page.locator(".fd-avatar img")).to_have_attribute("src", LOGO)
                _ask(page, QUESTION)
                answer = page.locator(".fd-msg--assistant").last
                expect(answer).to_contain_text(days)
                link = answer.locator(".fd-source-link").first
                expect(link).to_contain_text(source)
                href = link.get_attribute("href") or ""
                assert f"site={record.site_key}" in href, href
                assert page.request.get(href).ok  # the cited passage opens for this tenant
                page.screenshot(path=str(ARTIFACTS / f"tenant-{record.id}-chat.png"))
                assert problems.errors == []
            finally:
                ctx.close()

        with serve(_host_site(app_url, acme.site_key), port=host_port) as host_url:
            ctx = browser.new_context(viewport={"width": 1000, "height": 780})
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            try:
                page.goto(host_url)
                button = page.get_by_role("button", name="Ask Acme")
                expect(button).to_be_visible()
                background = button.evaluate("e => getComputedStyle(e).backgroundColor")
                assert background == _rgb(ACME["branding"]["primary_color"])
                button.click()
                chat = page.frame_locator("#frontdesk-widget-frame")
                expect(chat.locator("h1")).to_have_text(ACME["branding"]["name"])
                box = chat.get_by_role("textbox", name="Your message")
                box.fill(QUESTION)
                box.press("Enter")
                expect(chat.locator(".fd-msg--assistant").last).to_contain_text("30 days")
                page.screenshot(path=str(ARTIFACTS / "tenant-acme-widget.png"))
            finally:
                ctx.close()
