"""The admin dashboard in Debian's chromium against the real app: sign in with the
settings admin token, see the KPI cards and the SVG charts, on desktop and at 375 px."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from frontdesk.api import admin_stats
from frontdesk.app import create_app
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send
from tests.conftest import make_bot
from tests.servers import serve
from tests.web.conftest import PageProblems

pytestmark = pytest.mark.browser


@pytest.fixture
def site(web_settings: Settings) -> Iterator[str]:
    provider = ScriptedProvider.from_texts(["Our assistant answer.", "Another answer."])
    app = create_app(web_settings, bot=make_bot(), provider=provider)
    # exactly what app.py gets: the stats API and the page
    app.include_router(admin_stats.router)
    app.include_router(admin_stats.page)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        cid = new_conversation(client)
        done = [e for e in send(client, cid, "Hello") if e.event == "done"]
        send(client, cid, "And shipping?")
        message_id = done[0].data["message_id"]
        assert (
            client.post(f"/api/messages/{message_id}/feedback", json={"rating": 1}).status_code
            == 204
        )
        send(client, new_conversation(client), "I want to talk to a person")
        yield url


@contextmanager
def _open(browser: Browser, url: str, **context: object) -> Iterator[tuple[Page, PageProblems]]:
    ctx = browser.new_context(**context)  # type: ignore[arg-type]
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    problems = PageProblems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    try:
        page.goto(f"{url}/admin")
        yield page, problems
    finally:
        ctx.close()


def _sign_in(page: Page, key: str) -> None:
    page.fill("#ad-key", key)
    page.click("#ad-login-form button[type=submit]")
    expect(page.locator("body[data-loaded='1']")).to_have_count(1)


def test_dashboard_signs_in_and_draws_charts(
    browser: Browser, site: str, web_settings: Settings, artifacts: Path
) -> None:
    with _open(browser, site, viewport={"width": 1280, "height": 900}) as (page, problems):
        resp = httpx.get(f"{site}/admin")
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        expect(page.locator("#ad-login")).to_be_visible()
        page.fill("#ad-key", "fd_not_a_real_key")
        page.click("#ad-login-form button[type=submit]")
        expect(page.locator("#ad-login-error")).to_be_visible()
        _sign_in(page, web_settings.admin_token.get_secret_value())
        expect(page.locator("#kpi-conversations")).to_have_text("2")
        expect(page.locator("#kpi-escalations")).to_have_text("1")
        expect(page.locator("#kpi-up")).to_have_text("100%")
        turns = int(page.locator("#kpi-turns").inner_text())
        assert turns >= 2
        assert page.locator("#chart-turns svg rect.ad-bar").count() == 14
        assert page.locator("#chart-cost svg path.ad-line").count() == 1
        assert page.locator("#chart-ttft svg path.ad-line").count() == 2
        assert page.locator("#chart-feedback svg rect.ad-up").count() == 1
        expect(page.locator("#ad-providers li").first).to_contain_text("scripted")
        page.select_option("#ad-range", "7")
        expect(page.locator("#chart-turns svg rect.ad-bar")).to_have_count(7)
        page.screenshot(path=str(artifacts / "admin-dashboard.png"), full_page=True)
        # the key survives a reload (sessionStorage) and sign-out forgets it
        page.reload()
        expect(page.locator("body[data-loaded='1']")).to_have_count(1)
        page.click("#ad-logout")
        expect(page.locator("#ad-login")).to_be_visible()
        page.reload()
        expect(page.locator("#ad-login")).to_be_visible()
        assert problems.errors == [e for e in problems.errors if "401" in e]


def test_dashboard_fits_a_phone(
    browser: Browser, site: str, web_settings: Settings, artifacts: Path
) -> None:
    opened = _open(
        browser,
        site,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    with opened as (page, problems):
        _sign_in(page, web_settings.admin_token.get_secret_value())
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 375, f"page is {scroll}px wide at a 375px viewport"
        box = page.locator("#chart-turns svg").bounding_box()
        assert box is not None and box["width"] <= 375
        page.screenshot(path=str(artifacts / "admin-dashboard-phone.png"), full_page=True)
        assert problems.errors == []
