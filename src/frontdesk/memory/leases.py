"""Workers' heartbeats and the pending answers of workers that stopped.

Each API worker has a row in ``workers`` it renews every few seconds; the pending answers
it inserts carry its id (``messages.owner``). A pending answer whose owner has no fresh
heartbeat belongs to a dead worker (kill -9, OOM, a lost machine): :meth:`sweep` ends it
as ``partial`` when text of it was stored, else ``failed``. The claim is
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (two sweeping workers never take the
same answer); SQLite has no row locks and one writer at a time, and the update is guarded
by ``status = 'pending'`` either way, so an answer is ended once.

One heartbeat per worker, not one per answer: process death is what leaves answers
pending (a live worker's own turn always stores its ending), and a worker-wide heartbeat
costs one short write every few seconds however many answers it streams.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import messages, workers


def utc_now() -> datetime:
    return datetime.now(UTC)


class WorkerLeases:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._postgres = engine.dialect.name == "postgresql"
        self._clock = clock

    async def register(self, worker_id: str) -> None:
        now = self._clock()
        async with self._writer.begin() as conn:
            await conn.execute(
                insert(workers).values(id=worker_id, started_at=now, heartbeat_at=now)
            )

    async def heartbeat(self, worker_id: str) -> bool:
        """Renew the worker's lease; False when its row is gone (re-register)."""
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(workers).where(workers.c.id == worker_id).values(heartbeat_at=self._clock())
            )
        return bool(result.rowcount)

    async def retire(self, worker_id: str) -> None:
        """A clean stop: the worker's row goes (its answers, if any, are orphans now)."""
        async with self._writer.begin() as conn:
            await conn.execute(delete(workers).where(workers.c.id == worker_id))

    async def sweep(
        self, worker_id: str, *, lease_seconds: float, batch: int = 200
    ) -> tuple[int, int]:
        """End up to ``batch`` pending answers of dead workers: (partial, failed)."""
        now = self._clock()
        stale = now - timedelta(seconds=lease_seconds)
        alive = exists().where(
            and_(workers.c.id == messages.c.owner, workers.c.heartbeat_at >= stale)
        )
        claim = (
            select(messages.c.id, messages.c.content)
            .where(messages.c.status == "pending")
            .where(messages.c.owner.is_not(None))
            .where(messages.c.owner != worker_id)
            .where(messages.c.created_at < stale)  # a fresh answer's owner may be registering
            .where(~alive)
            .limit(batch)
        )
        if self._postgres:
            claim = claim.with_for_update(of=messages, skip_locked=True)
        async with self._writer.begin() as conn:
            # a silent worker's row goes too (a missing row counts as dead: `alive` above),
            # so restarts do not pile up rows; a stalled worker that wakes re-registers
            await conn.execute(delete(workers).where(workers.c.heartbeat_at < stale))
            found = (await conn.execute(claim)).all()
            if not found:
                return 0, 0
            await conn.execute(
                update(messages)
                .where(messages.c.id.in_([row.id for row in found]))
                .where(messages.c.status == "pending")
                .values(
                    status=case((messages.c.content != "", "partial"), else_="failed"),
                    error="interrupted: the worker answering it stopped",
                    completed_at=now,
                )
            )
            # the claimed rows are locked (PostgreSQL) or the database is (SQLite's one
            # writer): none of them changed between the claim and the update
        partial = sum(1 for row in found if row.content)
        return partial, len(found) - partial
