"""The deferred-answer worker: answers questions queued while every provider was down.

Queued answers live in the database (status ``queued``), so nothing is lost
across a restart; a claim (``queued`` → ``answering``) is atomic, so several
API workers can run this loop side by side. While providers stay down the
loop backs off and probes with one message at a time.

Answers a stopped process left behind (claims ``answering``, turns ``pending``) go
back in the queue or are marked failed: at start, all of them when this process
owns the database (``claim_lease=None``, SQLite); with several workers
(PostgreSQL) only those older than ``claim_lease`` seconds, every round, so no
worker takes over another live worker's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from frontdesk.chat.service import ChatService
from frontdesk.domain import Conversation
from frontdesk.tasks import stop_task

log = logging.getLogger(__name__)

# With several workers: a claim or a pending turn this old belongs to a stopped worker
# (a live turn ends long before: provider timeouts are seconds to a minute).
CLAIM_LEASE_SECONDS = 600.0
RECOVERY_EVERY_SECONDS = 60.0


class DeferredAnswers:
    def __init__(
        self,
        service: ChatService,
        *,
        interval: float = 5.0,
        max_interval: float = 60.0,
        batch: int = 10,
        claim_lease: float | None = None,
        service_for: Callable[[Conversation], Awaitable[ChatService | None]] | None = None,
    ) -> None:
        """``service_for`` picks the chat service of a conversation's tenant (default:
        ``service`` for every conversation); None leaves the message for a later round."""
        self._service = service
        self._service_for = service_for
        self._lease = claim_lease
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
        await stop_task(self._task)
        self._task = None

    async def recover(self) -> int:
        """Re-queue claims a stopped process left (only stale ones with a lease)."""
        store = self._service.store
        if self._lease is None:
            requeued = await store.requeue_answering()
        else:
            stale = datetime.now(UTC) - timedelta(seconds=self._lease)
            requeued = await store.requeue_answering(claimed_before=stale)
            await store.fail_pending_messages(
                error="interrupted: the worker stopped", created_before=stale
            )
        if requeued:
            log.info("re-queued %d answers interrupted by a stopped worker", requeued)
        return requeued

    async def _run(self) -> None:
        await self.recover()
        loop = asyncio.get_running_loop()
        recover_at = loop.time() + RECOVERY_EVERY_SECONDS
        delay = self._interval
        while True:
            try:
                if self._lease is not None and loop.time() >= recover_at:
                    recover_at = loop.time() + RECOVERY_EVERY_SECONDS
                    await self.recover()  # a worker that died while the others run
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
            service = (
                self._service
                if self._service_for is None
                else await self._service_for(conversation)
            )
            if service is None:
                continue  # its tenant is unavailable: re-queued by the next recovery
            turn = service.answer_turn(conversation, user, message.id, deferred=True)
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
