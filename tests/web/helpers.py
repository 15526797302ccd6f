"""Small page helpers shared by the browser tests."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

ANSWERS = ".fd-msg--assistant:not(.fd-msg--greeting)"


def wait_ready(page: Page) -> None:
    """Wait until the page has a conversation (greeting shown)."""
    page.wait_for_selector(".fd-msg--greeting .fd-content")


def send(page: Page, text: str) -> None:
    page.locator("#fd-input").fill(text)
    page.locator("#fd-input").press("Enter")


def wait_idle(page: Page, answers: int) -> Locator:
    """Wait until ``answers`` answers exist and none is streaming; return the last one."""
    page.wait_for_function(
        """(n) => document.querySelectorAll(arguments_selector).length >= n
             && !document.getElementById('fd-app').classList.contains('is-streaming')""".replace(
            "arguments_selector", repr(ANSWERS)
        ),
        arg=answers,
    )
    return page.locator(ANSWERS).last


def conversation_id(page: Page) -> str:
    value = page.evaluate(
        "() => JSON.parse(localStorage.getItem('frontdesk:conversation') || '{}').id || ''"
    )
    assert isinstance(value, str)
    return value
