"""The memory contract on a real SQLite file, plus SQLite-specific behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from frontdesk.memory.migrate import upgrade_async
from frontdesk.memory.sql import SqlMemoryStore
from tests.contracts.memory_contract import MemoryStoreContract, make_turn
from tests.contracts.privacy_contract import MemoryPrivacyContract


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'frontdesk.db'}"
    await upgrade_async(url)
    return url


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[SqlMemoryStore]:
    store = SqlMemoryStore.from_url(sqlite_url)
    yield store
    await store.close()


class TestSqliteStore(MemoryStoreContract, MemoryPrivacyContract):
    pass


async def test_pragmas(store: SqlMemoryStore) -> None:
    async with store.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 5000


async def test_cost_is_stored_as_exact_text(store: SqlMemoryStore) -> None:
    conversation = await store.create_conversation(tenant_id="t", bot_id="b")
    user = (await store.add_message(conversation.id, role="user", content="hi")).message
    pending = (
        await store.add_message(conversation.id, role="assistant", content="", status="pending")
    ).message
    turn = make_turn(conversation, user, pending, cost=Decimal("9999999999.99999999"))
    await store.complete_turn(
        assistant_message_id=pending.id, content="x", status="complete", error=None, turn=turn
    )
    async with store.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT cost, typeof(cost) FROM turns"))).one()
    assert tuple(raw) == ("9999999999.99999999", "text")


async def test_two_engines_on_one_file_share_seq_and_idempotency(sqlite_url: str) -> None:
    """Two processes' worth of engines writing the same conversation concurrently."""
    first, second = SqlMemoryStore.from_url(sqlite_url), SqlMemoryStore.from_url(sqlite_url)
    try:
        conversation = await first.create_conversation(tenant_id="t", bot_id="b")
        stores = [first, second] * 8
        results = await asyncio.gather(
            *(
                s.add_message(conversation.id, role="user", content=str(i), client_message_id=cid)
                for i, s in enumerate(stores)
                for cid in (f"c{i}", f"c{i}")
            )
        )
        assert sum(r.created for r in results) == len(stores)
        seqs = [m.seq for m in await second.list_messages(conversation.id)]
        assert seqs == list(range(1, len(stores) + 1))
    finally:
        await first.close()
        await second.close()


async def test_reads_continue_while_a_write_transaction_is_open(store: SqlMemoryStore) -> None:
    conversation = await store.create_conversation(tenant_id="t", bot_id="b")
    await store.add_message(conversation.id, role="user", content="before")
    async with store.engine.execution_options(frontdesk_write=True).begin() as conn:
        await conn.execute(text("UPDATE conversations SET title = 'locked'"))
        messages = await store.list_messages(conversation.id)
        assert [m.content for m in messages] == ["before"]
