"""Background jobs claimed by one worker only: queued answers and outbox deliveries.

Two stores on one database stand for two workers (separate engines, separate
connections), on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from frontdesk.escalation.outbox import Outbox
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.schema import escalation_outbox
from frontdesk.memory.sql import SqlMemoryStore
from tests.memory.pg import temporary_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}"
        upgrade(url)
        yield url
    else:
        with temporary_database("frontdesk_claims") as url:
            upgrade(url)
            yield url


@pytest.fixture
async def workers(database_url: str) -> AsyncIterator[tuple[SqlMemoryStore, SqlMemoryStore]]:
    one, two = SqlMemoryStore.from_url(database_url), SqlMemoryStore.from_url(database_url)
    yield one, two
    await one.close()
    await two.close()


async def _queued(store: SqlMemoryStore) -> str:
    conversation = await store.create_conversation(tenant_id="default", bot_id="bot")
    user = await store.add_message(conversation.id, role="user", content="hello?")
    answer = await store.add_message(
        conversation.id,
        role="assistant",
        content="",
        status="queued",
        reply_to=user.message.id,
    )
    return answer.message.id


async def test_exactly_one_worker_wins_each_queued_answer(
    workers: tuple[SqlMemoryStore, SqlMemoryStore],
) -> None:
    one, two = workers
    ids = [await _queued(one) for _ in range(20)]
    wins = await asyncio.gather(
        *(store.claim_queued_message(i) for i in ids for store in (one, two))
    )
    assert sum(wins) == len(ids)
    by_message = [wins[2 * n] + wins[2 * n + 1] for n in range(len(ids))]
    assert by_message == [1] * len(ids)


async def test_a_starting_worker_leaves_the_live_claims_of_others_alone(
    workers: tuple[SqlMemoryStore, SqlMemoryStore],
) -> None:
    one, two = workers
    message = await _queued(one)
    assert await one.claim_queued_message(message)
    # worker two starts (or sweeps) with a lease: a fresh claim is not its business
    stale = datetime.now(UTC) - timedelta(seconds=600)
    assert await two.requeue_answering(claimed_before=stale) == 0
    stored = await two.get_message(message)
    assert stored is not None and stored.status == "answering"
    # once the claim is older than the lease, its worker is taken for dead
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await two.requeue_answering(claimed_before=later) == 1
    stored = await two.get_message(message)
    assert stored is not None and stored.status == "queued"
    assert await two.claim_queued_message(message)
    assert not await one.claim_queued_message(message)


async def test_a_single_process_requeues_every_claim_at_start(
    workers: tuple[SqlMemoryStore, SqlMemoryStore],
) -> None:
    one, _ = workers
    message = await _queued(one)
    assert await one.claim_queued_message(message)
    assert await one.requeue_answering() == 1


class CountingSink:
    name = "webhook"

    def __init__(self) -> None:
        self.deliveries: list[str] = []

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None:
        await asyncio.sleep(0.01)  # both drainers are inside their rounds together
        self.deliveries.append(delivery_id)


async def test_two_outbox_drainers_deliver_each_row_once(database_url: str) -> None:
    engine_one, engine_two = create_engine(database_url), create_engine(database_url)
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4().hex,
            "ticket_id": uuid.uuid4().hex,
            "sink": "webhook",
            "payload": {"n": n},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now - timedelta(seconds=1),
            "lease_until": None,
            "last_error": None,
            "created_at": now,
            "delivered_at": None,
        }
        for n in range(30)
    ]
    sink = CountingSink()
    try:
        async with engine_one.begin() as conn:
            await conn.execute(insert(escalation_outbox), rows)
        one = Outbox(engine_one, {"webhook": sink})
        two = Outbox(engine_two, {"webhook": sink})
        delivered = await asyncio.gather(one.drain_once(limit=50), two.drain_once(limit=50))
        assert sum(delivered) == len(rows)
        assert sorted(sink.deliveries) == sorted(str(r["id"]) for r in rows)
        assert {r.status for r in await one.rows()} == {"delivered"}
        assert list(await asyncio.gather(one.drain_once(), two.drain_once())) == [0, 0]
    finally:
        await engine_one.dispose()
        await engine_two.dispose()
