"""The deferred-answer worker: answers questions queued while every provider was down.

Queued answers live in the database (status ``queued``), so nothing is lost
across a restart; a claim (``queued`` → ``answering``) is atomic, so several
API workers can run this loop side by side. While providers stay down the
loop backs off and probes with one message at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from frontdesk.chat.service import ChatService

log = logging.getLogger(__name__)


class DeferredAnswers:
    def __init__(
        self,
        service: ChatService,
        *,
        interval: float = 5.0,
        max_interval: float = 60.0,
        batch: int = 10,
    ) -> None:
        self._service = service
        self._interval = interval
        self._max_interval = max_interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        store = self._service.store
        requeued = await store.requeue_answering()
        if requeued:
            log.info("re-queued %d answers interrupted by a restart", requeued)
        delay = self._interval
        while True:
            try:
                answered, failed = await self.run_once()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("deferred answers round failed")
                answered, failed = 0, 1
            if failed and not answered:
                delay = min(self._max_interval, delay * 2)
            else:
                delay = self._interval
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def run_once(self) -> tuple[int, int]:
        """One round: answer queued messages until one fails. (answered, failed)."""
        store = self._service.store
        answered = failed = 0
        for message in await store.list_queued_messages(self._batch):
            if message.reply_to is None or not await store.claim_queued_message(message.id):
                continue
            conversation = await store.get_conversation(message.conversation_id)
            user = await store.get_message(message.reply_to)
            if conversation is None or user is None:
                continue
            turn = self._service.answer_turn(conversation, user, message.id, deferred=True)
            async for _ in turn.events():
                pass
            stored = await store.get_message(message.id)
            if stored is not None and stored.status == "complete":
                answered += 1
                self._service.metrics.deferred_answers.labels("answered").inc()
            else:
                failed += 1
                self._service.metrics.deferred_answers.labels("still_down").inc()
                break  # providers are still down: probe again later
        return answered, failed
