"""Tickets, notes and conversation signals in SQL (the same engine as the memory store).

Every state change of a ticket and its conversation's status happen in one
transaction, guarded by the expected current state, so two agents claiming at
once get one success and one :class:`~frontdesk.errors.Conflict`.

Opening a ticket merges a requester's repeats into their open ticket. The check
and the insert must be one atomic step: SQLite's ``BEGIN IMMEDIATE`` serialises
writers; on PostgreSQL (READ COMMITTED) the transaction first takes advisory
locks on the requester and, for anonymous requesters, the client address
(:func:`merge_lock_ids`, in sorted order so two openings never deadlock).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from frontdesk.domain import ConversationStatus
from frontdesk.errors import Conflict, NotFound
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import (
    conversation_signals,
    conversations,
    escalation_outbox,
    ticket_notes,
    tickets,
)

TicketStatus = Literal["waiting", "claimed", "handed_back", "closed"]
OPEN: tuple[TicketStatus, ...] = ("waiting", "claimed")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    tenant_id: str
    conversation_id: str
    status: TicketStatus
    reason: str
    detail: str
    topic: str | None
    team: str | None
    team_email: str | None
    claimed_by: str | None
    claimed_by_name: str | None
    created_at: datetime
    claimed_at: datetime | None
    handed_back_at: datetime | None
    closed_at: datetime | None
    priority: int = 0
    """Higher is served first (see :mod:`frontdesk.escalation.priority`)."""
    requester_key: str | None = None
    """Who asked (a browser session, else a client address): their repeats merge here."""
    address_key: str | None = None
    merged: int = 0
    """Later escalations of the same requester merged into this ticket."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    ticket_id: str
    author: str
    content: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewTicket:
    tenant_id: str
    conversation_id: str
    reason: str
    detail: str
    topic: str | None = None
    team: str | None = None
    team_email: str | None = None
    priority: int = 0
    requester_key: str | None = None
    address_key: str | None = None
    merge_by_address: bool = False
    """An anonymous requester: an open ticket from the same client address also absorbs it."""
    repeat_penalty: int = 0
    """Added once to the priority of the open ticket this request merges into (anonymous
    repeats rank below first requests)."""


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the agent queue: waiting tickets first (priority, then wait), then claimed."""

    tickets: list[Ticket]
    offset: int
    waiting: int
    claimed: int

    @property
    def total(self) -> int:
        return self.waiting + self.claimed


def _queue_order() -> list[Any]:
    return [tickets.c.priority.desc(), tickets.c.created_at, tickets.c.id]


def _ticket(row: Mapping[Any, Any]) -> Ticket:
    return Ticket(
        **{k: row[k] for k in Ticket.__dataclass_fields__}  # columns share the field names
    )


class TicketStore:
    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    async def open(
        self, new: NewTicket, outbox: Callable[[str], Sequence[tuple[str, dict[str, Any]]]]
    ) -> tuple[Ticket, bool]:
        """Open a ticket and move the conversation to ``waiting_for_agent``.

        ``outbox(ticket_id)`` gives the (sink, payload) deliveries stored in the
        same transaction. A conversation with an open ticket keeps it:
        returns ``(that ticket, False)``. So does a requester (``new.requester_key``)
        with an open ticket in another conversation: the escalation merges into it
        (its ``merged`` count goes up; this conversation stays with the bot).
        """
        now = self._clock()
        ticket_id = str(uuid.uuid4())
        async with self._writer.begin() as conn:
            await _lock_merge_keys(conn, new)
            same = None
            if new.requester_key is not None:
                same = await self._open_for_requester(conn, new.tenant_id, new.requester_key)
            if same is None and new.merge_by_address and new.address_key is not None:
                same = await self._open_for_address(conn, new.tenant_id, new.address_key, new.topic)
            if same is not None and same.conversation_id != new.conversation_id:
                demoted = case(
                    (tickets.c.merged == 0, tickets.c.priority + new.repeat_penalty),
                    else_=tickets.c.priority,
                )
                await conn.execute(
                    update(tickets)
                    .where(tickets.c.id == same.id)
                    .values(merged=tickets.c.merged + 1, priority=demoted)
                )
                merged = await self._get(conn, same.id)
                assert merged is not None
                return merged, False
            moved = await conn.execute(
                update(conversations)
                .where(conversations.c.id == new.conversation_id)
                .where(conversations.c.status == "bot")
                .values(status="waiting_for_agent", updated_at=now)
            )
            if moved.rowcount == 0:
                existing = await self._open_for(conn, new.conversation_id)
                if existing is not None:
                    return existing, False
                status = await self._conversation_status(conn, new.conversation_id)
                raise Conflict(f"conversation {new.conversation_id} is {status}; cannot escalate")
            values: dict[str, Any] = {
                "id": ticket_id,
                "tenant_id": new.tenant_id,
                "conversation_id": new.conversation_id,
                "status": "waiting",
                "reason": new.reason,
                "detail": new.detail,
                "topic": new.topic,
                "team": new.team,
                "team_email": new.team_email,
                "claimed_by": None,
                "claimed_by_name": None,
                "created_at": now,
                "claimed_at": None,
                "handed_back_at": None,
                "closed_at": None,
                "priority": new.priority,
                "requester_key": new.requester_key,
                "address_key": new.address_key,
                "merged": 0,
            }
            await conn.execute(insert(tickets).values(values))
            for sink, payload in outbox(ticket_id):
                await conn.execute(
                    insert(escalation_outbox).values(
                        id=str(uuid.uuid4()),
                        ticket_id=ticket_id,
                        sink=sink,
                        payload=payload,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        lease_until=None,
                        last_error=None,
                        created_at=now,
                        delivered_at=None,
                    )
                )
        return _ticket(values), True

    async def transition(
        self,
        ticket_id: str,
        *,
        allowed_from: Sequence[TicketStatus],
        to: TicketStatus,
        conversation_status: ConversationStatus,
        values: dict[str, Any] | None = None,
    ) -> Ticket:
        """Move a ticket from one of ``allowed_from`` to ``to`` with its conversation."""
        now = self._clock()
        stamp = {"claimed": "claimed_at", "handed_back": "handed_back_at", "closed": "closed_at"}
        changes = {"status": to, stamp[to]: now, **(values or {})}
        async with self._writer.begin() as conn:
            current = await self._get(conn, ticket_id)
            if current is None:
                raise NotFound(f"ticket {ticket_id} not found")
            result = await conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id)
                .where(tickets.c.status.in_(list(allowed_from)))
                .values(changes)
            )
            if result.rowcount == 0:
                raise Conflict(_conflict_message(current, to))
            await conn.execute(
                update(conversations)
                .where(conversations.c.id == current.conversation_id)
                .values(status=conversation_status, updated_at=now)
            )
            updated = await self._get(conn, ticket_id)
        assert updated is not None
        return updated

    async def get(self, ticket_id: str) -> Ticket | None:
        async with self._engine.connect() as conn:
            return await self._get(conn, ticket_id)

    async def open_for_conversation(self, conversation_id: str) -> Ticket | None:
        async with self._engine.connect() as conn:
            return await self._open_for(conn, conversation_id)

    async def list_tickets(
        self, *, tenant_id: str | None, statuses: Sequence[TicketStatus], limit: int = 200
    ) -> list[Ticket]:
        """Tickets in queue order (priority, then oldest first), at most ``limit``."""
        query = (
            select(tickets)
            .where(tickets.c.status.in_(list(statuses)))
            .order_by(*_queue_order())
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(tickets.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [_ticket(r) for r in (await conn.execute(query)).mappings()]

    async def queue_page(self, *, tenant_id: str | None, offset: int, limit: int) -> QueuePage:
        """Open tickets, waiting ones first in queue order, then claimed ones; with totals.

        Paging by offset reaches every open ticket: none is hidden behind a fixed cap.
        """
        waiting = await self._count(tenant_id, "waiting")
        claimed = await self._count(tenant_id, "claimed")
        rows: list[Ticket] = []
        if offset < waiting:
            rows = await self._slice(tenant_id, "waiting", offset, limit)
        if len(rows) < limit:
            skip = max(0, offset - waiting)
            rows += await self._slice(tenant_id, "claimed", skip, limit - len(rows))
        return QueuePage(rows, offset, waiting, claimed)

    async def _count(self, tenant_id: str | None, status: TicketStatus) -> int:
        query = select(func.count()).select_from(tickets).where(tickets.c.status == status)
        if tenant_id is not None:
            query = query.where(tickets.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def _slice(
        self, tenant_id: str | None, status: TicketStatus, offset: int, limit: int
    ) -> list[Ticket]:
        query = (
            select(tickets)
            .where(tickets.c.status == status)
            .order_by(*_queue_order())
            .offset(offset)
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(tickets.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [_ticket(r) for r in (await conn.execute(query)).mappings()]

    async def waiting_ahead(self, ticket: Ticket) -> int:
        """How many waiting tickets of the tenant are served before ``ticket``.

        Queue order is priority (higher first), then opening time, then id; the
        count is a range scan of the ``(tenant_id, status, priority, created_at, id)``
        index.
        """
        c = tickets.c
        ahead = (c.priority > ticket.priority) | (
            (c.priority == ticket.priority)
            & (
                (c.created_at < ticket.created_at)
                | ((c.created_at == ticket.created_at) & (c.id < ticket.id))
            )
        )
        query = (
            select(func.count())
            .select_from(tickets)
            .where(c.tenant_id == ticket.tenant_id)
            .where(c.status == "waiting")
            .where(ahead)
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def recent_claim_seconds(
        self, tenant_id: str, *, within: timedelta, limit: int
    ) -> list[float]:
        """Seconds from opening to claim of the tenant's latest claimed tickets."""
        since = self._clock() - within
        query = (
            select(tickets.c.created_at, tickets.c.claimed_at)
            .where(tickets.c.tenant_id == tenant_id)
            .where(tickets.c.claimed_at.is_not(None))
            .where(tickets.c.claimed_at >= since)
            .order_by(tickets.c.claimed_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(claimed - created).total_seconds() for created, claimed in rows]

    async def add_note(self, ticket_id: str, author: str, content: str) -> Note:
        values = {
            "id": str(uuid.uuid4()),
            "ticket_id": ticket_id,
            "author": author,
            "content": content,
            "created_at": self._clock(),
        }
        async with self._writer.begin() as conn:
            if await self._get(conn, ticket_id) is None:
                raise NotFound(f"ticket {ticket_id} not found")
            await conn.execute(insert(ticket_notes).values(values))
        return Note(**values)  # type: ignore[arg-type]

    async def notes(self, ticket_id: str) -> list[Note]:
        query = (
            select(ticket_notes)
            .where(ticket_notes.c.ticket_id == ticket_id)
            .order_by(ticket_notes.c.created_at, ticket_notes.c.id)
        )
        async with self._engine.connect() as conn:
            return [Note(**dict(r)) for r in (await conn.execute(query)).mappings()]

    async def add_signal(self, conversation_id: str, kind: str, detail: str) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(self._signal_insert(conversation_id, kind, detail))

    async def recent_signals(self, conversation_id: str, limit: int = 10) -> list[str]:
        """Kinds of the newest signals, newest first."""
        async with self._engine.connect() as conn:
            found = await conn.execute(_recent_signals(conversation_id, limit))
            return [cast(str, k) for k in found.scalars()]

    async def add_signal_and_recent(
        self, conversation_id: str, kind: str, detail: str, *, limit: int = 10
    ) -> list[str]:
        """:meth:`add_signal`, then :meth:`recent_signals` (this one included), in one
        transaction: one trip to the database after every answer instead of two."""
        async with self._writer.begin() as conn:
            await conn.execute(self._signal_insert(conversation_id, kind, detail))
            found = await conn.execute(_recent_signals(conversation_id, limit))
            return [cast(str, k) for k in found.scalars()]

    # --- helpers ---------------------------------------------------------

    def _signal_insert(self, conversation_id: str, kind: str, detail: str) -> Insert:
        return insert(conversation_signals).values(
            id=_sortable_id(),
            conversation_id=conversation_id,
            kind=kind,
            detail=detail,
            created_at=self._clock(),
        )

    @staticmethod
    async def _get(conn: AsyncConnection, ticket_id: str) -> Ticket | None:
        row = (
            (await conn.execute(select(tickets).where(tickets.c.id == ticket_id)))
            .mappings()
            .first()
        )
        return None if row is None else _ticket(row)

    @staticmethod
    async def _open_for(conn: AsyncConnection, conversation_id: str) -> Ticket | None:
        query = (
            select(tickets)
            .where(tickets.c.conversation_id == conversation_id)
            .where(tickets.c.status.in_(list(OPEN)))
            .order_by(tickets.c.created_at.desc())
            .limit(1)
        )
        row = (await conn.execute(query)).mappings().first()
        return None if row is None else _ticket(row)

    @staticmethod
    async def _open_for_requester(
        conn: AsyncConnection, tenant_id: str, requester_key: str
    ) -> Ticket | None:
        query = (
            select(tickets)
            .where(tickets.c.tenant_id == tenant_id)
            .where(tickets.c.requester_key == requester_key)
            .where(tickets.c.status.in_(list(OPEN)))
            .order_by(tickets.c.created_at)
            .limit(1)
        )
        row = (await conn.execute(query)).mappings().first()
        return None if row is None else _ticket(row)

    @staticmethod
    async def _open_for_address(
        conn: AsyncConnection, tenant_id: str, address_key: str, topic: str | None
    ) -> Ticket | None:
        """The oldest open ticket of an anonymous requester from this address on the same
        topic. Different people can share an address (an office, a mobile carrier's NAT): a
        security incident never disappears into someone's open billing question."""
        same_topic = tickets.c.topic.is_(None) if topic is None else tickets.c.topic == topic
        query = (
            select(tickets)
            .where(tickets.c.tenant_id == tenant_id)
            .where(tickets.c.address_key == address_key)
            .where(same_topic)
            .where(tickets.c.status.in_(list(OPEN)))
            .where(~tickets.c.requester_key.like("k:%"))
            .order_by(tickets.c.created_at)
            .limit(1)
        )
        row = (await conn.execute(query)).mappings().first()
        return None if row is None else _ticket(row)

    @staticmethod
    async def _conversation_status(conn: AsyncConnection, conversation_id: str) -> str:
        query = select(conversations.c.status).where(conversations.c.id == conversation_id)
        status = (await conn.execute(query)).scalar_one_or_none()
        if status is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return str(status)


def merge_lock_ids(new: NewTicket) -> list[int]:
    """Advisory lock ids (signed 64-bit) guarding the merge of ``new``, ascending.

    Keyed by tenant and requester, and by tenant and address when the request may
    merge by address; the conversation itself is always locked too (two escalations
    of one conversation)."""
    names = [f"conversation:{new.conversation_id}"]
    if new.requester_key is not None:
        names.append(f"requester:{new.tenant_id}:{new.requester_key}")
    if new.merge_by_address and new.address_key is not None:
        names.append(f"address:{new.tenant_id}:{new.address_key}")
    ids = {
        int.from_bytes(
            hashlib.sha256(f"frontdesk:ticket:{n}".encode()).digest()[:8], "big", signed=True
        )
        for n in names
    }
    return sorted(ids)


async def _lock_merge_keys(conn: AsyncConnection, new: NewTicket) -> None:
    """PostgreSQL: hold the merge locks until this transaction ends (SQLite needs none)."""
    if conn.dialect.name != "postgresql":
        return
    for lock_id in merge_lock_ids(new):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _sortable_id() -> str:
    """36 characters that sort by creation (nanoseconds first), for same-timestamp ties."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:15]}"


def _conflict_message(ticket: Ticket, to: TicketStatus) -> str:
    if to == "claimed" and ticket.status == "claimed":
        who = ticket.claimed_by_name or "another agent"
        return f"ticket {ticket.id} is already claimed by {who}"
    verb = {"claimed": "claim", "handed_back": "hand back", "closed": "close"}[to]
    return f"cannot {verb} ticket {ticket.id}: it is {ticket.status.replace('_', ' ')}"


def _recent_signals(conversation_id: str, limit: int) -> Any:
    return (
        select(conversation_signals.c.kind)
        .where(conversation_signals.c.conversation_id == conversation_id)
        .order_by(conversation_signals.c.created_at.desc(), conversation_signals.c.id.desc())
        .limit(limit)
    )
