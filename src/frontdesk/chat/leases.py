"""This worker's heartbeat, and the sweep that ends a dead worker's pending answers.

A worker registers itself at start-up (its id goes on every pending answer it inserts),
renews its heartbeat every ``heartbeat_seconds`` and sweeps every ``sweep_seconds``
(the first time at once): a pending answer whose owner has been silent for
``lease_seconds`` is ended as ``partial`` or ``failed`` (memory/leases.py), so after
a kill -9 every answer has its final state within about ``lease_seconds +
sweep_seconds`` instead of the 600 s fallback of chat/deferred.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from frontdesk.memory.leases import WorkerLeases
from frontdesk.settings import AnswerLeaseSettings
from frontdesk.tasks import stop_task

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return str(uuid.uuid4())


class AnswerSweeper:
    def __init__(self, leases: WorkerLeases, worker_id: str, settings: AnswerLeaseSettings) -> None:
        self.leases = leases
        self.worker_id = worker_id
        self.settings = settings
        self.swept = 0
        """Answers this worker ended for dead workers (partial + failed)."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register (before this worker stores any answer), then heartbeat and sweep."""
        await self.leases.register(self.worker_id)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
            await self.leases.retire(self.worker_id)

    async def sweep_once(self) -> tuple[int, int]:
        partial, failed = await self.leases.sweep(
            self.worker_id, lease_seconds=self.settings.lease_seconds
        )
        if partial or failed:
            self.swept += partial + failed
            log.warning(
                "ended %d partial and %d failed answers of stopped workers", partial, failed
            )
        return partial, failed

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        heartbeat_at = loop.time() + self.settings.heartbeat_seconds
        sweep_at = loop.time()
        while True:
            now = loop.time()
            try:
                if now >= heartbeat_at:
                    heartbeat_at = now + self.settings.heartbeat_seconds
                    if not await self.leases.heartbeat(self.worker_id):
                        await self.leases.register(self.worker_id)  # swept as dead: back
                if now >= sweep_at:
                    sweep_at = now + self.settings.sweep_seconds
                    while sum(await self.sweep_once()):
                        pass  # a batch at a time until none is left
            except Exception:  # keep the loop alive; the next round retries
                log.exception("answer lease round failed")
            await asyncio.sleep(max(0.05, min(heartbeat_at, sweep_at) - loop.time()))
