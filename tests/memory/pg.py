"""Throw-away PostgreSQL databases on the local server (127.0.0.1:5432, user postgres)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_URL.format(name="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def temporary_database_async(prefix: str = "frontdesk_test") -> AsyncIterator[str]:
    """Create a uniquely named database; yield its async SQLAlchemy URL; drop it."""
    name = _unique(prefix)
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database(prefix: str = "frontdesk_test") -> Iterator[str]:
    """:func:`temporary_database_async` for code outside an event loop."""
    name = _unique(prefix)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.format(name=name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
