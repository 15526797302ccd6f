"""The periodic retention run in the server: every worker ticks, one claims each interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from frontdesk.retention.claims import JobClaims, worker_id
from frontdesk.retention.policy import RetentionPolicy
from frontdesk.retention.service import Privacy, RetentionReport

log = logging.getLogger(__name__)
JOB_NAME = "retention"
MAX_POLL_SECONDS = 300.0


@dataclass
class RetentionJob:
    privacy: Privacy
    policy: RetentionPolicy
    claims: JobClaims
    interval_seconds: float = 3600.0
    owner: str = field(default_factory=worker_id)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    async def run_once(self) -> RetentionReport | None:
        """Run retention if this worker wins this interval's claim; None when another did."""
        if not await self.claims.claim(JOB_NAME, self.owner, self.every):
            return None

        async def keep_alive() -> None:
            await self.claims.renew(JOB_NAME, self.owner)

        report = await self.privacy.apply(self.policy, keep_alive=keep_alive)
        await self.claims.finish(JOB_NAME, self.owner, report.as_json())
        total = report.total
        if total.conversations or total.attachments:
            log.info(
                "retention deleted %d conversations and %d attachments",
                total.conversations,
                total.attachments,
                extra={"retention": report.as_json()},
            )
        return report

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def _loop(self) -> None:
        # tick more often than the interval, so some worker claims soon after it expires
        poll = min(self.interval_seconds / 4, MAX_POLL_SECONDS)
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed run is retried next interval, the server goes on
                log.exception("retention run failed")
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
