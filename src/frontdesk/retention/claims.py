"""Claims of periodic jobs: of all the workers sharing a database, one runs a job per
interval.

Each job has one ``job_runs`` row. Claiming it is one conditional ``UPDATE`` (the previous
claim is older than the interval): on PostgreSQL the row lock makes concurrent claimers
queue, and each re-reads the row before deciding, so exactly one wins; on SQLite writers
are serialised by ``BEGIN IMMEDIATE``. The winner renews its claim while it works (so a
long run is not taken over) and records the result; a worker that dies mid-run is
replaced one interval after its last renewal.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import job_runs

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_id() -> str:
    """This process, recognisably: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobClaims:
    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    async def claim(self, name: str, owner: str, every: timedelta) -> bool:
        """Take job ``name`` for ``owner`` unless someone ran it within ``every``."""
        await self._ensure(name)
        now = self._clock()
        query = (
            update(job_runs)
            .where(job_runs.c.name == name)
            .where(or_(job_runs.c.claimed_at.is_(None), job_runs.c.claimed_at <= now - every))
            .values(claimed_by=owner, claimed_at=now, finished_at=None)
        )
        async with self._writer.begin() as conn:
            return bool((await conn.execute(query)).rowcount)

    async def renew(self, name: str, owner: str) -> bool:
        """Push the claim's time forward (while working); False when it was lost."""
        query = (
            update(job_runs)
            .where(job_runs.c.name == name, job_runs.c.claimed_by == owner)
            .values(claimed_at=self._clock())
        )
        async with self._writer.begin() as conn:
            return bool((await conn.execute(query)).rowcount)

    async def finish(self, name: str, owner: str, result: dict[str, Any]) -> None:
        query = (
            update(job_runs)
            .where(job_runs.c.name == name, job_runs.c.claimed_by == owner)
            .values(finished_at=self._clock(), result=result)
        )
        async with self._writer.begin() as conn:
            await conn.execute(query)

    async def last(self, name: str) -> dict[str, Any] | None:
        """The job's row: who claimed it when, when it finished, with what result."""
        async with self._engine.connect() as conn:
            query = select(job_runs).where(job_runs.c.name == name)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else dict(row)

    async def _ensure(self, name: str) -> None:
        async with self._engine.connect() as conn:
            query = select(job_runs.c.name).where(job_runs.c.name == name)
            if (await conn.execute(query)).first() is not None:
                return
        try:
            async with self._writer.begin() as conn:
                await conn.execute(insert(job_runs).values(name=name))
        except IntegrityError:
            pass  # another worker inserted it first: the row is there either way
