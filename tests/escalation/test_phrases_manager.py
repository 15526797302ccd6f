"""Asking for a manager or supervisor is asking for a person; a manager role is not."""

from __future__ import annotations

import pytest

from frontdesk.escalation.phrases import HUMAN_REQUEST


@pytest.mark.parametrize(
    "text",
    [
        "This is useless, I've asked three times already. Get me a manager.",
        "I need a supervisor now",
        "can you get me your manager",
    ],
)
def test_a_manager_request_is_a_request_for_a_person(text: str) -> None:
    assert HUMAN_REQUEST.search(text)


@pytest.mark.parametrize(
    "text",
    ["How do I get a manager role for my colleague?", "I need an agent account for Bob"],
)
def test_roles_and_accounts_are_not(text: str) -> None:
    assert not HUMAN_REQUEST.search(text)
