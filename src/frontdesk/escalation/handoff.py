"""The hand-off state machine and everything an agent does to a ticket.

Conversation status follows the ticket::

    bot --escalate--> waiting_for_agent --claim--> agent --hand_back--> bot
                            |                        |
                            +--------close-----------+--> closed

Each change is stored (tickets table, with timestamps) and published live to
the conversation's channel and the tenant's queue channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from frontdesk.auth.keys import Principal
from frontdesk.domain import Conversation, StoredMessage, TurnRecord
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.escalation import payloads
from frontdesk.escalation.estimate import QueueInfo, estimate_wait
from frontdesk.escalation.live import LiveBus, LiveEvent, conversation_channel, queue_channel
from frontdesk.escalation.routing import Route
from frontdesk.escalation.tickets import NewTicket, Note, QueuePage, Ticket, TicketStore
from frontdesk.memory.base import MemoryStore

MAX_AGENT_MESSAGE_CHARS = 5000


@dataclass(frozen=True, slots=True)
class Transcript:
    ticket: Ticket
    conversation: Conversation
    messages: list[StoredMessage]
    turns: dict[str, TurnRecord]
    """Turn records by assistant message id (retrieved sources, verdicts, model)."""
    notes: list[Note]
    queue: QueueInfo


def message_json(message: StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "author": message.metadata.get("author"),
        "created_at": message.created_at.isoformat(),
    }


@dataclass
class Handoff:
    tickets: TicketStore
    store: MemoryStore
    bus: LiveBus
    sinks: Sequence[str] = ()
    """Names of the configured sinks (``webhook``, ``email``): one outbox row each."""
    default_emails: Sequence[str] = ()
    console_url: str | None = None
    on_opened: Callable[[], None] | None = None
    """Called after a ticket is opened (the outbox drainer's ``poke``)."""
    route: Callable[[str], Awaitable[Route]] | None = None
    """The sinks and default recipients of a tenant (its own sinks or the operator's);
    None: ``sinks`` and ``default_emails`` for every tenant."""
    estimate_window: timedelta = field(default_factory=lambda: timedelta(days=1))
    estimate_samples: int = 20

    # --- opening --------------------------------------------------------

    async def open_ticket(self, conversation: Conversation, new: NewTicket) -> tuple[Ticket, bool]:
        transcript = await self.store.list_messages(conversation.id)
        if self.route is not None:
            route = await self.route(new.tenant_id)
            sinks, default_emails = route.sinks, route.default_emails
        else:
            sinks, default_emails = tuple(self.sinks), tuple(self.default_emails)

        def outbox(ticket_id: str) -> list[tuple[str, dict[str, Any]]]:
            body = payloads.ticket_json(
                ticket_id, new, conversation, transcript, console_url=self.console_url
            )
            rows: list[tuple[str, dict[str, Any]]] = []
            for sink in sinks:
                if sink == "email":
                    to = [new.team_email] if new.team_email else list(default_emails)
                    rows.append((sink, payloads.email_json(body, to)))
                else:
                    rows.append((sink, body))
            return rows

        ticket, created = await self.tickets.open(new, outbox)
        if created:
            if self.on_opened is not None:
                self.on_opened()
            await self.publish_status(ticket)
            await self.publish_queue(ticket.tenant_id)
        return ticket, created

    # --- queue ----------------------------------------------------------

    async def queue_info(self, ticket: Ticket, *, position: int | None = None) -> QueueInfo:
        if ticket.status != "waiting":
            return QueueInfo(0, None, 0)
        if position is None:
            position = await self.tickets.waiting_ahead(ticket) + 1
        samples = await self.tickets.recent_claim_seconds(
            ticket.tenant_id, within=self.estimate_window, limit=self.estimate_samples
        )
        elapsed = (self.tickets.clock() - ticket.created_at).total_seconds()
        return QueueInfo(position, estimate_wait(position, samples, elapsed), len(samples))

    async def queue(self, principal: Principal, *, offset: int = 0, limit: int = 50) -> QueuePage:
        """One page of the principal's tenant's open tickets (waiting by priority, then claimed)."""
        return await self.tickets.queue_page(
            tenant_id=principal.tenant_id, offset=offset, limit=limit
        )

    # --- agent actions --------------------------------------------------

    async def get(self, ticket_id: str, principal: Principal) -> Ticket:
        ticket = await self.tickets.get(ticket_id)
        if ticket is None or not principal.can_see(ticket.tenant_id):
            raise NotFound(f"ticket {ticket_id} not found")
        return ticket

    async def claim(self, ticket_id: str, principal: Principal) -> Ticket:
        await self.get(ticket_id, principal)
        ticket = await self.tickets.transition(
            ticket_id,
            allowed_from=("waiting",),
            to="claimed",
            conversation_status="agent",
            values={"claimed_by": principal.key_id, "claimed_by_name": principal.name},
        )
        await self.publish_status(ticket)
        await self.publish_queue(ticket.tenant_id)
        return ticket

    async def reply(self, ticket_id: str, principal: Principal, content: str) -> StoredMessage:
        ticket = await self._owned(ticket_id, principal, "reply to")
        text = _clean(content)
        added = await self.store.add_message(
            ticket.conversation_id,
            role="agent",
            content=text,
            metadata={"author": principal.name, "ticket_id": ticket.id},
        )
        await self.bus.publish(
            conversation_channel(ticket.conversation_id),
            LiveEvent("message", message_json(added.message)),
        )
        return added.message

    async def note(self, ticket_id: str, principal: Principal, content: str) -> Note:
        ticket = await self.get(ticket_id, principal)
        return await self.tickets.add_note(ticket.id, principal.name, _clean(content))

    async def hand_back(
        self, ticket_id: str, principal: Principal, message: str | None = None
    ) -> Ticket:
        await self._owned(ticket_id, principal, "hand back")
        if message and message.strip():
            await self.reply(ticket_id, principal, message)
        ticket = await self.tickets.transition(
            ticket_id, allowed_from=("claimed",), to="handed_back", conversation_status="bot"
        )
        await self.tickets.add_signal(ticket.conversation_id, "handed_back", principal.name)
        await self.publish_status(ticket)
        await self.publish_queue(ticket.tenant_id)
        return ticket

    async def close(
        self, ticket_id: str, principal: Principal, message: str | None = None
    ) -> Ticket:
        current = await self.get(ticket_id, principal)
        if current.status == "claimed":
            await self._owned(ticket_id, principal, "close")
            if message and message.strip():
                await self.reply(ticket_id, principal, message)
        ticket = await self.tickets.transition(
            ticket_id,
            allowed_from=("waiting", "claimed"),
            to="closed",
            conversation_status="closed",
        )
        await self.publish_status(ticket)
        await self.publish_queue(ticket.tenant_id)
        return ticket

    async def transcript(self, ticket_id: str, principal: Principal) -> Transcript:
        ticket = await self.get(ticket_id, principal)
        conversation = await self.store.get_conversation(ticket.conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {ticket.conversation_id} not found")
        messages = await self.store.list_messages(ticket.conversation_id)
        turns = {
            t.assistant_message_id: t
            for t in await self.store.list_turns(ticket.conversation_id)
            if t.assistant_message_id is not None
        }
        notes = await self.tickets.notes(ticket.id)
        return Transcript(
            ticket, conversation, messages, turns, notes, await self.queue_info(ticket)
        )

    # --- live -----------------------------------------------------------

    async def status_json(self, conversation: Conversation) -> dict[str, Any]:
        ticket = await self.tickets.open_for_conversation(conversation.id)
        data: dict[str, Any] = {
            "status": conversation.status,
            "ticket_id": None,
            "team": None,
            "agent": None,
            **QueueInfo(0, None, 0).as_json(),
        }
        if ticket is not None:
            data.update(await self._ticket_status(ticket))
        return data

    async def _ticket_status(self, ticket: Ticket) -> dict[str, Any]:
        status = {
            "waiting": "waiting_for_agent",
            "claimed": "agent",
            "handed_back": "bot",
            "closed": "closed",
        }[ticket.status]
        return {
            "status": status,
            "ticket_id": ticket.id,
            "team": ticket.team,
            "agent": ticket.claimed_by_name if ticket.status == "claimed" else None,
            **(await self.queue_info(ticket)).as_json(),
        }

    async def publish_status(self, ticket: Ticket) -> None:
        await self.bus.publish(
            conversation_channel(ticket.conversation_id),
            LiveEvent("status", await self._ticket_status(ticket)),
        )

    async def publish_queue(self, tenant_id: str) -> None:
        """One event on the tenant's queue channel (not one per waiting ticket: O(1) per change).

        Each waiting customer's live stream listens there and recomputes its own place.
        """
        page = await self.tickets.queue_page(tenant_id=tenant_id, offset=0, limit=0)
        await self.bus.publish(
            queue_channel(tenant_id), LiveEvent("queue", {"waiting": page.waiting})
        )

    async def _owned(self, ticket_id: str, principal: Principal, verb: str) -> Ticket:
        ticket = await self.get(ticket_id, principal)
        if ticket.status != "claimed":
            state = ticket.status.replace("_", " ")
            raise Conflict(f"cannot {verb} ticket {ticket.id}: it is {state}; claim it first")
        if ticket.claimed_by != principal.key_id and principal.role != "admin":
            raise Forbidden(f"ticket {ticket.id} is claimed by {ticket.claimed_by_name}")
        return ticket


def _clean(content: str) -> str:
    text = content.strip()
    if not text:
        raise ValidationFailed("message must not be empty")
    if len(text) > MAX_AGENT_MESSAGE_CHARS:
        raise ValidationFailed(f"message is longer than {MAX_AGENT_MESSAGE_CHARS} characters")
    return text
