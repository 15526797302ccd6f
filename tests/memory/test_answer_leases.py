"""Pending answers of a worker that stopped heart-beating are ended once, by a live worker.

Real SQLite file and real PostgreSQL: two stores on one database stand for two workers
(each with its own id on the answers it inserts); the clock moves the lease on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from frontdesk.memory import migrate
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.leases import WorkerLeases
from frontdesk.memory.schema import messages, workers
from frontdesk.memory.sql import SqlMemoryStore
from tests.memory.pg import temporary_database_async

LEASE = 20.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        found = f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}"
        await asyncio.to_thread(migrate.upgrade, found)
        yield found
        return
    async with temporary_database_async("frontdesk_leases") as found:
        await asyncio.to_thread(migrate.upgrade, found)
        yield found


async def test_a_dead_workers_answers_end_partial_or_failed_once(url: str) -> None:
    clock = Clock()
    engine = create_engine(url)
    try:
        dead, live = SqlMemoryStore(engine, clock=clock), SqlMemoryStore(engine, clock=clock)
        dead.owner, live.owner = "worker-dead", "worker-live"
        leases = WorkerLeases(engine, clock=clock)
        for owner in (dead.owner, live.owner):
            await leases.register(owner)
        conv = await dead.create_conversation(tenant_id="t", bot_id="b")
        streamed = await dead.add_exchange(conv.id, content="first question")
        assert streamed is not None and streamed.reply is not None
        async with engine.begin() as conn:  # text of it was stored before the kill
            await conn.execute(
                update(messages)
                .where(messages.c.id == streamed.reply.id)
                .values(content="Half an ans")
            )
        silent = await dead.add_message(conv.id, role="user", content="second question")
        unstarted = await dead.add_message(
            conv.id, role="assistant", content="", status="pending", reply_to=silent.message.id
        )
        other = await live.create_conversation(tenant_id="t", bot_id="b")
        own = await live.add_exchange(other.id, content="the live worker's question")
        assert own is not None and own.reply is not None

        clock.now += timedelta(seconds=LEASE / 2)
        await leases.heartbeat(live.owner)
        assert await leases.sweep(live.owner, lease_seconds=LEASE) == (0, 0)  # still in lease

        clock.now += timedelta(seconds=LEASE)  # the dead worker missed every heartbeat
        await leases.heartbeat(live.owner)
        results = await asyncio.gather(
            leases.sweep(live.owner, lease_seconds=LEASE),
            leases.sweep("worker-third", lease_seconds=LEASE),
        )
        assert sorted(results) == [(0, 0), (1, 1)]  # each answer ended once, by one sweeper
        async with engine.connect() as conn:  # the dead worker's row is gone, the live one's not
            rows = (await conn.execute(select(workers.c.id))).scalars().all()
        assert sorted(rows) == [live.owner]
        ended = {m.id: m for m in await live.list_messages(conv.id)}
        assert ended[streamed.reply.id].status == "partial"
        assert ended[streamed.reply.id].content == "Half an ans"
        assert ended[unstarted.message.id].status == "failed"
        assert "stopped" in (ended[unstarted.message.id].error or "")
        assert ended[silent.message.id].status == "complete"  # the customer's message stays
        # the live worker's own answer is never taken from it, however old
        clock.now += timedelta(seconds=10 * LEASE)
        await leases.heartbeat(live.owner)
        assert await leases.sweep(live.owner, lease_seconds=LEASE) == (0, 0)
        assert (await live.get_message(own.reply.id)).status == "pending"  # type: ignore[union-attr]
        # ...but once it too stops, another worker ends it
        assert await leases.sweep("worker-third", lease_seconds=LEASE) == (0, 0)  # alive
        await leases.retire(live.owner)
        assert await leases.sweep("worker-third", lease_seconds=LEASE) == (0, 1)
    finally:
        await engine.dispose()
