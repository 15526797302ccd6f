"""``frontdesk eval export``: thumbs-down and escalated conversations as candidate cases.

Each candidate holds the customer's messages up to the judged one as ``turns`` and the
bot's answer and the reason in ``note``; ``kind`` is a guess and ``facts`` are empty,
both left for a reviewer (``review: true``). The output is not loadable as a golden set
until reviewed, on purpose.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory.schema import messages, tickets


async def _conversation_messages(engine: AsyncEngine, conversation_id: str) -> list[Any]:
    query = (
        select(messages.c.id, messages.c.role, messages.c.content, messages.c.metadata)
        .where(messages.c.conversation_id == conversation_id)
        .order_by(messages.c.seq)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).mappings())


def _turns_before(rows: list[Any], stop_id: str | None) -> tuple[list[str], str]:
    turns, answer = [], ""
    for row in rows:
        if row["role"] == "user":
            turns.append(str(row["content"]))
        elif row["role"] == "assistant":
            answer = str(row["content"])
        if stop_id is not None and row["id"] == stop_id:
            break
    return turns[-6:], answer


async def export_candidates(engine: AsyncEngine, *, limit: int = 500) -> list[dict[str, Any]]:
    """Candidate cases, newest source first: thumbs-down answers, then escalations."""
    out: list[dict[str, Any]] = []
    async with engine.connect() as conn:
        answers = (
            select(messages)
            .where(messages.c.role == "assistant")
            .order_by(messages.c.created_at.desc())
        )
        rows = list((await conn.execute(answers)).mappings())
        escalations = list(
            (await conn.execute(select(tickets).order_by(tickets.c.created_at.desc()))).mappings()
        )
    for row in rows:
        feedback = (row["metadata"] or {}).get("feedback") or {}
        if feedback.get("rating") != -1:
            continue
        history = await _conversation_messages(engine, row["conversation_id"])
        turns, answer = _turns_before(history, row["id"])
        if turns:
            why = f"thumbs-down: {feedback.get('comment') or ''}".strip()
            out.append(_candidate(f"feedback-{row['id']}", turns, answer, "answerable", why))
    for ticket in escalations:
        history = await _conversation_messages(engine, ticket["conversation_id"])
        turns, answer = _turns_before(history, None)
        if turns:
            note = f"escalated ({ticket['reason']}): {ticket['detail']}"[:500]
            out.append(
                _candidate(f"escalated-{ticket['id']}", turns, answer, "must_escalate", note)
            )
    return out[:limit]


def _candidate(cid: str, turns: list[str], answer: str, kind: str, why: str) -> dict[str, Any]:
    return {
        "id": cid,
        "turns": turns,
        "kind": kind,
        "facts": [],
        "must_not": [],
        "sources": [],
        "tags": ["exported"],
        "split": "dev",
        "note": f"{why} | bot answered: {answer[:400]}",
        "review": True,
    }
