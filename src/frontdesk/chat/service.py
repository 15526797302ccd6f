"""The chat service: conversations, validation, admission, and turn preparation.

``ChatService.prepare_turn`` validates and stores the user's message (so a
client error is raised before any stream starts, and the message is committed
before a provider is called); the returned :class:`~frontdesk.chat.turn.Turn`
streams the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from frontdesk.admission.budgets import Subject
from frontdesk.admission.gate import Admission
from frontdesk.chat.acting import ActionDeps
from frontdesk.chat.answering import Composer
from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.deps import AnswerMode, TurnDeps, TurnRequest
from frontdesk.chat.guarding import TurnGuard
from frontdesk.chat.kinds import HeldTurn, ReplayTurn, Turn
from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.chat.rewrite import VENDOR_DIALECTS, ModelRewriter
from frontdesk.chat.turn import AnswerTurn
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.domain import ChatMessage, Conversation, StoredMessage
from frontdesk.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from frontdesk.escalation import EscalationService
from frontdesk.escalation.priority import Requester
from frontdesk.escalation.service import RECENT_MESSAGES
from frontdesk.guard.base import InputResult
from frontdesk.identity.model import Identity
from frontdesk.identity.verifier import IdentityVerifier
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.metered import Metered, Route
from frontdesk.providers.pricing import PriceTable
from frontdesk.telemetry import Metrics, Tracing


@dataclass
class ChatService:
    store: MemoryStore
    provider: ChatProvider
    bot: BotConfig
    max_message_chars: int = 5000
    tenant_id: str = "default"
    today: Callable[[], date] = date.today
    background: BackgroundTasks = field(default_factory=lambda: BackgroundTasks())
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing = field(default_factory=Tracing)
    prices: PriceTable | None = None
    admission: Admission | None = None
    endpoints: list[EndpointConfig] = field(default_factory=list)
    """The endpoints behind ``provider`` (for worst-case cost)."""
    cheaper: ChatProvider | None = None
    cheaper_endpoints: list[EndpointConfig] = field(default_factory=list)
    degraded_mode: bool = True
    """Queue questions for later when every provider is down (else: an error event)."""
    summarize: Callable[[str, int], Coroutine[Any, Any, Any]] | None = None
    """Background job folding messages up to a seq into the stored summary."""
    guard: TurnGuard | None = None
    """Input and output guardrails; None = no checks."""
    knowledge: KnowledgeBase | None = None
    """The bot's documents; None = answer without retrieval."""
    escalation: EscalationService | None = None
    """Hands conversations to people; None = the bot always answers."""
    composer: Composer | None = None
    """Composes extractive answers from the retrieved passages."""
    serving_dialect: str | None = None
    """The dialect of the chain's first endpoint (``local``: the embedded model)."""
    identity: IdentityVerifier = field(default_factory=lambda: IdentityVerifier(None))
    """Verifies the customer identity a request presents (no config: everyone anonymous)."""
    actions: ActionDeps | None = None
    """The bot's actions (None: it has none)."""
    tokens_warming: bool = field(default=False, init=False)
    """The first new conversation has scheduled the tokenizer's load (``api/chat.py``)."""

    @property
    def rewriter(self) -> ModelRewriter | None:
        """Follow-ups made standalone by the model when a vendor model serves (the embedded
        one is too slow and too small for it: the deterministic pairing stands)."""
        if self.serving_dialect not in VENDOR_DIALECTS:
            return None
        return ModelRewriter(self.provider)

    @property
    def answer_mode(self) -> AnswerMode:
        """``auto`` answers extractively when the embedded model would serve."""
        mode = self.bot.answer.mode
        if mode == "auto":
            return "extractive" if self.serving_dialect == "local" else "generative"
        return mode

    def deps(self) -> TurnDeps:
        """What a turn of this service needs (explicit: no pointer back to the service)."""
        cheaper = None
        if self.bot.over_budget == "cheaper" and self.cheaper is not None:
            cheaper = Route(self.cheaper, self.cheaper_endpoints)
        return TurnDeps(
            store=self.store,
            provider=self.provider,
            bot=self.bot,
            metered=Metered(
                metrics=self.metrics,
                tracing=self.tracing,
                budget=self.admission,
                prices=self.prices,
            ),
            route=Route(self.provider, self.endpoints),
            cheaper=cheaper,
            background=self.background,
            today=self.today,
            answer_mode=self.answer_mode,
            guard=self.guard,
            knowledge=self.knowledge,
            composer=self.composer,
            rewriter=self.rewriter,
            escalation=self.escalation,
            summarize=self.summarize,
            degraded_mode=self.degraded_mode,
            actions=self.actions,
        )

    def answer_turn(
        self,
        conversation: Conversation,
        user_message: StoredMessage,
        assistant_message_id: str,
        *,
        checked: InputResult | None = None,
        history: Sequence[ChatMessage] | None = None,
        deferred: bool = False,
        images: Sequence[str] = (),
        identity: Identity | None = None,
        earlier: Sequence[StoredMessage] | None = None,
    ) -> AnswerTurn:
        request = TurnRequest(
            conversation=conversation,
            user_message=user_message,
            assistant_message_id=assistant_message_id,
            subject=self.subject(conversation),
            checked=checked,
            protocol="openai" if history is not None else "native",
            history=history,
            deferred=deferred,
            images=tuple(images),
            identity=identity,
            earlier=earlier,
        )
        return AnswerTurn(self.deps(), request)

    def subject(self, conversation: Conversation) -> Subject:
        """Who a turn is accounted to: tenant, user and conversation.

        The user is the authenticated identity (the API key) that opened the
        conversation, as the server recorded it; never a client-chosen field such
        as ``metadata.user_id``. Anonymous conversations have no user (they are
        limited per client address and browser session instead).
        """
        return Subject(
            tenant=conversation.tenant_id,
            user=Requester.of(conversation.metadata).identity,
            conversation=conversation.id,
        )

    async def start_conversation(self, metadata: dict[str, Any] | None = None) -> Conversation:
        return await self.store.create_conversation(
            tenant_id=self.tenant_id, bot_id=self.bot.name, metadata=metadata or {}
        )

    async def get_conversation(self, conversation_id: str) -> Conversation:
        conv = await self.store.get_conversation(conversation_id)
        if conv is None or conv.tenant_id != self.tenant_id:
            # another tenant's conversation answers exactly like a missing one
            raise NotFound(f"conversation {conversation_id} not found")
        return conv

    async def conversation_with_messages(
        self, conversation_id: str
    ) -> tuple[Conversation, list[StoredMessage]]:
        """:meth:`get_conversation` and its messages, in one read."""
        conv, found = await self.store.conversation_with_messages(conversation_id)
        if conv is None or conv.tenant_id != self.tenant_id:
            raise NotFound(f"conversation {conversation_id} not found")
        return conv, found

    def validate_text(self, content: str) -> str:
        if not content or not content.strip():
            raise ValidationFailed("message content must not be empty")
        if len(content) > self.max_message_chars:
            raise PayloadTooLarge(
                f"message is {len(content)} characters; the limit is {self.max_message_chars}",
                limit=self.max_message_chars,
            )
        return content.strip()

    def _answers_at_once(
        self,
        conv: Conversation,
        text: str,
        checked: InputResult | None,
        messages: Sequence[StoredMessage],
    ) -> bool:
        """Whether the bot answers this message without asking escalation again: the
        conversation is the bot's and the on-message policy finds nothing (the store checks
        the status once more under the row lock)."""
        if conv.status != "bot":
            return False
        if self.escalation is None or (checked is not None and checked.action == "block"):
            return True
        recent = messages[-(RECENT_MESSAGES - 1) :]
        previous = [m.content for m in recent if m.role == "user"]
        return self.escalation.trigger_on_message(text, previous) is None

    async def prepare_turn(
        self,
        conversation: Conversation | str,
        content: str,
        *,
        client_message_id: str | None = None,
        history: Sequence[ChatMessage] | None = None,
        history_checked: InputResult | None = None,
        images: Sequence[str] = (),
        identity: Identity | None = None,
        messages: Sequence[StoredMessage] | None = None,
    ) -> Turn:
        """Validate, admit, guard and store the message; the turn streams the answer.

        ``history`` is the conversation as an OpenAI-protocol client sent it (``/v1``),
        already guarded; ``history_checked`` is the guard's verdict on one of those
        messages that blocks: the turn is then refused as if this message were blocked.
        ``messages``: the conversation's stored messages, read with ``conversation`` (the
        native route): the message and the pending answer are then stored in one
        transaction, and the turn's memory is not read again.
        """
        text = self.validate_text(content)
        conv = (
            conversation
            if isinstance(conversation, Conversation)  # the caller read it (identity binding)
            else await self.get_conversation(conversation)
        )
        if conv.status == "closed":
            raise Conflict("this conversation is closed; start a new one")
        if self.admission is not None:
            await self.admission.admit(self.subject(conv))
        checked = await self.guard.check_input(text) if self.guard is not None else None
        if history_checked is not None and (
            checked is None or checked.action not in ("block", "escalate")
        ):
            # an injection earlier in a /v1 history refuses the turn like one in the message
            checked = replace(history_checked, text=checked.text if checked else text)
        if checked is not None:
            text = checked.text  # PII and secrets redacted before storage or any provider
        if (
            messages is not None
            and history is None
            and self._answers_at_once(conv, text, checked, messages)
        ):
            exchange = await self.store.add_exchange(
                conv.id, content=text, client_message_id=client_message_id, if_status="bot"
            )
            if exchange is not None and exchange.reply is not None:
                return self.answer_turn(
                    conv,
                    exchange.user.message,
                    exchange.reply.id,
                    checked=checked,
                    images=images,
                    identity=identity,
                    earlier=messages,
                )
            # the status changed meanwhile, or a repeated client id: the general path decides
        added = await self.store.add_message(
            conv.id, role="user", content=text, client_message_id=client_message_id
        )
        user_msg = added.message
        if not added.created:
            reply = await self.store.find_reply(user_msg.id)
            if reply is not None and reply.status in ("complete", "queued", "answering"):
                return ReplayTurn(self.store, conv, user_msg, reply)
            if reply is not None and reply.status == "pending":
                raise Conflict(
                    f"message {client_message_id} is still being answered; retry shortly"
                )
        if self.escalation is not None and (checked is None or checked.action != "block"):
            decision = await self.escalation.on_user_message(conv, user_msg)
            if not decision.bot_answers:
                return HeldTurn(
                    conv,
                    user_msg,
                    decision,
                    checked=checked,
                    protocol="openai" if history is not None else "native",
                )
        pending = await self.store.add_message(
            conv.id, role="assistant", content="", status="pending", reply_to=user_msg.id
        )
        return self.answer_turn(
            conv,
            user_msg,
            pending.message.id,
            checked=checked,
            history=history,
            images=images,
            identity=identity,
        )
