"""The durable outbox: sink deliveries stored with the ticket, drained with backoff.

Rows are written in the ticket's own transaction
(:meth:`~frontdesk.escalation.tickets.TicketStore.open`), so an escalation is
never lost to a failing sink: a row stays ``pending`` and is retried with
exponential backoff and jitter until it is ``delivered`` or, after
``max_attempts``, ``dead`` (kept for an operator; never deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.escalation.routing import SinkRouter
from frontdesk.escalation.sinks import EscalationSink, SinkError
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import escalation_outbox, tickets
from frontdesk.tasks import stop_task

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    ticket_id: str
    sink: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 12

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before attempt ``attempts + 1`` (between half and all of it)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return float(ceiling * (0.5 + 0.5 * rand()))


def _row(r: Mapping[Any, Any]) -> OutboxRow:
    return OutboxRow(**{k: r[k] for k in OutboxRow.__dataclass_fields__})


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine,
        sinks: Mapping[str, EscalationSink],
        *,
        backoff: Backoff = Backoff(),
        lease_seconds: float = 120.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        router: SinkRouter | None = None,
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._sinks = dict(sinks)
        self.router = router
        """Picks a tenant's own sink for its tickets' rows (else ``sinks`` by name)."""
        self._backoff = backoff
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock

    @property
    def sink_names(self) -> list[str]:
        return list(self._sinks)

    async def rows(self, ticket_id: str | None = None) -> list[OutboxRow]:
        query = select(escalation_outbox).order_by(escalation_outbox.c.created_at)
        if ticket_id is not None:
            query = query.where(escalation_outbox.c.ticket_id == ticket_id)
        async with self._engine.connect() as conn:
            return [_row(r) for r in (await conn.execute(query)).mappings()]

    async def drain_once(self, limit: int = 20) -> int:
        """Try every due delivery once; return how many were delivered."""
        now = self._clock()
        query = (
            select(escalation_outbox, tickets.c.tenant_id.label("ticket_tenant"))
            .outerjoin(tickets, tickets.c.id == escalation_outbox.c.ticket_id)
            .where(escalation_outbox.c.status == "pending")
            .where(escalation_outbox.c.next_attempt_at <= now)
            .where(
                or_(
                    escalation_outbox.c.lease_until.is_(None),
                    escalation_outbox.c.lease_until < now,
                )
            )
            .order_by(escalation_outbox.c.next_attempt_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(query)).mappings()
            due = [(_row(r), cast("str | None", r["ticket_tenant"])) for r in found]
        delivered = 0
        for row, tenant_id in due:
            if await self._lease_row(row.id):
                delivered += await self._attempt(row, tenant_id)
        return delivered

    async def _lease_row(self, row_id: str) -> bool:
        """Take the row for this worker; False when another worker has it."""
        now = self._clock()
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(escalation_outbox)
                .where(escalation_outbox.c.id == row_id)
                .where(escalation_outbox.c.status == "pending")
                .where(
                    or_(
                        escalation_outbox.c.lease_until.is_(None),
                        escalation_outbox.c.lease_until < now,
                    )
                )
                .values(lease_until=now + self._lease)
            )
        return result.rowcount == 1

    async def _sink(self, tenant_id: str | None, name: str) -> EscalationSink | None:
        if self.router is None:
            return self._sinks.get(name)
        return await self.router.sink(tenant_id, name)

    async def _attempt(self, row: OutboxRow, tenant_id: str | None = None) -> int:
        attempts = row.attempts + 1
        error: str | None
        sink: EscalationSink | None = None
        try:
            sink = await self._sink(tenant_id, row.sink)
            error = None if sink is not None else f"sink {row.sink!r} is not configured"
        except Exception as exc:  # e.g. the tenant's secret variable is not set
            error = f"sink {row.sink!r} of tenant {tenant_id!r}: {exc}"
        if sink is not None:
            try:
                await sink.deliver(row.payload, delivery_id=row.id)
                error = None
            except SinkError as exc:
                error = str(exc)
            except Exception as exc:  # a sink bug must not stop the drain loop
                log.exception("escalation sink %s crashed", row.sink)
                error = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        if error is None:
            values: dict[str, Any] = {
                "status": "delivered",
                "attempts": attempts,
                "delivered_at": now,
                "lease_until": None,
                "last_error": None,
            }
        else:
            dead = attempts >= self._backoff.max_attempts
            log.warning("escalation delivery %s via %s failed: %s", row.id, row.sink, error)
            values = {
                "status": "dead" if dead else "pending",
                "attempts": attempts,
                "last_error": error[:2000],
                "lease_until": None,
                "next_attempt_at": now + timedelta(seconds=self._backoff.delay(attempts)),
            }
        async with self._writer.begin() as conn:
            await conn.execute(
                update(escalation_outbox).where(escalation_outbox.c.id == row.id).values(values)
            )
        return 1 if error is None else 0


class OutboxDrainer:
    """The background loop: drain, sleep ``interval`` (or until poked), repeat."""

    def __init__(self, outbox: Outbox, *, interval_seconds: float = 5.0) -> None:
        self._outbox = outbox
        self._interval = interval_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def poke(self) -> None:
        """Drain now (called after a ticket is opened)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._outbox.drain_once()
            except Exception:
                log.exception("escalation outbox drain failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)

    async def aclose(self) -> None:
        await stop_task(self._task)
        self._task = None
