"""What the chat pipeline calls: decide before the bot answers, and after it did."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from frontdesk.config import Contact
from frontdesk.domain import Conversation, StoredMessage
from frontdesk.errors import NotFound
from frontdesk.escalation import policy
from frontdesk.escalation.estimate import QueueInfo, describe_wait
from frontdesk.escalation.handoff import Handoff, message_json
from frontdesk.escalation.live import LiveEvent, conversation_channel
from frontdesk.escalation.policy import AnswerSignals, PolicyConfig, Trigger
from frontdesk.escalation.priority import REPEAT, Requester, has_content, ticket_priority
from frontdesk.escalation.tickets import NewTicket, Ticket
from frontdesk.memory.base import TurnSignal

Action = Literal["answer", "escalated", "waiting", "with_agent"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to a customer's message instead of (or after) a bot answer."""

    action: Action
    notice: str = ""
    """Text for the customer ('' when nothing is to be said)."""
    message_id: str | None = None
    """The stored assistant message holding ``notice`` (escalations only)."""
    ticket: Ticket | None = None
    trigger: Trigger | None = None
    queue: QueueInfo | None = None

    @property
    def bot_answers(self) -> bool:
        return self.action == "answer"


ANSWER = Decision("answer")


RECENT_MESSAGES = 20
"""Messages before the new one that the on-message policy may look at."""


@dataclass
class EscalationService:
    handoff: Handoff
    contacts: Mapping[str, Contact]
    config: PolicyConfig = field(default_factory=PolicyConfig)
    gate: Callable[[str, Requester], Awaitable[None]] | None = None
    """Admission of an escalation (tenant, requester): raises RateLimited when over a limit."""

    async def on_user_message(self, conversation: Conversation, message: StoredMessage) -> Decision:
        """Call after the user's message is stored and before the bot answers it."""
        current = await self.handoff.store.get_conversation(conversation.id)
        if current is None:
            raise NotFound(f"conversation {conversation.id} not found")
        if current.status in ("waiting_for_agent", "agent"):
            return await self._held(current, message)
        if current.status != "bot":
            return ANSWER
        # the policy looks at the last few customer messages: read a bounded tail, not all
        recent = await self.handoff.store.list_messages(
            current.id, after_seq=max(0, message.seq - RECENT_MESSAGES)
        )
        previous = [m.content for m in recent if m.role == "user" and m.seq < message.seq]
        trigger = self.trigger_on_message(message.content, previous)
        if trigger is None:
            return ANSWER
        return await self.escalate(
            current, trigger, reply_to=message.id, user_texts=[*previous, message.content]
        )

    def trigger_on_message(self, text: str, previous_user_texts: Sequence[str]) -> Trigger | None:
        """What the on-message policy says about a new message in a conversation the bot
        answers (``previous_user_texts``: the customer's earlier messages of the last
        ``RECENT_MESSAGES``, oldest first); None: the bot answers. Reads nothing."""
        topics = policy.team_topics(self.config, self.contacts)
        return policy.detect_on_message(text, previous_user_texts, self.config, topics)

    def answer_signal(self, signals: AnswerSignals) -> TurnSignal:
        """The signal :meth:`after_answer` keeps about an answer (the turn stores it with
        the answer: ``MemoryStore.complete_turn``)."""
        failure = policy.answer_failed(signals, self.config)
        kind = "failed_answer" if failure else "answered"
        return TurnSignal(kind, failure or "", self.config.failed_answers + 1)

    async def after_answer(
        self,
        conversation: Conversation,
        signals: AnswerSignals,
        recent: Sequence[str] | None = None,
    ) -> Decision | None:
        """Call after an answer was stored; a Decision means 'escalated': stream its events.
        ``recent``: the newest signal kinds, newest first, when :meth:`answer_signal`'s
        signal was stored with the answer (else it is stored here)."""
        if recent is None:
            signal = self.answer_signal(signals)
            recent = await self.handoff.tickets.add_signal_and_recent(
                conversation.id, signal.kind, signal.detail, limit=signal.recent
            )
        kinds = list(recent)
        in_a_row = 0
        for kind in kinds:
            if kind != "failed_answer":
                break
            in_a_row += 1
        trigger = policy.detect_after_answer(signals, in_a_row, self.config)
        if trigger is None:
            return None
        current = await self.handoff.store.get_conversation(conversation.id)
        if current is None or current.status != "bot":
            return None
        return await self.escalate(current, trigger)

    async def escalate(
        self,
        conversation: Conversation,
        trigger: Trigger,
        *,
        reply_to: str | None = None,
        user_texts: Sequence[str] | None = None,
    ) -> Decision:
        """Open a ticket (or find the open one) and tell the customer, storing the notice.

        A requester (API key identity, browser session, else client address) with an
        open ticket in another conversation gets no second ticket: the escalation
        merges into the open one and the customer is told where they stand.
        """
        route = policy.route(trigger.topic, self.contacts)
        requester = Requester.of(conversation.metadata)
        if self.gate is not None:
            await self.gate(conversation.tenant_id, requester)
        # after an answer (user_texts None) the customer asked real questions the bot failed
        content = True if user_texts is None else has_content(user_texts)
        priority = ticket_priority(requester, topic=route.topic or trigger.topic, content=content)
        new = NewTicket(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            reason=trigger.reason,
            detail=trigger.detail,
            topic=route.topic,
            team=route.team,
            team_email=route.email,
            priority=priority,
            requester_key=requester.key,
            address_key=requester.address,
            merge_by_address=not requester.verified,
            repeat_penalty=0 if requester.verified else REPEAT,
        )
        ticket, _ = await self.handoff.open_ticket(conversation, new)
        queue = await self.handoff.queue_info(ticket)
        if ticket.conversation_id != conversation.id:
            return await self._merged(conversation, ticket, queue, reply_to)
        who = ticket.team or "a member of our support team"
        notice = f"I'm connecting you with {who}. {describe_wait(queue)}"
        stored = await self.handoff.store.add_message(
            conversation.id,
            role="assistant",
            content=notice,
            reply_to=reply_to,
            metadata={"kind": "handoff_notice", "ticket_id": ticket.id},
        )
        return Decision(
            "escalated",
            notice=notice,
            message_id=stored.message.id,
            ticket=ticket,
            trigger=trigger,
            queue=queue,
        )

    async def _merged(
        self, conversation: Conversation, ticket: Ticket, queue: QueueInfo, reply_to: str | None
    ) -> Decision:
        """This requester already waits in another chat: one ticket, not two."""
        notice = (
            "You already have a request open with our team in another chat; "
            f"a person will answer you there. {describe_wait(queue)}"
        )
        stored = await self.handoff.store.add_message(
            conversation.id,
            role="assistant",
            content=notice,
            reply_to=reply_to,
            metadata={"kind": "handoff_merged", "ticket_id": ticket.id},
        )
        return Decision(
            "waiting", notice=notice, message_id=stored.message.id, ticket=ticket, queue=queue
        )

    async def _held(self, conversation: Conversation, message: StoredMessage) -> Decision:
        await self.handoff.bus.publish(
            conversation_channel(conversation.id), LiveEvent("message", message_json(message))
        )
        ticket = await self.handoff.tickets.open_for_conversation(conversation.id)
        if conversation.status == "agent" or ticket is None or ticket.status == "claimed":
            return Decision("with_agent", ticket=ticket)
        queue = await self.handoff.queue_info(ticket)
        notice = f"Your message is saved for the agent. {describe_wait(queue)}"
        return Decision("waiting", notice=notice, ticket=ticket, queue=queue)
