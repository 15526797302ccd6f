"""The turn's transactions run directly on SQLite's thread (memory/sqlite_direct.py): the
same rows and errors as through SQLAlchemy, one hand-off each, closed with the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from frontdesk.domain import Conversation
from frontdesk.memory import sqlite_direct, sqlite_driver
from frontdesk.memory.base import TurnSignal
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade_async
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.memory.sqlite_direct import Prepared, Rollback
from tests.contracts.memory_contract import MemoryStoreContract, make_turn


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'frontdesk.db'}"
    await upgrade_async(url)
    return url


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[SqlMemoryStore]:
    """SQLite's store through SQLAlchemy only (the path PostgreSQL and in-memory take)."""
    store = SqlMemoryStore.from_url(sqlite_url)
    store._direct = None
    yield store
    await store.close()


class TestSqliteStoreThroughSqlAlchemy(MemoryStoreContract):
    pass


async def _a_turn(s: SqlMemoryStore, conv: Conversation) -> tuple[Any, ...]:
    made = await s.add_exchange(conv.id, content="hi", client_message_id="c1")
    assert made is not None and made.reply is not None
    again = await s.add_exchange(conv.id, content="hi", client_message_id="c1")
    assert again is not None and again.reply is None
    turn = make_turn(conv, made.user.message, made.reply, cost=Decimal("0.12345678"))
    kinds = await s.complete_turn(
        assistant_message_id=made.reply.id,
        content="answer",
        status="complete",
        error=None,
        turn=turn,
        metadata={"citations": [{"n": 1}]},
        signal=TurnSignal("answered", "", 3),
    )
    found, listed = await s.conversation_with_messages(conv.id)
    return made, again.user, kinds, found, listed


def _comparable(value: Any) -> Any:
    """Ids and times differ between the two runs: everything else must not."""
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        fields = {f: getattr(value, f) for f in value.__dataclass_fields__}
        for name in ("id", "conversation_id", "created_at", "updated_at"):
            fields.pop(name, None)
        if "reply_to" in fields:
            fields["reply_to"] = bool(fields["reply_to"])
        return {k: _comparable(v) for k, v in fields.items()}
    return value


async def test_the_same_rows_as_through_sqlalchemy(sqlite_url: str) -> None:
    direct = SqlMemoryStore.from_url(sqlite_url)
    plain = SqlMemoryStore(direct.engine)
    plain._direct = None
    assert direct._direct is not None
    try:
        results = []
        for s in (direct, plain):
            conv = await s.create_conversation(tenant_id="t", bot_id="b", metadata={"k": [1]})
            results.append(await _a_turn(s, conv))
            _, _, _, found, listed = results[-1]
            assert found is not None and found.created_at.tzinfo is not None
            assert listed[-1].metadata == {"citations": [{"n": 1}]}
        assert _comparable(results[0]) == _comparable(results[1])
        async with direct.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT cost, params FROM turns"))).all()
        assert stored[0] == stored[1] and stored[0][0] == "0.12345678"
    finally:
        await direct.close()


async def test_each_transaction_is_one_handoff(sqlite_url: str, monkeypatch: Any) -> None:
    store = SqlMemoryStore.from_url(sqlite_url)
    calls: list[str] = []
    original = sqlite_driver.Connection._call

    async def counted(self: Any, function: Any) -> Any:
        calls.append(getattr(function, "func", function).__name__)
        return await original(self, function)

    try:
        conv = await store.create_conversation(tenant_id="t", bot_id="b")
        monkeypatch.setattr(sqlite_driver.Connection, "_call", counted)
        await _a_turn(store, conv)
        await store.add_exchange("no-such-conversation", content="hi")
    finally:
        await store.close()
    opened = [c for c in calls if c != "_transaction"]  # the two connections' first use
    assert calls.count("_transaction") == 5 and len(opened) <= 4, calls


