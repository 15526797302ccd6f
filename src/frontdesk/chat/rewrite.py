"""A follow-up made standalone by the model, when the bot is served by a vendor model.

"What about Europe?" after "Which IP addresses do you use for the US region?" is searched
for as "Which IP addresses do you use for the EU region?". :func:`followup.standalone`
decides deterministically that a message depends on the conversation and pairs it with the
previous question; when the serving endpoint is a vendor model (not the embedded one),
:class:`ModelRewriter` asks it, in one short call through the bot's provider chain, for the
question in full. The call is bounded (output tokens, timeout); on any failure, a timeout
or an answer that is no question, the deterministic pairing stands.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from frontdesk.chat.followup import Question
from frontdesk.domain import ChatMessage, StoredMessage
from frontdesk.errors import FrontdeskError
from frontdesk.events import Finish, ProviderEvent, TextDelta
from frontdesk.providers.base import ChatProvider, ChatRequest

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You rewrite the customer's last message in a support conversation as one standalone "
    "question that can be understood without the conversation. Resolve words like 'it', "
    "'that', 'and if' or 'what about' from the earlier messages. Keep plan names, product "
    "names, numbers and the customer's own facts exactly. Do not answer the question. "
    "Reply with the rewritten question only, on one line."
)
VENDOR_DIALECTS = frozenset(["openai", "anthropic", "gemini"])
"""Serving endpoints whose model rewrites follow-ups (not the embedded or scripted ones)."""
LABELS = {"user": "Customer", "assistant": "Assistant", "agent": "Agent"}
MAX_TURNS = 6
"""Earlier messages shown to the model (the most recent ones)."""
MAX_MESSAGE_CHARS = 600
MAX_REWRITE_CHARS = 300
_PREFIX = re.compile(r"^\s*(?:standalone question|rewritten question|question)\s*:\s*", re.I)
_ASKS = re.compile(
    r"^(?:how|what|which|when|where|who|whom|whose|why|can|could|do|does|did|is|are|was|"
    r"were|will|would|should|shall|may|might|have|has|tell|show|explain|list|give)\b",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’`"


class ModelRewriter:
    """Implements :class:`frontdesk.chat.followup.QuestionRewriter` with a provider call."""

    def __init__(
        self,
        provider: ChatProvider,
        *,
        max_tokens: int = 60,
        timeout_seconds: float = 4.0,
    ) -> None:
        if max_tokens < 1 or timeout_seconds <= 0:
            raise ValueError("max_tokens must be >= 1 and timeout_seconds > 0")
        self._provider = provider
        self._max_tokens = max_tokens
        self._timeout = timeout_seconds

    async def rewrite(
        self, question: Question, earlier: Sequence[ChatMessage | StoredMessage]
    ) -> Question:
        """``question`` with the model's standalone wording, or unchanged on any failure."""
        if question.previous is None:
            return question  # not a follow-up: nothing to resolve
        prompt = self.prompt(question.text, earlier)
        try:
            async with asyncio.timeout(self._timeout):
                text = await self._ask(prompt)
        except TimeoutError:
            log.warning("follow-up rewrite timed out after %.1fs", self._timeout)
            return question
        except FrontdeskError as exc:
            log.warning("follow-up rewrite failed: %s", exc)
            return question
        rewritten = clean_rewrite(text)
        if rewritten is None:
            log.info("follow-up rewrite unusable: %r", text[:80])
            return question
        return replace(question, rewritten=rewritten)

    def prompt(
        self, question: str, earlier: Sequence[ChatMessage | StoredMessage]
    ) -> list[ChatMessage]:
        lines = []
        for message in [m for m in earlier if m.role in LABELS][-MAX_TURNS:]:
            content = " ".join(message.content.split())[:MAX_MESSAGE_CHARS]
            if content:
                lines.append(f"{LABELS[message.role]}: {content}")
        last = " ".join(question.split())[:MAX_MESSAGE_CHARS]
        body = "Conversation:\n" + "\n".join(lines) + f"\n\nLast customer message: {last}"
        return [
            ChatMessage(role="system", content=INSTRUCTIONS),
            ChatMessage(role="user", content=body),
        ]

    async def _ask(self, prompt: list[ChatMessage]) -> str:
        request = ChatRequest(
            messages=prompt,
            temperature=0.0,
            max_output_tokens=self._max_tokens,
            metadata={"purpose": "follow_up_rewrite"},
        )
        return "".join([delta async for delta in _text(self._provider.stream(request))])


def clean_rewrite(text: str) -> str | None:
    """The model's question on one line, or None when it is empty, too long or no question."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip(_QUOTES).strip()
    if not line or len(line) > MAX_REWRITE_CHARS or len(line.split()) < 2:
        return None
    if not (line.endswith("?") or _ASKS.match(line)):
        return None  # an answer, not the question
    return line


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
