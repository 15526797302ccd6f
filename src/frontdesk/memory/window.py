"""Choose the conversation history that fits a prompt's token budget.

A pure function: stored messages in, prompt messages out. The newest
messages are kept verbatim and the oldest dropped first; a message is never
split. Messages already folded into the stored summary are left out, and the
summary (when it fits) leads the window as a system message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.domain import ChatMessage, StoredMessage
from frontdesk.providers.base import TokenCounter

SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
AGENT_PREFIX = "[Human agent] "
INTERRUPTED_SUFFIX = "\n[This answer was interrupted before it finished.]"


@dataclass(frozen=True, slots=True)
class SeqRange:
    """Inclusive range of message sequence numbers."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    summary: str | None
    """The stored summary, when it is part of the window."""
    messages: tuple[ChatMessage, ...]
    """Recent messages, oldest first, ready for the prompt."""
    unsummarized: SeqRange | None
    """Messages that fell out of the window but are not in the summary yet:
    summarise these, then store the summary ``through_seq=unsummarized.last``."""
    tokens: int
    """``counter.count_messages(self.prompt_messages())``, 0 for an empty window."""
    first_seq: int | None = None
    """Sequence number of the oldest message kept verbatim."""

    def prompt_messages(self) -> list[ChatMessage]:
        """The summary (as a system message) followed by the recent messages."""
        head = [summary_message(self.summary)] if self.summary is not None else []
        return [*head, *self.messages]


def summary_message(summary: str) -> ChatMessage:
    return ChatMessage(role="system", content=SUMMARY_PREFIX + summary)


def to_prompt_message(message: StoredMessage) -> ChatMessage | None:
    """How a stored message appears in a prompt; None when it must be left out.

    System messages (notices) and messages without content are left out; a
    human agent's message is an assistant message with a visible prefix; an
    unfinished answer is marked as interrupted.
    """
    if message.role == "system" or not message.content.strip():
        return None
    content = message.content
    if message.role == "assistant" and message.status != "complete":
        content += INTERRUPTED_SUFFIX
    if message.role == "agent":
        return ChatMessage(role="assistant", content=AGENT_PREFIX + content)
    if message.role == "assistant":
        return ChatMessage(role="assistant", content=content)
    return ChatMessage(role="user", content=content)


def select_window(
    messages: Sequence[StoredMessage],
    *,
    summary: str | None,
    summary_through_seq: int,
    counter: TokenCounter,
    budget_tokens: int,
) -> HistoryWindow:
    """The newest history that fits ``budget_tokens`` exactly, counted with ``counter``.

    ``messages`` must be in ``seq`` order. The summary has priority over
    verbatim messages; it is left out only when it cannot fit on its own.
    """
    if budget_tokens < 0:
        raise ValueError("budget_tokens must be >= 0")
    fresh = [m for m in messages if m.seq > summary_through_seq]
    candidates = [(m.seq, p) for m in fresh if (p := to_prompt_message(m)) is not None]
    head: list[ChatMessage] = []
    if summary is not None and _count(counter, [summary_message(summary)]) <= budget_tokens:
        head = [summary_message(summary)]

    kept = _fit_newest(candidates, head, counter, budget_tokens)
    # Per-message costs are additive for chat templates, but confirm with one
    # exact count of the final prompt and drop more from the oldest if needed.
    while kept and _count(counter, [*head, *(p for _, p in kept)]) > budget_tokens:
        kept = kept[1:]

    first_seq = kept[0][0] if kept else None
    return HistoryWindow(
        summary=summary if head else None,
        messages=tuple(p for _, p in kept),
        unsummarized=_dropped_range(fresh, first_seq),
        tokens=_count(counter, [*head, *(p for _, p in kept)]),
        first_seq=first_seq,
    )


def _fit_newest(
    candidates: list[tuple[int, ChatMessage]],
    head: list[ChatMessage],
    counter: TokenCounter,
    budget: int,
) -> list[tuple[int, ChatMessage]]:
    empty = counter.count_messages([])
    used = _count(counter, head)
    kept: list[tuple[int, ChatMessage]] = []
    for seq, prompt in reversed(candidates):
        cost = counter.count_messages([prompt]) - empty
        total = (used + cost) if (head or kept) else counter.count_messages([prompt])
        if total > budget:
            break
        kept.append((seq, prompt))
        used = total
    kept.reverse()
    return kept


def _dropped_range(fresh: list[StoredMessage], first_kept: int | None) -> SeqRange | None:
    dropped = [m for m in fresh if first_kept is None or m.seq < first_kept]
    if not any(to_prompt_message(m) is not None for m in dropped):
        return None
    return SeqRange(first=dropped[0].seq, last=dropped[-1].seq)


def _count(counter: TokenCounter, prompt: Sequence[ChatMessage]) -> int:
    return counter.count_messages(prompt) if prompt else 0
