"""What a turn needs, stated explicitly: the services it calls and the request it answers.

A turn gets a :class:`TurnDeps` (built once per turn by the chat service, or by a test) and a
:class:`TurnRequest`; it holds no pointer back to the service.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from frontdesk.chat.admission import Admission
from frontdesk.chat.answering import Composer
from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.guarding import TurnGuard
from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.domain import ChatMessage, Conversation, StoredMessage
from frontdesk.errors import BudgetExceeded
from frontdesk.escalation import EscalationService
from frontdesk.guard.pipeline import InputResult
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.budget import Reservation, Subject
from frontdesk.providers.pricing import PriceTable
from frontdesk.telemetry import Metrics, Tracing

AnswerMode = Literal["generative", "extractive"]
ApiProtocol = Literal["native", "openai"]
"""native: the SSE API with notices; openai: ``/v1`` (notices become answer text)."""


@dataclass(frozen=True, slots=True)
class CostControl:
    """Budgets of the bot's chain: reserve the worst case, or switch to the cheaper chain."""

    admission: Admission
    endpoints: Sequence[EndpointConfig]
    cheaper: ChatProvider | None = None
    cheaper_endpoints: Sequence[EndpointConfig] = ()
    over_budget: Literal["refuse", "cheaper"] = "refuse"

    async def reserve(
        self, subject: Subject, primary: ChatProvider, prompt_tokens: int, max_output_tokens: int
    ) -> tuple[ChatProvider, Reservation]:
        """The provider to call and its reservation; raises BudgetExceeded when refused."""
        amount = self.admission.worst_case(self.endpoints, prompt_tokens, max_output_tokens)
        try:
            return primary, await self.admission.reserve(subject, amount)
        except BudgetExceeded:
            if self.over_budget != "cheaper" or self.cheaper is None:
                raise
        amount = self.admission.worst_case(self.cheaper_endpoints, prompt_tokens, max_output_tokens)
        return self.cheaper, await self.admission.reserve(subject, amount)

    async def settle(self, reservation: Reservation, cost: Decimal) -> None:
        await self.admission.settle(reservation, cost)


@dataclass(frozen=True, slots=True)
class TurnDeps:
    store: MemoryStore
    provider: ChatProvider
    bot: BotConfig
    metrics: Metrics
    tracing: Tracing
    background: BackgroundTasks
    today: Callable[[], date] = date.today
    answer_mode: AnswerMode = "generative"
    """Resolved from the bot's ``answer.mode`` and the serving endpoint."""
    prices: PriceTable | None = None
    costs: CostControl | None = None
    guard: TurnGuard | None = None
    knowledge: KnowledgeBase | None = None
    composer: Composer | None = None
    escalation: EscalationService | None = None
    summarize: Callable[[str, int], Coroutine[Any, Any, Any]] | None = None
    degraded_mode: bool = True


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

    @property
    def as_text(self) -> bool:
        return self.protocol == "openai"
