"""The web chat against the real app (``frontdesk.app.create_app``) with scripted models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from frontdesk.app import create_app
from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from frontdesk.errors import ProviderError
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from tests.servers import serve
from tests.web.conftest import ChatPage, open_chat
from tests.web.fake_api import ANSWER, XSS_ANSWER
from tests.web.helpers import ANSWERS, conversation_id, send, wait_idle, wait_ready

pytestmark = pytest.mark.browser

SCRIPTED_ANSWER = (
    "You can reset your password from **Settings → Security**:\n\n"
    "1. Click *Reset password*.\n2. Follow the link we email you.\n\n"
    "Need more help? Visit [our help centre](https://help.example.com)."
)


def bot(script: list[str] | None = None) -> BotConfig:
    """A bot whose only endpoint is the scripted dialect, as a YAML config would declare it."""
    return BotConfig(
        name="Acme Helper",
        company="Acme",
        system_prompt="You are {bot_name} of {company}. Today is {today}.\n{contacts}",
        greeting="Hello! Ask me anything about **Acme**.",
        model=ModelConfig(chain=["scripted"], max_output_tokens=1000),
        endpoints=[
            EndpointConfig(
                name="scripted", dialect="scripted", model="scripted-1", script=script or []
            )
        ],
        version="web-test",
    )


@dataclass
class Responder:
    """Chooses a scripted reply from the customer's words."""

    calls: dict[str, int] = field(default_factory=dict)

    def __call__(self, request: ChatRequest) -> str | Step:
        asked = request.messages[-1].content.lower()
        self.calls[asked] = self.calls.get(asked, 0) + 1
        if "xss" in asked:
            return XSS_ANSWER
        if "slow" in asked:
            return Step(text="word " * 300, token_delay=0.03)
        if "flaky" in asked and self.calls[asked] == 1:
            failure = ProviderError("upstream timed out", provider="scripted", retryable=True)
            return Step(text="Let me check that for you", fail_after_tokens=2, fail_with=failure)
        return ANSWER


def real_page(
    browser: Browser, settings: Settings, app_bot: BotConfig, **kw: object
) -> Iterator[ChatPage]:
    app = create_app(settings, bot=app_bot, **kw)  # type: ignore[arg-type]
    with serve(app) as url:
        yield from open_chat(browser, url, viewport={"width": 1100, "height": 820})


@pytest.fixture
def scripted_config_page(browser: Browser, web_settings: Settings) -> Iterator[ChatPage]:
    yield from real_page(browser, web_settings, bot([SCRIPTED_ANSWER]))


@pytest.fixture
def responder() -> Responder:
    return Responder()


@pytest.fixture
def real_chat(browser: Browser, web_settings: Settings, responder: Responder) -> Iterator[ChatPage]:
    provider = ScriptedProvider(responder=responder)
    yield from real_page(browser, web_settings, bot(), provider=provider)


def test_streamed_answer_from_the_configured_scripted_endpoint_survives_reload(
    scripted_config_page: ChatPage, artifacts: Path
) -> None:
    page = scripted_config_page.page
    page.goto(scripted_config_page.base_url)
    wait_ready(page)
    expect(page.locator(".fd-msg--greeting strong")).to_have_text("Acme")

    send(page, "How do I reset my password?")
    answer = wait_idle(page, 1)
    content = answer.locator(".fd-content")
    expect(content.locator("strong")).to_have_text("Settings → Security")
    expect(content.locator("ol > li")).to_have_count(2)
    expect(content.get_by_role("link", name="our help centre")).to_have_attribute(
        "href", "https://help.example.com/"
    )
    expect(answer.locator(".fd-feedback")).to_be_visible()
    page.screenshot(path=str(artifacts / "chat-real-app.png"))

    cid = conversation_id(page)
    page.reload()
    wait_ready(page)
    assert conversation_id(page) == cid
    expect(page.locator(".fd-msg--user")).to_have_text(["How do I reset my password?"])
    expect(page.locator(ANSWERS).locator(".fd-content strong")).to_have_text("Settings → Security")
    assert scripted_config_page.problems.errors == []


def test_hostile_model_output_stays_text(real_chat: ChatPage) -> None:
    page = real_chat.page
    page.goto(real_chat.base_url)
    wait_ready(page)
    send(page, "xss please")
    answer = wait_idle(page, 1)
    expect(answer.locator(".fd-content")).to_contain_text(
        "<script>window.__pwned = 'script'</script>"
    )
    assert page.locator("#fd-log script, #fd-log img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    page.reload()  # and again when rendered from stored history
    wait_ready(page)
    expect(page.locator(ANSWERS).locator(".fd-content")).to_contain_text("<img src=x onerror=")
    assert page.locator("#fd-log script, #fd-log img").count() == 0
    assert page.evaluate("() => window.__pwned") is None


def test_stop_marks_the_stored_answer_partial(real_chat: ChatPage) -> None:
    page = real_chat.page
    page.goto(real_chat.base_url)
    wait_ready(page)
    send(page, "something slow")
    expect(page.locator(ANSWERS).last.locator(".fd-content")).to_contain_text("word word word")
    expect(page.get_by_role("button", name="Stop generating")).to_be_visible()
    page.get_by_label("Your message").press("Escape")  # the keyboard way to press Stop
    answer = wait_idle(page, 1)
    expect(answer.locator(".fd-note")).to_contain_text("Stopped")
    # the server persists the partial answer once it notices the disconnect
    page.wait_for_function(
        """async (id) => {
          const body = await (await fetch('/api/conversations/' + id)).json();
          const last = body.messages[body.messages.length - 1];
          window.__lastStatus = last.status;
          return last.status === 'partial';
        }""",
        arg=conversation_id(page),
        polling=200,
        timeout=5000,
    )
    page.reload()
    wait_ready(page)
    stored = page.locator(ANSWERS).last
    expect(stored.locator(".fd-note")).to_contain_text("incomplete")
    words = len(stored.locator(".fd-content").inner_text().split())
    assert 0 < words < 300


def test_error_event_then_retry_with_the_same_client_message_id(
    real_chat: ChatPage, responder: Responder
) -> None:
    page = real_chat.page
    page.goto(real_chat.base_url)
    wait_ready(page)
    send(page, "a flaky question")
    answer = wait_idle(page, 1)
    expect(answer.get_by_role("alert")).to_be_visible()
    expect(answer.get_by_role("button", name="Retry sending this message")).to_be_visible()

    answer.get_by_role("button", name="Retry sending this message").click()
    answer = wait_idle(page, 1)
    expect(answer.get_by_role("alert")).to_have_count(0)
    expect(answer.locator(".fd-content strong")).to_have_text("Settings")
    assert responder.calls == {"a flaky question": 2}

    page.reload()  # one user message; the failed attempt is hidden behind its retry
    wait_ready(page)
    expect(page.locator(".fd-msg--user")).to_have_count(1)
    expect(page.locator(ANSWERS)).to_have_count(1)
    expect(page.locator(ANSWERS).get_by_role("alert")).to_have_count(0)
    body = page.evaluate(
        "async (id) => (await fetch('/api/conversations/' + id)).json()", conversation_id(page)
    )
    users = [m for m in body["messages"] if m["role"] == "user"]
    assert len(users) == 1
    assert re.fullmatch(r"[0-9a-f-]{36}", users[0]["client_message_id"])
    assert real_chat.problems.errors == []
