"""The memory contract on the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from frontdesk.memory.base import AddedMessage
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.schema import messages
from frontdesk.memory.sql import SqlMemoryStore
from tests.contracts.memory_contract import MemoryStoreContract
from tests.contracts.privacy_contract import MemoryPrivacyContract
from tests.memory.pg import temporary_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        upgrade(url)
        yield url


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[SqlMemoryStore]:
    store = SqlMemoryStore.from_url(postgres_url)
    yield store
    await store.close()


class TestPostgresStore(MemoryStoreContract, MemoryPrivacyContract):
    pass


async def _wait_until_blocked(engine: AsyncEngine) -> None:
    """Wait until some session of this database waits for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one() > 0:
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the store never blocked on the competing insert")


async def _race(
    store: SqlMemoryStore, postgres_url: str, client_message_id: str | None
) -> tuple[str, AddedMessage]:
    """Another writer inserts seq 1 (bypassing the store) while the store appends.

    The store's insert blocks on the unique index until the other transaction
    commits, then fails with a unique violation it must recover from.
    """
    conversation = await store.create_conversation(tenant_id="t", bot_id="b")
    other = create_async_engine(postgres_url)
    try:
        async with other.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(
                insert(messages).values(
                    id=str(uuid.uuid4()),
                    conversation_id=conversation.id,
                    seq=1,
                    role="user",
                    content="from elsewhere",
                    status="complete",
                    client_message_id=client_message_id,
                    metadata={},
                    created_at=datetime.now(UTC),
                )
            )
            task = asyncio.create_task(
                store.add_message(
                    conversation.id,
                    role="user",
                    content="mine",
                    client_message_id=client_message_id,
                )
            )
            await _wait_until_blocked(other)
            await transaction.commit()
        return conversation.id, await task
    finally:
        await other.dispose()


async def test_unique_violation_on_client_id_returns_the_stored_message(
    store: SqlMemoryStore, postgres_url: str
) -> None:
    conversation_id, added = await _race(store, postgres_url, "dup")
    assert not added.created
    assert added.message.content == "from elsewhere"
    assert len(await store.list_messages(conversation_id)) == 1


async def test_unique_violation_on_seq_is_retried(store: SqlMemoryStore, postgres_url: str) -> None:
    conversation_id, added = await _race(store, postgres_url, None)
    assert added.created
    assert added.message.seq == 2
    stored = await store.list_messages(conversation_id)
    assert [(m.seq, m.content) for m in stored] == [(1, "from elsewhere"), (2, "mine")]
