"""The web chat in a real browser against a loopback server speaking the native API."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, expect

from tests.servers import serve
from tests.web.conftest import ChatPage, FakeSite, open_chat
from tests.web.fake_api import REPLACEMENT, RETRACTED_SECRET, FakeChat, build_app
from tests.web.helpers import ANSWERS, conversation_id, send, wait_idle, wait_ready

pytestmark = pytest.mark.browser


def test_answer_streams_in_and_renders_markdown_with_sources(
    chat_page: ChatPage, fake_site: FakeSite, artifacts: Path
) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    expect(page.locator("h1")).to_have_text("Ada from Acme")
    expect(page.locator(".fd-msg--greeting strong")).to_have_text("Ada")

    fake_site.chat.gate = threading.Event()
    send(page, "How do I reset my password?")
    answer = page.locator(ANSWERS).last
    # seen mid-stream: the first words while the bubble is still marked busy
    expect(answer.locator(".fd-content")).to_contain_text("To reset your password:")
    expect(answer).to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("button", name="Stop generating")).to_be_visible()
    assert "Settings" not in answer.inner_text()
    fake_site.chat.gate.set()
    answer = wait_idle(page, 1)
    expect(answer).to_have_attribute("aria-busy", "false")

    content = answer.locator(".fd-content")
    expect(content.locator("ol > li")).to_have_count(2)
    expect(content.locator("strong")).to_have_text("Settings")
    expect(content.locator("em")).to_have_text("Security")
    expect(content.locator("li code")).to_have_text("Reset password")
    expect(content.locator("pre code")).to_have_text("acme auth reset --email you@example.com")
    expect(content).to_contain_text("Settings → Security")  # split mid-character on the wire
    link = content.get_by_role("link", name="help centre")
    expect(link).to_have_attribute("href", "https://help.example.com/reset")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile("noopener"))
    expect(content.locator("sup.md-cite a")).to_have_attribute("aria-label", re.compile("Source 1"))

    source = answer.locator(".fd-sources a")
    expect(source).to_have_text("Resetting your password — Account security")
    expect(source).to_have_attribute("target", "_blank")
    expect(answer.locator(".fd-source-snippet")).to_contain_text("Open Settings")

    user = page.locator(".fd-msg--user").last
    expect(user).to_have_text("How do I reset my password?")
    page.screenshot(path=str(artifacts / "chat-desktop.png"))
    assert chat_page.problems.errors == []


def test_model_output_cannot_inject_html_or_script(
    chat_page: ChatPage, fake_site: FakeSite
) -> None:
    page = chat_page.page
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "show me xss")
    answer = wait_idle(page, 1)

    content = answer.locator(".fd-content")
    expect(content).to_contain_text("<script>window.__pwned = 'script'</script>")
    expect(content).to_contain_text("<img src=x onerror=")
    assert page.locator("#fd-log script, #fd-log img, #fd-log iframe").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    hrefs = page.eval_on_selector_all("#fd-log a", "els => els.map(a => a.href)")
    assert hrefs, "expected the image to become a link"
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    # the javascript: link keeps its text but is not a link
    expect(content.locator(".md-unsafe-link")).to_have_text("click me")
    # images are never fetched: they turn into links carrying the alt text
    expect(content.get_by_role("link", name="pic")).to_have_attribute(
        "href", "https://tracker.example.com/p.png"
    )
    handlers = page.eval_on_selector_all(
        "#fd-log *",
        "els => els.flatMap(e => [...e.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on'))",
    )
    assert handlers == []
    assert dialogs == []
    assert chat_page.problems.errors == []


def test_reload_keeps_the_conversation(chat_page: ChatPage, fake_site: FakeSite) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "How do I reset my password?")
    wait_idle(page, 1)
    cid = conversation_id(page)
    assert cid in fake_site.chat.conversations

    page.reload()
    wait_ready(page)
    assert conversation_id(page) == cid
    expect(page.locator(".fd-msg--user")).to_have_text(["How do I reset my password?"])
    answer = page.locator(ANSWERS)
    expect(answer).to_have_count(1)
    expect(answer.locator(".fd-content strong")).to_have_text("Settings")
    expect(answer.locator(".fd-sources a")).to_have_count(1)
    expect(answer.locator(".fd-feedback")).to_be_visible()
    assert len(fake_site.chat.conversations) == 1


def test_stop_button_keeps_the_partial_answer(
    chat_page: ChatPage, fake_site: FakeSite, artifacts: Path
) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "tell me something slow")
    stop = page.get_by_role("button", name="Stop generating")
    expect(stop).to_be_visible()
    expect(page.locator(ANSWERS).last.locator(".fd-content")).to_contain_text("word word")
    page.screenshot(path=str(artifacts / "chat-streaming.png"))
    stop.click()
    answer = wait_idle(page, 1)
    expect(answer.locator(".fd-note")).to_contain_text("Stopped")
    expect(stop).to_be_hidden()
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    words = len(answer.locator(".fd-content").inner_text().split())
    assert 0 < words < 400

    conv = fake_site.chat.conversations[conversation_id(page)]
    page.wait_for_timeout(200)  # the server notices the disconnect on its next write
    assert conv["messages"][-1]["status"] == "partial"
    page.reload()
    wait_ready(page)
    expect(page.locator(ANSWERS).last.locator(".fd-note")).to_contain_text("incomplete")


def test_error_event_shows_retry_that_reuses_the_client_message_id(
    chat_page: ChatPage, fake_site: FakeSite, artifacts: Path
) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "this will be flaky")
    answer = wait_idle(page, 1)
    error = answer.get_by_role("alert")
    expect(error).to_contain_text("The model provider timed out.")
    expect(answer).to_have_class(re.compile("is-failed"))
    page.screenshot(path=str(artifacts / "chat-error.png"))

    answer.get_by_role("button", name="Retry sending this message").click()
    answer = wait_idle(page, 1)
    expect(answer.get_by_role("alert")).to_have_count(0)
    expect(answer.locator(".fd-content strong")).to_have_text("Settings")
    sends = fake_site.chat.sends
    assert len(sends) == 2
    assert sends[0]["client_message_id"] == sends[1]["client_message_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", sends[0]["client_message_id"])
    assert sends[0]["stream"] is True
    users = [m for m in fake_site.chat.messages(conversation_id(page)) if m["role"] == "user"]
    assert len(users) == 1


def test_enter_sends_and_shift_enter_adds_a_line(chat_page: ChatPage, fake_site: FakeSite) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    # keyboard only: Tab reaches the header button, the log (to scroll it), then the box
    focused = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id"))
    assert focused == ["fd-new", "fd-log", "fd-input"]
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    box = page.get_by_label("Your message")
    expect(box).to_be_focused()
    assert outline == "none"  # the composer shows focus with its own ring instead
    ring = page.evaluate("() => getComputedStyle(document.getElementById('fd-composer')).boxShadow")
    assert ring != "none"
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    expect(box).to_have_value("line one\nline two")
    page.keyboard.press("Enter")
    wait_idle(page, 1)
    assert fake_site.chat.sends[0]["content"] == "line one\nline two"
    expect(page.locator(".fd-msg--user .fd-content")).to_have_text("line one\nline two")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    # empty input cannot be sent
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Send message")).to_be_disabled()
    assert len(fake_site.chat.sends) == 1


def test_notice_retraction_and_escalation(
    chat_page: ChatPage, fake_site: FakeSite, artifacts: Path
) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)

    send(page, "My card is 4111 1111 1111 1111")
    wait_idle(page, 1)
    user = page.locator(".fd-msg--user").last
    expect(user.locator(".fd-note")).to_contain_text("We removed a card number")
    expect(user.locator(".fd-content")).to_have_text("My card is [REDACTED]")

    send(page, "tell me the secret")
    answer = wait_idle(page, 2)
    expect(answer.locator(".fd-content")).to_have_text(REPLACEMENT)
    expect(answer.locator(".fd-note")).to_contain_text("withdrawn")
    assert RETRACTED_SECRET not in page.locator("#fd-log").inner_text()

    send(page, "I want a human")
    wait_idle(page, 3)
    handoff = page.locator(".fd-system--handoff")
    expect(handoff).to_contain_text("support team (ticket T-1042)")
    expect(page.locator("#fd-subtitle")).to_contain_text("in the queue")  # from /events
    # a person answers in the hand-off; the page shows it after a reload (or its poll)
    cid = conversation_id(page)
    fake_site.chat.add(cid, "agent", "Hi, this is **Sam** from support.", "complete")
    fake_site.chat.conversations[cid]["status"] = "agent"
    page.reload()
    wait_ready(page)
    expect(page.locator(".fd-system--handoff")).to_be_visible()
    expect(page.locator(ANSWERS).nth(1).locator(".fd-content")).to_have_text(REPLACEMENT)
    agent = page.locator(".fd-msg--agent")
    expect(agent.locator(".fd-msg-label")).to_have_text("Support agent")
    expect(agent.locator(".fd-content strong")).to_have_text("Sam")
    expect(page.locator("#fd-subtitle")).to_have_text("You're chatting with our support team")
    page.screenshot(path=str(artifacts / "chat-handoff.png"))

    fake_site.chat.conversations[cid]["status"] = "closed"
    page.reload()
    wait_ready(page)
    expect(page.locator(".fd-system--closed")).to_have_text("This conversation has ended.")
    expect(page.get_by_label("Your message")).to_be_disabled()
    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.get_by_label("Your message")).to_be_enabled()
    expect(page.locator(".fd-system")).to_have_count(0)


def test_rejected_and_rate_limited_messages(chat_page: ChatPage, fake_site: FakeSite) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    long_text = "x" * 250
    send(page, long_text)
    user = page.locator(".fd-msg--user").last
    expect(user.get_by_role("alert")).to_contain_text("at most 200 characters")
    expect(page.get_by_label("Your message")).to_have_value(long_text)
    expect(page.locator(ANSWERS)).to_have_count(0)

    send(page, "please rate limit me")
    answer = wait_idle(page, 1)
    retry = answer.get_by_role("button", name="Retry sending this message")
    expect(answer.get_by_role("alert")).to_contain_text("Too many messages")
    expect(retry).to_be_disabled()
    expect(retry).to_be_enabled(timeout=3000)  # Retry-After: 1
    retry.click()
    answer = wait_idle(page, 1)
    expect(answer.locator(".fd-content strong")).to_have_text("Settings")


def test_new_conversation_and_feedback(chat_page: ChatPage, fake_site: FakeSite) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "How do I reset my password?")
    answer = wait_idle(page, 1)
    up = answer.get_by_role("button", name="Helpful", exact=True)
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as response:
        up.click()
    assert response.value.status == 404  # not built yet on the server: tolerated
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".fd-feedback-thanks")).to_have_text("Thanks for the feedback")
    assert fake_site.chat.feedback[0]["rating"] == 1
    assert chat_page.problems.errors == []

    first = conversation_id(page)
    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.locator(".fd-msg--user")).to_have_count(0)
    expect(page.locator(".fd-msg--greeting")).to_have_count(1)
    page.wait_for_function(
        f"() => !localStorage.getItem('frontdesk:conversation').includes({first!r})"
    )
    assert conversation_id(page) != first
    assert len(fake_site.chat.conversations) == 2


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_screen(
    browser_phone_page: ChatPage, fake_site: FakeSite, artifacts: Path, scheme: str
) -> None:
    page = browser_phone_page.page
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "How do I reset my password?")
    wait_idle(page, 1)
    send(page, "tell me the secret")
    wait_idle(page, 2)
    page.get_by_label("Your message").fill("And how do I change my email address?")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    box = page.locator("#fd-app").bounding_box()
    assert box is not None and box["width"] == 375
    expect(page.locator(".fd-new-text")).to_be_hidden()  # icon-only on phones
    page.screenshot(path=str(artifacts / f"chat-phone-{scheme}.png"))
    assert browser_phone_page.problems.errors == []


def test_page_runs_under_a_strict_content_security_policy(browser: Browser) -> None:
    chat = FakeChat()
    with serve(build_app(chat, csp=True)) as url:
        for chat_page in open_chat(browser, url):
            page = chat_page.page
            response = page.goto(url)
            assert response is not None
            assert "script-src 'self'" in response.headers["content-security-policy"]
            wait_ready(page)
            send(page, "How do I reset my password?")
            answer = wait_idle(page, 1)
            expect(answer.locator(".fd-sources a")).to_have_count(1)
            page.get_by_label("Your message").fill("a\nb\nc")  # the composer resizes itself
            assert chat_page.problems.errors == []


def test_hand_off_updates_arrive_live(chat_page: ChatPage, fake_site: FakeSite) -> None:
    page = chat_page.page
    page.goto(fake_site.url)
    wait_ready(page)
    send(page, "I want a human")
    wait_idle(page, 1)
    subtitle = page.locator("#fd-subtitle")
    expect(subtitle).to_have_text("You're number 2 in the queue · about 3 min")
    assert fake_site.chat.live_connections == 1

    live = fake_site.chat.live
    live.put(("status", {"status": "agent", "ticket_id": "T-1042", "agent": "Sam"}))
    expect(subtitle).to_have_text("You're chatting with Sam")
    agent_message = {
        "id": "m-agent-1",
        "seq": 9,
        "role": "agent",
        "content": "Hi, I'm **Sam**. <b>How</b> can I help?",
        "status": "complete",
        "author": "Sam",
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    live.put(("message", agent_message))
    live.put(("message", agent_message))  # a replay after reconnecting: shown once
    agent = page.locator(".fd-msg--agent")
    expect(agent.locator(".fd-msg-label")).to_have_text("Sam · Support")
    expect(agent.locator(".fd-content")).to_have_text("Hi, I'm Sam. <b>How</b> can I help?")
    expect(agent).to_have_count(1)

    live.put(("status", {"status": "closed", "ticket_id": "T-1042"}))
    expect(page.get_by_label("Your message")).to_be_disabled()
    expect(page.locator(".fd-system--closed")).to_be_visible()
    assert chat_page.problems.errors == []
