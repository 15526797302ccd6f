"""The web chat with attachments, in Debian's chromium against the real app: a pasted
screenshot of an error dialog and a spoken question (chromium's fake microphone plays an
espeak-ng clip into MediaRecorder) are answered from the sample documents with citations."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from frontdesk.app import create_app
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.media.conftest import DOCS, ingest_docs, sample_bot
from tests.media.samples import error_dialog, png_bytes, spoken_wav
from tests.servers import serve
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, ChatPage, open_chat
from tests.web.helpers import ANSWERS, send, wait_idle, wait_ready

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="make media-deps: tesseract"),
]

PASTE = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], "image.png", { type: "image/png" });
  const data = new DataTransfer();
  data.items.add(file);
  const input = document.getElementById("fd-input");
  input.focus();
  const init = { clipboardData: data, bubbles: true, cancelable: true };
  input.dispatchEvent(new ClipboardEvent("paste", init));
}"""

DROP = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
  const target = document.getElementById("fd-log");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: data, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""


@pytest.fixture
def media_chat(browser: Browser, web_settings: Settings) -> Iterator[ChatPage]:
    ingest_docs(web_settings, DOCS)
    app = create_app(web_settings, bot=sample_bot(), provider=ScriptedProvider())
    with serve(app) as url:
        yield from open_chat(browser, url, viewport={"width": 900, "height": 900})


def answer_with_sources(page: Page, answers: int = 1) -> str:
    answer = wait_idle(page, answers)
    expect(answer.locator(".fd-sources")).to_be_visible(timeout=60_000)
    return answer.inner_text()


def test_pasted_screenshot_is_read_and_answered_with_a_citation(
    media_chat: ChatPage, artifacts: Path
) -> None:
    page = media_chat.page
    page.goto(media_chat.base_url)
    wait_ready(page)
    screenshot = base64.b64encode(png_bytes(error_dialog())).decode()
    page.evaluate(PASTE, screenshot)
    chip = page.locator(".fd-chip.is-ready")
    expect(chip).to_contain_text("Error NW-408: Connection timed out.", timeout=30_000)
    expect(chip.locator("img")).to_be_visible()
    send(page, "What does this error mean?")
    text = answer_with_sources(page)
    assert "30 seconds" in text or "Settings > Network" in text, text
    assert "doesn't mention" not in text, text
    expect(page.locator(ANSWERS).last.locator(".fd-sources")).to_contain_text(
        "Troubleshooting Failed Pipeline Runs"
    )
    question = page.locator(".fd-msg--user").last
    expect(question.locator(".fd-content")).to_have_text("What does this error mean?")
    expect(question.locator(".fd-attachment-read")).to_contain_text("NW-408")
    expect(page.locator(".fd-tray")).to_be_hidden()
    page.screenshot(path=str(artifacts / "media-screenshot-answer.png"))
    page.reload()  # from stored history: the words, the thumbnail and what was read
    wait_ready(page)
    expect(page.locator(".fd-msg--user .fd-content")).to_have_text(["What does this error mean?"])
    expect(page.locator(".fd-msg--user .fd-attachment-read")).to_contain_text("NW-408")
    expect(page.locator(".fd-msg--user img.fd-attachment-img")).to_have_count(1)
    assert media_chat.problems.errors == []


def test_picker_and_drop_attach_and_bad_files_say_why(media_chat: ChatPage, tmp_path: Path) -> None:
    page = media_chat.page
    page.goto(media_chat.base_url)
    wait_ready(page)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # says PNG, is not one
    page.set_input_files("#fd-file", str(bad))
    failed = page.locator(".fd-chip.is-failed")
    expect(failed).to_contain_text("damaged")
    failed.locator(".fd-chip-remove").click()
    expect(page.locator(".fd-chip")).to_have_count(0)
    expect(page.locator("#fd-send")).to_be_disabled()
    page.evaluate(DROP, base64.b64encode(png_bytes(error_dialog())).decode())
    expect(page.locator(".fd-chip.is-ready")).to_contain_text("NW-408", timeout=30_000)
    expect(page.locator("#fd-send")).to_be_enabled()
    page.locator("#fd-send").click()  # the image alone is a question
    text = answer_with_sources(page)
    assert "NW-408" in text or "30 seconds" in text, text
    media_chat.problems.errors = [e for e in media_chat.problems.errors if "422" not in e]
    assert media_chat.problems.errors == []


@pytest.fixture
def voice_chat(
    playwright: Playwright, web_settings: Settings, tmp_path: Path
) -> Iterator[ChatPage]:
    clip = tmp_path / "question.wav"
    clip.write_bytes(spoken_wav("How do I reset my password?", tmp_path, name="q.wav"))
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={clip}%noloop",
        ],
    )
    try:
        ingest_docs(web_settings, DOCS)
        app = create_app(web_settings, bot=sample_bot(), provider=ScriptedProvider())
        with serve(app) as url:
            yield from open_chat(
                browser, url, viewport={"width": 900, "height": 900}, permissions=["microphone"]
            )
    finally:
        browser.close()


def test_recorded_question_is_shown_as_text_and_answered(
    voice_chat: ChatPage, artifacts: Path
) -> None:
    page = voice_chat.page
    page.goto(voice_chat.base_url)
    wait_ready(page)
    mic = page.locator("#fd-mic")
    expect(mic).to_be_visible()
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(3500)  # the clip is about 2 s long
    mic.click()
    question = page.locator(".fd-msg--user").last
    expect(question.locator(".fd-content")).to_have_text(
        "How do I reset my password?", timeout=60_000
    )
    expect(question.locator(".fd-voice-label")).to_be_visible()
    text = answer_with_sources(page)
    assert "Forgot password" in text, text
    expect(page.locator(ANSWERS).last.locator(".fd-sources")).to_contain_text("Reset Your Password")
    page.screenshot(path=str(artifacts / "media-voice-answer.png"))
    assert voice_chat.problems.errors == []
