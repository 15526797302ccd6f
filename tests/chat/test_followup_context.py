"""A question after the customer told us about themselves keeps that context."""

from __future__ import annotations

from frontdesk.chat.followup import is_context, standalone
from frontdesk.domain import ChatMessage


def test_a_statement_about_the_customer_goes_with_the_next_question() -> None:
    earlier = [ChatMessage("user", "Our workspace is in the EU region.")]
    q = standalone("Which IP addresses should our firewall allow?", earlier)
    assert q.previous == "Our workspace is in the EU region."
    assert q.search_text.startswith("Our workspace is in the EU region.")


def test_an_earlier_question_or_long_story_is_not_context() -> None:
    assert not is_context("How much is the Growth plan?")
    assert not is_context("Thanks")
    assert not is_context(" ".join(["we"] + ["word"] * 30))
    earlier = [ChatMessage("user", "How much is the Growth plan per month?")]
    assert standalone("Which IP addresses should our firewall allow?", earlier).previous is None
    # a follow-up still pairs with the question before it
    assert standalone("And per year?", earlier).previous == earlier[0].content
