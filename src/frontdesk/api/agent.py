"""The agent API (agent or admin role): queue, claim, transcript, reply, notes, hand-back, close."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.api.auth_deps import AgentDep, EscalationDep
from frontdesk.api.params import SQL_INT_MAX
from frontdesk.escalation.estimate import QueueInfo, estimate_wait
from frontdesk.escalation.handoff import Transcript, message_json
from frontdesk.escalation.policy import REASON_LABELS
from frontdesk.escalation.tickets import Note, Ticket

router = APIRouter(prefix="/api/agent", tags=["agent"])


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=5000)


class OptionalMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str | None = Field(None, max_length=5000)
    """Shown to the customer as the agent's last message (e.g. the resolution)."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def ticket_out(ticket: Ticket, queue: QueueInfo | None = None) -> dict[str, Any]:
    end = ticket.claimed_at or datetime.now(UTC)
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "tenant_id": ticket.tenant_id,
        "status": ticket.status,
        "reason": ticket.reason,
        "reason_label": REASON_LABELS.get(ticket.reason, ticket.reason),
        "detail": ticket.detail,
        "topic": ticket.topic,
        "team": ticket.team,
        "team_email": ticket.team_email,
        "claimed_by": ticket.claimed_by_name,
        "created_at": _iso(ticket.created_at),
        "claimed_at": _iso(ticket.claimed_at),
        "handed_back_at": _iso(ticket.handed_back_at),
        "closed_at": _iso(ticket.closed_at),
        "wait_seconds": max(0, round((end - ticket.created_at).total_seconds())),
        "priority": ticket.priority,
        "merged": ticket.merged,
        **(queue.as_json() if queue is not None else {}),
    }


def note_out(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": note.author,
        "content": note.content,
        "created_at": _iso(note.created_at),
    }


def transcript_out(t: Transcript) -> dict[str, Any]:
    messages = []
    for m in t.messages:
        if m.role == "system":
            continue
        item = message_json(m)
        turn = t.turns.get(m.id)
        if turn is not None:
            item["turn"] = {
                "status": turn.status,
                "provider": turn.provider,
                "model": turn.model,
                "retrieved_chunk_ids": list(turn.retrieved_chunk_ids),
                "verdicts": list(turn.verdicts),
                "actions": list(turn.params.get("actions", [])),  # each call's audit
                "error": turn.error,
            }
        messages.append(item)
    return {
        "ticket": ticket_out(t.ticket, t.queue),
        "conversation": {
            "id": t.conversation.id,
            "status": t.conversation.status,
            "created_at": _iso(t.conversation.created_at),
            "metadata": dict(t.conversation.metadata),
        },
        "messages": messages,
        "notes": [note_out(n) for n in t.notes],
    }


@router.get("/queue")
async def queue(
    principal: AgentDep,
    escalation: EscalationDep,
    offset: int = Query(0, ge=0, le=SQL_INT_MAX, description="Skip this many tickets (paging)"),
    limit: int = Query(50, ge=1, le=200, description="Tickets per page"),
) -> dict[str, Any]:
    """Open tickets of the key's tenant: waiting ones by priority then wait, then claimed ones.

    Pages by ``offset``/``limit`` with the totals, so every open ticket can be reached.
    """
    handoff = escalation.handoff
    page = await handoff.queue(principal, offset=offset, limit=limit)
    samples: dict[str, list[float]] = {}  # recent claim times, read once per tenant
    now = handoff.tickets.clock()
    items = []
    for i, ticket in enumerate(page.tickets):
        info = None
        if ticket.status == "waiting":
            if ticket.tenant_id not in samples:
                samples[ticket.tenant_id] = await handoff.tickets.recent_claim_seconds(
                    ticket.tenant_id,
                    within=handoff.estimate_window,
                    limit=handoff.estimate_samples,
                )
            # waiting tickets come first, in queue order: the place is the row number
            position = offset + i + 1
            claims = samples[ticket.tenant_id]
            elapsed = (now - ticket.created_at).total_seconds()
            info = QueueInfo(position, estimate_wait(position, claims, elapsed), len(claims))
        items.append(ticket_out(ticket, info))
    after = offset + len(page.tickets)
    return {
        "tickets": items,
        "waiting": page.waiting,
        "claimed": page.claimed,
        "total": page.total,
        "offset": offset,
        "limit": limit,
        "next_offset": after if after < page.total else None,
    }


@router.get("/tickets/{ticket_id}")
async def transcript(
    ticket_id: str, principal: AgentDep, escalation: EscalationDep
) -> dict[str, Any]:
    return transcript_out(await escalation.handoff.transcript(ticket_id, principal))


@router.post("/tickets/{ticket_id}/claim")
async def claim(ticket_id: str, principal: AgentDep, escalation: EscalationDep) -> dict[str, Any]:
    return ticket_out(await escalation.handoff.claim(ticket_id, principal))


@router.post("/tickets/{ticket_id}/reply", status_code=201)
async def reply(
    ticket_id: str, body: TextIn, principal: AgentDep, escalation: EscalationDep
) -> dict[str, Any]:
    return message_json(await escalation.handoff.reply(ticket_id, principal, body.content))


@router.post("/tickets/{ticket_id}/notes", status_code=201)
async def add_note(
    ticket_id: str, body: TextIn, principal: AgentDep, escalation: EscalationDep
) -> dict[str, Any]:
    return note_out(await escalation.handoff.note(ticket_id, principal, body.content))


@router.post("/tickets/{ticket_id}/hand-back")
async def hand_back(
    ticket_id: str,
    principal: AgentDep,
    escalation: EscalationDep,
    body: OptionalMessageIn | None = None,
) -> dict[str, Any]:
    message = body.message if body else None
    return ticket_out(await escalation.handoff.hand_back(ticket_id, principal, message))


@router.post("/tickets/{ticket_id}/close")
async def close(
    ticket_id: str,
    principal: AgentDep,
    escalation: EscalationDep,
    body: OptionalMessageIn | None = None,
) -> dict[str, Any]:
    message = body.message if body else None
    return ticket_out(await escalation.handoff.close(ticket_id, principal, message))


@router.get("/me")
async def me(principal: AgentDep) -> dict[str, Any]:
    """Who the key belongs to (the console's login check)."""
    return {"name": principal.name, "role": principal.role, "tenant_id": principal.tenant_id}
