"""The periodic retention run in the server: every worker ticks, one claims each interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
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
    name: str = JOB_NAME
    """The job's claim row in ``job_runs``."""
    media_sweep: Callable[[], Awaitable[int]] | None = None
    """Also deletes attachments past the bot's own ``media.retention_days`` (count returned)."""
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    async def run_once(self) -> RetentionReport | None:
        """Run retention if this worker wins this interval's claim; None when another did."""
        if not await self.claims.claim(self.name, self.owner, self.every):
            return None

        async def keep_alive() -> None:
            await self.claims.renew(self.name, self.owner)

        report = await self.privacy.apply(self.policy, keep_alive=keep_alive)
        result = report.as_json()
        if self.media_sweep is not None:
            result["media_expired"] = await self.media_sweep()
        await self.claims.finish(self.name, self.owner, result)
        total = report.total
        if total.conversations or total.attachments:
            log.info(
                "retention deleted %d conversations and %d attachments",
                total.conversations,
                total.attachments,
                extra={"retention": result},
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
