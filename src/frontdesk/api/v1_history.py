"""The history a ``/v1/chat/completions`` client sends: bounded, and guarded message by message.

Every earlier message is client-supplied text (a "previous assistant turn" can be
forged), so the input guard runs on each one, not only the last: PII and secrets are
redacted before anything reaches a provider, and an injection anywhere refuses the
request as it would in the last message. The history is limited in messages and in
tokens (413 with the limit); tokens are counted off the event loop, after a cheap
character pre-check, so a huge history cannot stall other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.chat.guarding import TurnGuard
from frontdesk.domain import ChatMessage
from frontdesk.errors import PayloadTooLarge
from frontdesk.guard.base import InputResult
from frontdesk.providers.base import TokenCounter

MAX_CHARS_PER_TOKEN = 8
"""No tokenizer we ship averages more characters per token: a history with more than
``limit * 8`` characters is over ``limit`` tokens without counting."""


@dataclass(frozen=True, slots=True)
class CheckedHistory:
    messages: list[ChatMessage]
    """Redacted as the guard decided."""
    refused: InputResult | None
    """The first verdict that blocks (or escalates), None when every message passed."""


def check_size(messages: Sequence[ChatMessage], *, max_messages: int, max_tokens: int) -> None:
    if len(messages) > max_messages:
        raise PayloadTooLarge(
            f"the request has {len(messages)} messages; the limit is {max_messages}",
            limit=max_messages,
        )
    chars = sum(len(m.content) for m in messages)
    if chars > max_tokens * MAX_CHARS_PER_TOKEN:
        raise PayloadTooLarge(
            f"the messages are longer than the limit of {max_tokens} tokens", limit=max_tokens
        )


async def check_tokens(
    messages: Sequence[ChatMessage], counter: TokenCounter, *, max_tokens: int
) -> None:
    tokens = await asyncio.to_thread(counter.count_messages, list(messages))
    if tokens > max_tokens:
        raise PayloadTooLarge(
            f"the messages are {tokens} tokens; the limit is {max_tokens}", limit=max_tokens
        )


async def guard_history(history: Sequence[ChatMessage], guard: TurnGuard | None) -> CheckedHistory:
    if guard is None:
        return CheckedHistory(list(history), None)
    out: list[ChatMessage] = []
    refused: InputResult | None = None
    for message in history:
        result = await guard.check_input(message.content)
        if refused is None and result.action in ("block", "escalate"):
            refused = result
        out.append(ChatMessage(message.role, result.text))
    return CheckedHistory(out, refused)
