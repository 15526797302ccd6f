"""Usage records of gateway calls, written in batches off the request path."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import gateway_calls
from frontdesk.tasks import stop_task

log = logging.getLogger(__name__)


class UsageRecorder:
    """Queues rows and inserts them in one transaction per batch.

    A call's usage is recorded after its response is complete, so accounting
    never adds latency; ``flush()`` (and ``aclose()``) write what is queued. A row lands
    within about ``interval`` seconds: each write transaction costs the event loop several
    thread hops (aiosqlite), so fewer, larger batches cost less CPU per call.
    """

    def __init__(self, engine: AsyncEngine, *, batch: int = 500, interval: float = 2.0) -> None:
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._batch = batch
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def record(self, row: dict[str, Any]) -> None:
        self._queue.put_nowait(row)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self._queue.empty():
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        rows: list[dict[str, Any]] = []
        while not self._queue.empty() and len(rows) < self._batch * 10:
            rows.append(self._queue.get_nowait())
        if not rows:
            return
        try:
            async with self._writer.begin() as conn:
                await conn.execute(insert(gateway_calls), rows)
        except Exception:  # accounting must not take the gateway down; keep the rows
            log.exception("could not record %d gateway calls; will retry", len(rows))
            for row in rows:
                self._queue.put_nowait(row)

    async def aclose(self) -> None:
        await stop_task(self._task)
        await self.flush()
