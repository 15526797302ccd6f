"""Fire-and-forget background work of the chat service (summaries)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Fire-and-forget tasks with one task per key, cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, key: str, coro: Any) -> None:
        if key in self._tasks and not self._tasks[key].done():
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._done(key, t))

    def _done(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("background task %s failed: %r", key, task.exception())

    async def drain(self) -> None:
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
