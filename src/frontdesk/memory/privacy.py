"""Retention, erasure and export queries of the conversation store (same SQL on SQLite and
PostgreSQL). :class:`~frontdesk.memory.sql.SqlMemoryStore` exposes them as methods.

Erasing a conversation deletes its row; messages, turn records, tickets (with their notes)
and conversation signals go with it (``ON DELETE CASCADE``). Escalation outbox rows carry
a ticket's transcript in their payload but no foreign key, so they are deleted explicitly
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from frontdesk.domain import Conversation, StoredMessage, TurnRecord
from frontdesk.memory import rows
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import (
    conversations,
    escalation_outbox,
    messages,
    ticket_notes,
    tickets,
    turns,
)

ERASE_BATCH = 200
"""Conversations deleted per statement (bounded parameter lists on either database)."""


@dataclass(frozen=True, slots=True)
class UserRef:
    """One end user of a tenant, as conversations record them (at least one field set).

    ``user_id`` is the integrator's ``metadata.user_id``; ``session`` a browser session id
    and ``key_id`` the API key id the server recorded as the conversation's requester.
    """

    user_id: str | None = None
    session: str | None = None
    key_id: str | None = None

    def __post_init__(self) -> None:
        if not (self.user_id or self.session or self.key_id):
            raise ValueError("name the user by user_id, session or key_id")


@dataclass(frozen=True, slots=True)
class ConversationExport:
    """Everything stored about one conversation (attachments are the media store's)."""

    conversation: Conversation
    messages: list[StoredMessage]
    turns: list[TurnRecord]
    tickets: list[dict[str, Any]] = field(default_factory=list)
    """Each ticket's columns with its ``notes``."""


async def get_turn(engine: AsyncEngine, turn_id: str) -> TurnRecord | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(turns).where(turns.c.id == turn_id))).mappings().first()
    return None if row is None else rows.turn(row)


async def tenant_ids(engine: AsyncEngine) -> list[str]:
    """Tenants that have conversations, sorted."""
    query = select(conversations.c.tenant_id).distinct().order_by(conversations.c.tenant_id)
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(query)]


async def idle_conversations(
    engine: AsyncEngine, tenant_id: str, before: datetime, limit: int
) -> list[str]:
    """Ids of the tenant's conversations with no activity since ``before``, oldest first."""
    query = (
        select(conversations.c.id)
        .where(conversations.c.tenant_id == tenant_id, conversations.c.updated_at < before)
        .order_by(conversations.c.updated_at, conversations.c.id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(query)]


async def user_conversations(engine: AsyncEngine, tenant_id: str, user: UserRef) -> list[str]:
    """Ids of the tenant's conversations of one end user (any of the user's fields matches)."""
    # here, not at the top: the escalation package imports this store
    from frontdesk.escalation.priority import REQUESTER_FIELD

    meta = conversations.c.metadata
    matches = []
    if user.user_id:
        matches.append(meta["user_id"].as_string() == user.user_id)
    if user.session:
        matches.append(meta[(REQUESTER_FIELD, "session")].as_string() == user.session)
    if user.key_id:
        matches.append(meta[(REQUESTER_FIELD, "identity")].as_string() == user.key_id)
    query = (
        select(conversations.c.id)
        .where(conversations.c.tenant_id == tenant_id, or_(*matches))
        .order_by(conversations.c.created_at, conversations.c.id)
    )
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(query)]


async def erase_conversations(engine: AsyncEngine, conversation_ids: Sequence[str]) -> int:
    """Delete the conversations with everything that hangs off them; how many existed."""
    erased = 0
    ids = list(dict.fromkeys(conversation_ids))
    writer = engine.execution_options(**{WRITE_OPTION: True})
    for start in range(0, len(ids), ERASE_BATCH):
        batch = ids[start : start + ERASE_BATCH]
        async with writer.begin() as conn:
            erased += await _erase_batch(conn, batch)
    return erased


async def _erase_batch(conn: AsyncConnection, batch: list[str]) -> int:
    ticket_ids = select(tickets.c.id).where(tickets.c.conversation_id.in_(batch))
    await conn.execute(
        delete(escalation_outbox).where(escalation_outbox.c.ticket_id.in_(ticket_ids))
    )
    result = await conn.execute(delete(conversations).where(conversations.c.id.in_(batch)))
    return result.rowcount


async def export_conversation(
    engine: AsyncEngine, conversation_id: str
) -> ConversationExport | None:
    async with engine.connect() as conn:
        query = select(conversations).where(conversations.c.id == conversation_id)
        row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        found = await conn.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.seq)
        )
        stored = [rows.message(m) for m in found.mappings()]
        found = await conn.execute(
            select(turns)
            .where(turns.c.conversation_id == conversation_id)
            .order_by(turns.c.created_at, turns.c.id)
        )
        records = [rows.turn(t) for t in found.mappings()]
        tickets_out = await _tickets(conn, conversation_id)
    return ConversationExport(rows.conversation(row), stored, records, tickets_out)


async def _tickets(conn: AsyncConnection, conversation_id: str) -> list[dict[str, Any]]:
    found = await conn.execute(
        select(tickets)
        .where(tickets.c.conversation_id == conversation_id)
        .order_by(tickets.c.created_at, tickets.c.id)
    )
    out = [dict(t) for t in found.mappings()]
    if not out:
        return out
    notes = await conn.execute(
        select(ticket_notes)
        .where(ticket_notes.c.ticket_id.in_([t["id"] for t in out]))
        .order_by(ticket_notes.c.created_at, ticket_notes.c.id)
    )
    by_ticket: dict[str, list[Mapping[str, Any]]] = {}
    for note in notes.mappings():
        by_ticket.setdefault(note["ticket_id"], []).append(dict(note))
    for ticket in out:
        ticket["notes"] = by_ticket.get(ticket["id"], [])
    return out
