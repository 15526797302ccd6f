"""Spend reports from turn records (every attempt's cost is on its turn)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory.schema import conversations, gateway_calls, turns

GroupBy = Literal["day", "bot", "model", "conversation", "tenant"]


@dataclass(frozen=True, slots=True)
class SpendRow:
    key: tuple[str, ...]
    turns: int
    input_tokens: int
    output_tokens: int
    cost: Decimal


async def spend(
    engine: AsyncEngine, group_by: Sequence[GroupBy], *, since: datetime | None = None
) -> list[SpendRow]:
    """Cost and tokens grouped by ``group_by``, most expensive first."""
    query = select(
        turns.c.created_at,
        turns.c.model,
        turns.c.provider,
        turns.c.conversation_id,
        turns.c.input_tokens,
        turns.c.output_tokens,
        turns.c.cost,
        conversations.c.bot_id,
        conversations.c.tenant_id,
    ).join(conversations, conversations.c.id == turns.c.conversation_id)
    if since is not None:
        query = query.where(turns.c.created_at >= since)
    totals: dict[tuple[str, ...], list[Decimal | int]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    gateway = select(
        gateway_calls.c.created_at,
        gateway_calls.c.model,
        gateway_calls.c.provider,
        gateway_calls.c.key_id,
        gateway_calls.c.input_tokens,
        gateway_calls.c.output_tokens,
        gateway_calls.c.cost,
        gateway_calls.c.tenant_id,
    )
    if since is not None:
        gateway = gateway.where(gateway_calls.c.created_at >= since)

    def add(values: dict[str, str], row: Any) -> None:
        acc = totals[tuple(values[g] for g in group_by)]
        acc[0] += 1
        acc[1] += row.input_tokens
        acc[2] += row.output_tokens
        acc[3] += row.cost

    async with engine.connect() as conn:
        async for row in await conn.stream(query):
            add(
                {
                    "day": row.created_at.date().isoformat(),
                    "bot": row.bot_id,
                    "model": f"{row.provider}/{row.model}",
                    "conversation": row.conversation_id,
                    "tenant": row.tenant_id,
                },
                row,
            )
        async for call in await conn.stream(gateway):  # /v1 gateway calls, by API key
            add(
                {
                    "day": call.created_at.date().isoformat(),
                    "bot": "(gateway)",
                    "model": f"{call.provider}/{call.model}",
                    "conversation": f"key:{call.key_id}",
                    "tenant": call.tenant_id,
                },
                call,
            )
    rows = [
        SpendRow(key, int(a[0]), int(a[1]), int(a[2]), Decimal(a[3])) for key, a in totals.items()
    ]
    return sorted(rows, key=lambda r: (r.cost, r.key), reverse=True)
