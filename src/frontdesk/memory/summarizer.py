"""Fold older messages into a short stored summary, using the chat provider.

Summaries are best effort: on a provider failure or timeout the summarizer
returns None and the conversation keeps its previous summary. Run it off the
reply path (e.g. in a background task after the answer is stored).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from frontdesk.domain import ChatMessage, StoredMessage
from frontdesk.errors import FrontdeskError
from frontdesk.events import Finish, ProviderEvent, TextDelta
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider, ChatRequest

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You maintain the running summary of a customer-support conversation. "
    "Merge the previous summary and the new messages into one short summary in plain "
    "sentences: facts the customer gave (account, product, plan, error messages), what "
    "the customer needs and whether it is resolved, and decisions or promises made "
    "(refunds, escalations, next steps). Keep names, numbers and identifiers exactly. "
    "Do not invent anything. Answer with the summary only."
)
LABELS = {"user": "Customer", "assistant": "Assistant", "agent": "Human agent"}
_CONTEXT_MARGIN = 16


class Summarizer:
    """Asks ``provider`` for an updated summary of a conversation."""

    def __init__(
        self,
        provider: ChatProvider,
        *,
        max_tokens: int = 200,
        timeout_seconds: float = 20.0,
        temperature: float = 0.0,
    ) -> None:
        if max_tokens < 1 or timeout_seconds <= 0:
            raise ValueError("max_tokens must be >= 1 and timeout_seconds > 0")
        self._provider = provider
        self._max_tokens = max_tokens
        self._timeout = timeout_seconds
        self._temperature = temperature

    async def summarize(
        self, previous: str | None, messages: Sequence[StoredMessage]
    ) -> str | None:
        """The new summary, or None when the provider failed, timed out or said nothing.

        Transcripts longer than the provider's context are folded in batches,
        each batch building on the summary so far; ``timeout_seconds`` bounds
        the whole call.
        """
        lines = transcript_lines(messages)
        if not lines:
            return previous
        summary = previous
        try:
            async with asyncio.timeout(self._timeout):
                for batch in self._batches(summary, lines):
                    summary = await self._ask(self._prompt(summary, batch))
                    if summary is None:
                        return None
        except TimeoutError:
            log.warning("summary timed out after %.1fs", self._timeout)
            return None
        except FrontdeskError as exc:
            log.warning("summary failed: %s", exc)
            return None
        return summary

    def _prompt(self, previous: str | None, lines: Sequence[str]) -> list[ChatMessage]:
        parts = [f"Previous summary:\n{previous}"] if previous else []
        parts.append("New messages:\n" + "\n".join(lines))
        parts.append("Write the updated summary.")
        return [
            ChatMessage(role="system", content=INSTRUCTIONS),
            ChatMessage(role="user", content="\n\n".join(parts)),
        ]

    def _batches(self, previous: str | None, lines: list[str]) -> list[list[str]]:
        """Split ``lines`` so each prompt fits the context next to a full-length summary."""
        counter = self._provider.tokens
        limit = self._provider.capabilities.context_length - 2 * self._max_tokens
        limit -= _CONTEXT_MARGIN
        # Later batches carry a summary of up to max_tokens instead of ``previous``.
        placeholder = previous or ""
        batches: list[list[str]] = []
        current: list[str] = []
        for line in lines:
            if (
                current
                and counter.count_messages(self._prompt(placeholder, [*current, line])) > limit
            ):
                batches.append(current)
                current = []
            while (
                len(line) > 1 and counter.count_messages(self._prompt(placeholder, [line])) > limit
            ):
                line = line[: len(line) // 2] + " …"
            current.append(line)
        if current:
            batches.append(current)
        return batches

    async def _ask(self, prompt: list[ChatMessage]) -> str | None:
        request = ChatRequest(
            messages=prompt, temperature=self._temperature, max_output_tokens=self._max_tokens
        )
        stream = self._provider.stream(request)
        text = "".join([delta async for delta in _text(stream)]).strip()
        return text or None


async def _text(stream: AsyncIterator[ProviderEvent]) -> AsyncIterator[str]:
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                yield event.text
            elif isinstance(event, Finish):
                return
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def transcript_lines(messages: Sequence[StoredMessage]) -> list[str]:
    """``Label: text`` lines of the messages worth summarising."""
    lines = []
    for message in messages:
        label = LABELS.get(message.role)
        if label is None or not message.content.strip():
            continue
        suffix = (
            " (interrupted)" if message.role == "assistant" and message.status != "complete" else ""
        )
        lines.append(f"{label}: {message.content.strip()}{suffix}")
    return lines


async def refresh_summary(
    store: MemoryStore, summarizer: Summarizer, conversation_id: str, through_seq: int
) -> bool:
    """Fold messages up to ``through_seq`` into the stored summary. True when stored.

    Typical use after a reply: ``window.unsummarized`` is not None, so run
    ``refresh_summary(store, summarizer, conversation_id, window.unsummarized.last)``
    in a background task.
    """
    conversation = await store.get_conversation(conversation_id)
    if conversation is None or through_seq <= conversation.summary_through_seq:
        return False
    fresh = await store.list_messages(conversation_id, after_seq=conversation.summary_through_seq)
    text = await summarizer.summarize(
        conversation.summary, [m for m in fresh if m.seq <= through_seq]
    )
    if text is None:
        return False
    await store.set_summary(conversation_id, text, through_seq)
    return True
