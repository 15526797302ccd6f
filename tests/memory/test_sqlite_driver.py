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
from frontdesk.memory.dialects import WRITE_OPTION, create_engine


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
