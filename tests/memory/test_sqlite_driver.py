"""The SQLite driver (memory/sqlite_driver.py): one thread hand-off per statement, same results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory import sqlite_driver
from frontdesk.memory.dialects import DEFER, LAST, WRITE_OPTION, create_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls sent to connection threads."""
    seen: list[str] = []
    original = sqlite_driver.Connection._call

    async def counted(self: sqlite_driver.Connection, function: Callable[[], Any]) -> Any:
        seen.append(getattr(getattr(function, "func", function), "__name__", "?"))
        return await original(self, function)

    monkeypatch.setattr(sqlite_driver.Connection, "_call", counted)
    return seen


async def test_a_write_transaction_is_two_handoffs(
    engine: AsyncEngine, handoffs: list[str]
) -> None:
    """BEGIN IMMEDIATE travels with the insert, then the commit; no cursor, close or
    rollback calls (aiosqlite under SQLAlchemy: 8)."""
    async with engine.connect() as warm:  # the pool's first connection opens untimed
        await warm.execute(text("SELECT 1"))
    handoffs.clear()
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.execute(text("INSERT INTO t (b) VALUES (:b)"), {"b": "x"})
    assert handoffs == ["_run", "commit"]
    handoffs.clear()
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT a, b FROM t"))).all()
    assert [tuple(r) for r in rows] == [(1, "x")]
    assert handoffs == ["_run", "rollback"]  # the read transaction still ends on the thread


async def test_an_empty_transaction_sends_nothing(engine: AsyncEngine, handoffs: list[str]) -> None:
    async with engine.connect() as warm:
        await warm.execute(text("SELECT 1"))
    handoffs.clear()
    async with engine.execution_options(**{WRITE_OPTION: True}).begin():
        pass
    async with engine.connect():
        pass
    assert handoffs == []


async def test_a_failed_statement_rolls_back_its_transaction(engine: AsyncEngine) -> None:
    writer = engine.execution_options(**{WRITE_OPTION: True})

    async def two_rows_one_key() -> None:
        async with writer.begin() as conn:
            await conn.execute(text("INSERT INTO t (a, b) VALUES (1, 'kept?')"))
            await conn.execute(text("INSERT INTO t (a, b) VALUES (1, 'duplicate')"))

    with pytest.raises(IntegrityError):
        await two_rows_one_key()
    async with writer.begin() as conn:  # the write lock was given back
        await conn.execute(text("INSERT INTO t (a, b) VALUES (2, 'after')"))
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT a, b FROM t ORDER BY a"))).all()
    assert [tuple(r) for r in rows] == [(2, "after")]


async def test_results_larger_than_the_prefetch_stream_in_order(engine: AsyncEngine) -> None:
    total = sqlite_driver.PREFETCH_ROWS * 2 + 7
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.execute(
            text("INSERT INTO t (a, b) VALUES (:a, :b)"),
            [{"a": i, "b": f"row {i}"} for i in range(total)],
        )
    async with engine.connect() as conn:
        everything = (await conn.execute(text("SELECT a FROM t ORDER BY a"))).scalars().all()
        streamed = [row.a async for row in await conn.stream(text("SELECT a FROM t ORDER BY a"))]
        partial = await conn.stream(text("SELECT a FROM t ORDER BY a"))
        first = await partial.fetchmany(3)
        await partial.close()  # closed before its end: the open cursor is let go
        after = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
    assert everything == list(range(total))
    assert streamed == list(range(total))
    assert [r.a for r in first] == [0, 1, 2]
    assert after == total


async def rows_of(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text("SELECT a, b FROM t ORDER BY a")))]


async def test_deferred_writes_travel_with_the_commit(
    engine: AsyncEngine, handoffs: list[str]
) -> None:
    """Writes marked DEFER are sent with the commit, in order: one hand-off for the
    transaction (the unmarked statements: three)."""
    await rows_of(engine)  # the pool's first connection opens untimed
    handoffs.clear()
    insert = text("INSERT INTO t (a, b) VALUES (:a, :b)").execution_options(**DEFER)
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.execute(insert, {"a": 1, "b": "one"})
        await conn.execute(insert, {"a": 2, "b": "two"})
        await conn.execute(text("UPDATE t SET b = 'ONE' WHERE a = 1").execution_options(**DEFER))
    assert handoffs == ["_run_pending"]
    assert await rows_of(engine) == [(1, "ONE"), (2, "two")]


async def test_the_last_statement_carries_the_commit(
    engine: AsyncEngine, handoffs: list[str]
) -> None:
    """A LAST statement runs the deferred writes before it, returns its rows and commits:
    nothing is left for the transaction's end."""
    await rows_of(engine)
    handoffs.clear()
    insert = text("INSERT INTO t (a, b) VALUES (:a, :b)").execution_options(**DEFER)
    count = text("SELECT count(*) FROM t").execution_options(**LAST)
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.execute(insert, {"a": 1, "b": "one"})
        assert (await conn.execute(count)).scalar_one() == 1
    assert handoffs == ["_run"]
    handoffs.clear()
    async with engine.connect() as conn:  # a read ends with its last statement too
        assert (await conn.execute(count)).scalar_one() == 1
    assert handoffs == ["_run"]
    assert await rows_of(engine) == [(1, "one")]


async def test_a_failed_deferred_write_fails_its_transaction(engine: AsyncEngine) -> None:
    """The error of a deferred write surfaces where it is sent (here the commit), as the
    same IntegrityError; nothing of the transaction is kept, and the lock is given back."""
    insert = text("INSERT INTO t (a, b) VALUES (:a, :b)").execution_options(**DEFER)
    writer = engine.execution_options(**{WRITE_OPTION: True})

    async def two_rows_one_key() -> None:
        async with writer.begin() as conn:
            await conn.execute(insert, {"a": 1, "b": "kept?"})
            await conn.execute(insert, {"a": 1, "b": "duplicate"})

    with pytest.raises(IntegrityError):
        await two_rows_one_key()
    async with writer.begin() as conn:
        await conn.execute(insert, {"a": 2, "b": "after"})
    assert await rows_of(engine) == [(2, "after")]


async def test_a_rollback_drops_deferred_writes_unsent(
    engine: AsyncEngine, handoffs: list[str]
) -> None:
    await rows_of(engine)
    handoffs.clear()
    insert = text("INSERT INTO t (a, b) VALUES (:a, :b)").execution_options(**DEFER)

    async def changed_my_mind() -> None:
        async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            await conn.execute(insert, {"a": 1, "b": "never"})
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await changed_my_mind()
    assert handoffs == []
    assert await rows_of(engine) == []
