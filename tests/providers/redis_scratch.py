"""A client of the real Redis at 127.0.0.1:6379 with a unique key prefix, cleaned up after."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import BlockingConnectionPool, Redis


@contextlib.asynccontextmanager
async def scratch_redis() -> AsyncIterator[tuple[Redis, str]]:
    # A blocking pool: many concurrent callers wait for a connection instead of
    # failing with "Too many connections" (redis-py's default pool raises).
    pool = BlockingConnectionPool(host="127.0.0.1", port=6379, max_connections=32, timeout=10)
    client = Redis(connection_pool=pool)
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await pool.aclose()