async def test_errors_are_wrapped_as_sqlalchemy_wraps_them(sqlite_url: str) -> None:
    store = SqlMemoryStore.from_url(sqlite_url)
    direct = store._direct
    assert direct is not None
    try:
        insert = direct.prepare(
            text("INSERT INTO workers (id, started_at, heartbeat_at) VALUES ('w', 'x', 'x')")
        )
        await direct.write(lambda db: sqlite_direct.execute(db, insert, ()))
        with pytest.raises(IntegrityError):
            await direct.write(lambda db: sqlite_direct.execute(db, insert, ()))
        bad = direct.prepare(text("SELECT nothing FROM nowhere"))
        with pytest.raises(OperationalError):
            await direct.read(lambda db: sqlite_direct.execute(db, bad, ()))
        # a rolled-back job leaves nothing behind
        other = direct.prepare(
            text("INSERT INTO workers (id, started_at, heartbeat_at) VALUES ('v', 'x', 'x')")
        )

        def undone(db: Any) -> Rollback:
            sqlite_direct.execute(db, other, ())
            return Rollback("kept")

        assert await direct.write(undone) == "kept"
        async with store.engine.connect() as conn:
            ids = (await conn.execute(text("SELECT id FROM workers"))).scalars().all()
        assert ids == ["w"]
    finally:
        await store.close()


async def test_closed_with_the_engine_and_reopened_on_use(sqlite_url: str) -> None:
    store = SqlMemoryStore.from_url(sqlite_url)
    try:
        conv = await store.create_conversation(tenant_id="t", bot_id="b")
        assert (await store.conversation_with_messages(conv.id))[0] is not None
        assert store._direct is not None
        threads = [c._thread for c in store._direct._conns.values()]
        await store.engine.dispose()
        for thread in threads:
            await asyncio.to_thread(thread.join, 5)
            assert not thread.is_alive()
        assert (await store.conversation_with_messages(conv.id))[0] is not None
    finally:
        await store.close()


def test_an_in_memory_database_keeps_sqlalchemys_path() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    assert SqlMemoryStore(engine)._direct is None


def test_a_statement_is_bound_as_sqlalchemy_binds_it(sqlite_url: str) -> None:
    from frontdesk.memory.sql import _RECENT_SIGNALS

    engine = create_engine(sqlite_url)
    prepared = Prepared(_RECENT_SIGNALS, engine.dialect)
    assert prepared.sql.endswith("LIMIT ? OFFSET ?")
    assert prepared.bind({"b_conversation": "c", "b_limit": 3}) == ("c", 3, 0)
    assert prepared.keys == ("kind",)


async def test_a_write_waits_for_a_pooled_writer(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection holding SQLite's write lock: the direct write (its connection's
    own busy timeout 0) waits and goes through once it is let go, and past the busy
    timeout fails as SQLAlchemy reports a locked database (503 database_busy)."""
    store = SqlMemoryStore.from_url(sqlite_url)
    direct = store._direct
    assert direct is not None
    insert = direct.prepare(
        text("INSERT INTO workers (id, started_at, heartbeat_at) VALUES ('w', 'x', 'x')")
    )
    try:
        await direct.write(lambda db: None)  # opened
        async with store.engine.execution_options(frontdesk_write=True).begin() as conn:
            await conn.execute(text("UPDATE conversations SET title = 'locked'"))
            waiting = asyncio.ensure_future(
                direct.write(lambda db: sqlite_direct.execute(db, insert, ()))
            )
            await asyncio.sleep(0.2)
            assert not waiting.done()
        await waiting  # went through once the lock was let go
        monkeypatch.setattr(sqlite_direct, "SQLITE_BUSY_TIMEOUT_MS", 200)
        async with store.engine.execution_options(frontdesk_write=True).begin() as conn:
            await conn.execute(text("UPDATE conversations SET title = 'locked'"))
            with pytest.raises(OperationalError, match="locked"):
                await direct.write(lambda db: sqlite_direct.execute(db, insert, ()))
    finally:
        await store.close()
