"""The token window: exact budgets with the scripted model's word tokenizer."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from frontdesk.domain import ChatMessage, MessageStatus, Role, StoredMessage
from frontdesk.memory.window import (
    AGENT_PREFIX,
    INTERRUPTED_SUFFIX,
    SeqRange,
    select_window,
    summary_message,
)
from frontdesk.providers.scripted import WordTokenCounter

WORDS = WordTokenCounter()
T0 = datetime(2026, 11, 30, tzinfo=UTC)


def msg(seq: int, role: Role, content: str, status: MessageStatus = "complete") -> StoredMessage:
    return StoredMessage(
        id=f"m{seq}",
        conversation_id="c",
        seq=seq,
        role=role,
        content=content,
        status=status,
        created_at=T0,
    )


def chat(seq: int) -> list[StoredMessage]:
    """``seq`` alternating user/assistant messages of 2, 3, 4, ... words."""
    roles: tuple[Role, Role] = ("user", "assistant")
    return [msg(i, roles[(i - 1) % 2], " ".join(["w"] * (i + 1))) for i in range(1, seq + 1)]


def cost(messages: Sequence[ChatMessage]) -> int:
    return WORDS.count_messages(messages)


def test_everything_fits() -> None:
    history = chat(4)
    window = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=1000
    )
    assert [m.content for m in window.messages] == [m.content for m in history]
    assert [m.role for m in window.messages] == ["user", "assistant", "user", "assistant"]
    assert window.unsummarized is None
    assert window.summary is None
    assert window.first_seq == 1
    assert window.tokens == cost(window.prompt_messages())


def test_exact_budget_edge() -> None:
    history = chat(4)
    everything = cost([ChatMessage("user", m.content) for m in history])
    exact = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=everything
    )
    assert len(exact.messages) == 4
    assert exact.tokens == everything
    one_short = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=everything - 1
    )
    assert [m.content for m in one_short.messages] == [m.content for m in history[1:]]
    assert one_short.unsummarized == SeqRange(1, 1)
    assert one_short.first_seq == 2


@pytest.mark.parametrize("budget", range(60))
def test_window_is_the_longest_suffix_within_budget(budget: int) -> None:
    history = chat(6)
    window = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=budget
    )
    kept = len(window.messages)
    assert window.tokens <= budget
    assert window.tokens == (cost(window.messages) if kept else 0)
    assert [m.content for m in window.messages] == [m.content for m in history[6 - kept :]]
    if kept < 6:
        longer = [ChatMessage("user", m.content) for m in history[6 - kept - 1 :]]
        assert cost(longer) > budget
        assert window.unsummarized == SeqRange(1, 6 - kept)
    else:
        assert window.unsummarized is None


def test_a_message_is_never_split_and_order_is_kept() -> None:
    history = [msg(1, "user", "short"), msg(2, "assistant", "long " * 50), msg(3, "user", "hi")]
    window = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=20
    )
    # "short" would fit but lies behind the long message: history stays contiguous.
    assert [m.content for m in window.messages] == ["hi"]
    assert window.unsummarized == SeqRange(1, 2)


def test_newest_message_too_large_leaves_an_empty_window() -> None:
    window = select_window(
        [msg(1, "user", "word " * 30)],
        summary=None,
        summary_through_seq=0,
        counter=WORDS,
        budget_tokens=10,
    )
    assert window.messages == ()
    assert window.tokens == 0
    assert window.first_seq is None
    assert window.unsummarized == SeqRange(1, 1)


def test_summary_replaces_summarised_messages() -> None:
    history = chat(6)
    window = select_window(
        history,
        summary="Customer wants a refund for order 42.",
        summary_through_seq=2,
        counter=WORDS,
        budget_tokens=1000,
    )
    assert window.summary == "Customer wants a refund for order 42."
    prompt = window.prompt_messages()
    assert prompt[0] == summary_message("Customer wants a refund for order 42.")
    assert prompt[0].role == "system"
    assert [m.content for m in prompt[1:]] == [m.content for m in history[2:]]
    assert window.tokens == cost(prompt)
    assert window.unsummarized is None


def test_summary_counts_against_the_budget() -> None:
    history = chat(6)
    summary = "one two three"
    head = cost([summary_message(summary)])
    newest = cost([summary_message(summary), ChatMessage("assistant", history[-1].content)])
    window = select_window(
        history, summary=summary, summary_through_seq=2, counter=WORDS, budget_tokens=newest
    )
    assert head < newest
    assert window.summary == summary
    assert [m.content for m in window.messages] == [history[-1].content]
    assert window.tokens == newest
    assert window.unsummarized == SeqRange(3, 5)


def test_summary_too_large_is_left_out() -> None:
    window = select_window(
        chat(2),
        summary="word " * 100,
        summary_through_seq=0,
        counter=WORDS,
        budget_tokens=20,
    )
    assert window.summary is None
    assert len(window.messages) == 2
    assert window.tokens == cost(window.prompt_messages())


def test_roles_and_statuses() -> None:
    history = [
        msg(1, "system", "Conversation handed to an agent"),
        msg(2, "user", "Is my refund done?"),
        msg(3, "agent", "Yes, refunded today."),
        msg(4, "user", "Thanks, and the invoice?"),
        msg(5, "assistant", "", status="failed"),
        msg(6, "assistant", "The invoice is in", status="partial"),
        msg(7, "assistant", "Half", status="failed"),
        msg(8, "assistant", "", status="pending"),
    ]
    window = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=1000
    )
    assert list(window.messages) == [
        ChatMessage("user", "Is my refund done?"),
        ChatMessage("assistant", AGENT_PREFIX + "Yes, refunded today."),
        ChatMessage("user", "Thanks, and the invoice?"),
        ChatMessage("assistant", "The invoice is in" + INTERRUPTED_SUFFIX),
        ChatMessage("assistant", "Half" + INTERRUPTED_SUFFIX),
    ]
    assert window.first_seq == 2
    assert window.unsummarized is None


def test_skipped_messages_alone_need_no_summary() -> None:
    history = [msg(1, "assistant", "", status="failed"), msg(2, "user", "hello")]
    window = select_window(
        history, summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=5
    )
    assert [m.content for m in window.messages] == ["hello"]
    assert window.unsummarized is None


def test_zero_and_negative_budgets() -> None:
    window = select_window(
        chat(2), summary="s", summary_through_seq=0, counter=WORDS, budget_tokens=0
    )
    assert (window.summary, window.messages, window.tokens) == (None, (), 0)
    assert window.unsummarized == SeqRange(1, 2)
    with pytest.raises(ValueError, match="budget_tokens"):
        select_window(chat(2), summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=-1)


def test_result_is_frozen() -> None:
    window = select_window(
        chat(2), summary=None, summary_through_seq=0, counter=WORDS, budget_tokens=100
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.tokens = 1  # type: ignore[misc]


class PairwiseOverheadCounter:
    """A tokenizer whose template cost grows with the square of the message count."""

    def count(self, text: str) -> int:
        return len(text.split())

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count(m.content) for m in messages) + len(messages) ** 2


@pytest.mark.parametrize("budget", range(0, 40, 3))
def test_non_additive_counters_still_respect_the_budget(budget: int) -> None:
    counter = PairwiseOverheadCounter()
    window = select_window(
        chat(6), summary=None, summary_through_seq=0, counter=counter, budget_tokens=budget
    )
    assert window.tokens <= budget
    assert window.tokens == (counter.count_messages(window.messages) if window.messages else 0)
