"""A database pool with every connection taken answers 503 with Retry-After, never 500.

Seen in the two-worker burst benchmark (benchmarks/bench_workers.py): 1,000 customers at
once on a starved machine waited past the pool's 30 s and got HTTP 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from frontdesk.api.errors import install_error_handlers


@pytest.fixture
async def tiny_pool(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}",
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.05,
    )
    yield engine
    await engine.dispose()


def _app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/api/things")
    async def add_thing() -> dict[str, int]:
        async with engine.connect() as conn:
            return {"one": int((await conn.execute(text("select 1"))).scalar_one())}

    @app.post("/v1/things")
    async def add_v1_thing() -> dict[str, int]:
        return await add_thing()

    return app


async def test_exhausted_pool_is_503_with_retry_after(tiny_pool: AsyncEngine) -> None:
    transport = httpx.ASGITransport(app=_app(tiny_pool), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/api/things")).json() == {"one": 1}
        async with tiny_pool.connect():  # the pool's only connection is busy
            busy = await client.post("/api/things")
            busy_v1 = await client.post("/v1/things")
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "2"
        assert busy.json()["error"]["code"] == "database_busy"
        assert busy_v1.status_code == 503, busy_v1.text
        assert busy_v1.json()["error"]["type"]  # OpenAI's envelope on /v1
        assert (await client.post("/api/things")).status_code == 200  # free again
