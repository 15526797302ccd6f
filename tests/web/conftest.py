"""Browser fixtures: Debian's chromium driven by Playwright (sync API, plain test functions).

Sync Playwright runs its own event loop, so browser tests are ordinary ``def`` tests and
servers run in background threads (``tests.servers.serve``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from frontdesk.settings import Settings
from tests.servers import serve
from tests.web.fake_api import FakeChat, build_app

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class PageProblems:
    """Console errors and uncaught exceptions seen by a page."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if "Failed to load resource" in message.text and url.endswith("/feedback"):
            return  # the feedback endpoint may answer 404: the page tolerates it
        self.errors.append(f"console: {message.text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"pageerror: {error}")


@dataclass
class ChatPage:
    page: Page
    base_url: str
    problems: PageProblems


@dataclass
class FakeSite:
    chat: FakeChat
    url: str


@pytest.fixture
def fake_site() -> Iterator[FakeSite]:
    chat = FakeChat(token_delay=0.01)
    with serve(build_app(chat)) as url:
        yield FakeSite(chat, url)


def open_chat(browser: Browser, url: str, **context: object) -> Iterator[ChatPage]:
    ctx = browser.new_context(**context)  # type: ignore[arg-type]
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    problems = PageProblems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    try:
        yield ChatPage(page, url, problems)
    finally:
        ctx.close()


@pytest.fixture
def chat_page(browser: Browser, fake_site: FakeSite) -> Iterator[ChatPage]:
    yield from open_chat(browser, fake_site.url, viewport={"width": 1100, "height": 820})


@pytest.fixture
def browser_phone_page(browser: Browser, fake_site: FakeSite) -> Iterator[ChatPage]:
    yield from open_chat(
        browser,
        fake_site.url,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """A migrated database. Alembic's ``asyncio.run`` cannot share the main thread with
    sync Playwright (it keeps an event loop marked as running), so migrate in a thread."""
    from frontdesk.memory.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(settings.resolved_database_url)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return settings
