"""What a turn needs, stated explicitly: the services it calls and the request it answers.

A turn gets a :class:`TurnDeps` (built once per turn by the chat service, or by a test) and a
:class:`TurnRequest`; it holds no pointer back to the service.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from frontdesk.admission.budgets import Subject
from frontdesk.chat.acting import ActionDeps
from frontdesk.chat.answering import Composer
from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.followup import QuestionRewriter
from frontdesk.chat.guarding import TurnGuard
from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.config import BotConfig
from frontdesk.domain import ChatMessage, Conversation, StoredMessage
from frontdesk.escalation import EscalationService
from frontdesk.guard.base import InputResult
from frontdesk.identity.model import Identity
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.metered import Metered, Route

AnswerMode = Literal["generative", "extractive"]
ApiProtocol = Literal["native", "openai"]
"""native: the SSE API with notices; openai: ``/v1`` (notices become answer text)."""


@dataclass(frozen=True, slots=True)
class TurnDeps:
    store: MemoryStore
    provider: ChatProvider
    """The bot's chain (its tokenizer and context window fit the prompt)."""
    bot: BotConfig
    metered: Metered
    """Budget reservation, the cheaper chain, cost, metrics and spans (as the gateway's)."""
    route: Route
    """The bot's chain and the endpoints behind it (for the worst-case cost)."""
    background: BackgroundTasks
    today: Callable[[], date] = date.today
    answer_mode: AnswerMode = "generative"
    """Resolved from the bot's ``answer.mode`` and the serving endpoint."""
    cheaper: Route | None = None
    """Over budget: answer from this chain instead (None: refuse)."""
    guard: TurnGuard | None = None
    knowledge: KnowledgeBase | None = None
    composer: Composer | None = None
    rewriter: QuestionRewriter | None = None
    """Makes follow-ups standalone with the model (vendor endpoints; None: deterministic)."""
    escalation: EscalationService | None = None
    summarize: Callable[[str, int], Coroutine[Any, Any, Any]] | None = None
    degraded_mode: bool = True
    actions: ActionDeps | None = None
    """The bot's actions (None: it has none, or they are not configured)."""


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """The message a turn answers (already validated, redacted and stored)."""

    conversation: Conversation
    user_message: StoredMessage
    assistant_message_id: str
    subject: Subject
    checked: InputResult | None = None
    protocol: ApiProtocol = "native"
    history: Sequence[ChatMessage] | None = None
    """The conversation as the client sent it (``/v1``); None: read it from memory."""
    deferred: bool = False
    """Answering a queued message in the background: a provider failure re-queues it."""
    images: tuple[str, ...] = ()
    """The message's images as ``data:`` URLs (only with the bot's ``media.vision``): the
    provider gets them with the text read from them."""
    identity: Identity | None = None
    """The customer as verified on this request (None: anonymous); actions act for them."""
    earlier: Sequence[StoredMessage] | None = None
    """The conversation's messages before ``user_message``, as the request read them (None:
    the turn reads its memory from the store)."""

    @property
    def as_text(self) -> bool:
        return self.protocol == "openai"
