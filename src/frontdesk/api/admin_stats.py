"""Admin dashboard numbers: ``GET /api/admin/stats?days=N`` (admin role), for the
caller's tenant only (:mod:`frontdesk.api.tenancy`).

Portable SQLAlchemy Core only: rows are selected plainly and aggregated in
Python (cost is exact text on SQLite, JSON syntax differs per database).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk import web
from frontdesk.api.auth_deps import AdminDep
from frontdesk.api.deps import ServicesDep
from frontdesk.api.tenancy import tenant_of
from frontdesk.errors import ConfigError
from frontdesk.memory.schema import conversations, messages, tickets, turns

router = APIRouter(prefix="/api/admin", tags=["admin"])
page = APIRouter(include_in_schema=False)


@dataclass
class _Day:
    turns: int = 0
    failed: int = 0
    partial: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = field(default_factory=lambda: Decimal(0))
    escalations: int = 0
    ttfts: list[float] = field(default_factory=list)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _engine(services: Any) -> AsyncEngine:
    engine = getattr(services.store, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise ConfigError("admin stats need the SQL conversation store")
    return engine


async def compute_stats(
    engine: AsyncEngine, days: int, *, now: datetime, tenant: str
) -> dict[str, Any]:
    """The dashboard payload of ``tenant`` for the last ``days`` days (UTC, today included)."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    per_day = {first + timedelta(days=i): _Day() for i in range(days)}
    providers: Counter[str] = Counter()
    no_answer = 0
    up = down = 0
    own = select(conversations.c.id).where(conversations.c.tenant_id == tenant)
    async with engine.connect() as conn:
        turn_rows = await conn.execute(
            select(
                turns.c.created_at,
                turns.c.status,
                turns.c.provider,
                turns.c.model,
                turns.c.input_tokens,
                turns.c.output_tokens,
                turns.c.cost,
                turns.c.ttft_ms,
            ).where(turns.c.created_at >= since, turns.c.conversation_id.in_(own))
        )
        for row in turn_rows:
            day = per_day.get(row.created_at.astimezone(UTC).date())
            if day is None:
                continue
            day.turns += 1
            day.failed += row.status == "failed"
            day.partial += row.status == "partial"
            day.input_tokens += row.input_tokens
            day.output_tokens += row.output_tokens
            day.cost += Decimal(row.cost)
            if row.ttft_ms is not None:
                day.ttfts.append(float(row.ttft_ms))
            providers[row.provider] += 1
            no_answer += row.provider == "policy" and row.model == "no_answer"
        ticket_rows = await conn.execute(
            select(tickets.c.created_at).where(
                tickets.c.created_at >= since, tickets.c.tenant_id == tenant
            )
        )
        for row in ticket_rows:
            day = per_day.get(row.created_at.astimezone(UTC).date())
            if day is not None:
                day.escalations += 1
        rated = await conn.execute(
            select(messages.c.metadata).where(
                messages.c.role == "assistant",
                messages.c.created_at >= since,
                messages.c.conversation_id.in_(own),
            )
        )
        for (meta,) in rated:
            rating = _rating(meta)
            up += rating == 1
            down += rating == -1
        conversation_count = await conn.scalar(
            select(func.count())
            .select_from(conversations)
            .where(conversations.c.created_at >= since, conversations.c.tenant_id == tenant)
        )
    return _payload(per_day, providers, no_answer, up, down, int(conversation_count or 0))


def _rating(meta: Any) -> int | None:
    if not isinstance(meta, dict):
        return None
    feedback = meta.get("feedback")
    if not isinstance(feedback, dict):
        return None
    rating = feedback.get("rating")
    return rating if rating in (1, -1) else None


def _payload(
    per_day: dict[date, _Day],
    providers: Counter[str],
    no_answer: int,
    up: int,
    down: int,
    conversation_count: int,
) -> dict[str, Any]:
    all_ttfts = [t for d in per_day.values() for t in d.ttfts]
    day_list = [
        {
            "date": when.isoformat(),
            "turns": d.turns,
            "failed": d.failed,
            "partial": d.partial,
            "input_tokens": d.input_tokens,
            "output_tokens": d.output_tokens,
            "cost": str(d.cost),
            "escalations": d.escalations,
            "ttft_p50_ms": percentile(d.ttfts, 50),
            "ttft_p95_ms": percentile(d.ttfts, 95),
        }
        for when, d in sorted(per_day.items())
    ]
    rated = up + down
    totals = {
        "conversations": conversation_count,
        "turns": sum(d.turns for d in per_day.values()),
        "failed": sum(d.failed for d in per_day.values()),
        "partial": sum(d.partial for d in per_day.values()),
        "input_tokens": sum(d.input_tokens for d in per_day.values()),
        "output_tokens": sum(d.output_tokens for d in per_day.values()),
        "cost": str(sum((d.cost for d in per_day.values()), Decimal(0))),
        "escalations": sum(d.escalations for d in per_day.values()),
        "no_answer": no_answer,
        "ttft_p50_ms": percentile(all_ttfts, 50),
        "ttft_p95_ms": percentile(all_ttfts, 95),
    }
    return {
        "days": day_list,
        "totals": totals,
        "feedback": {
            "up": up,
            "down": down,
            "up_percent": round(100 * up / rated, 1) if rated else None,
        },
        "top_providers": [{"provider": p, "turns": n} for p, n in providers.most_common(5)],
    }


@router.get("/stats")
async def admin_stats(
    services: ServicesDep, admin: AdminDep, days: int = Query(14, ge=1, le=366)
) -> dict[str, Any]:
    """Per-day turns, failures, tokens, cost, escalations; totals; feedback; TTFT; providers
    of the caller's tenant."""
    result: dict[str, Any] = await compute_stats(
        _engine(services), days, now=datetime.now(UTC), tenant=tenant_of(admin)
    )
    result["range_days"] = days
    return result


@page.get("/admin")
async def admin_dashboard() -> FileResponse:
    """The dashboard page (it signs in with an admin key and calls ``/api/admin/stats``)."""
    return FileResponse(
        web.static_dir() / "admin" / "admin.html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": web.CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
