"""Turns in flight per worker: a bounded number run, the rest wait in a bounded queue.

A burst of customers used to start every turn at once: each worker's event loop then
interleaved hundreds of turns, every short database transaction stayed checked out
while its coroutine waited behind all the others for the CPU (1-5 s per checkout at
100 turns a worker on a loaded machine), and customers behind them waited past the
pool's timeout (HTTP 503 ``database_busy``). The gate lets ``in_flight`` turns run and
queues the others in arrival order. A queued turn's message is stored before it waits,
at most ``storing`` at once (the rest wait for a store slot, not for a pooled
connection past the pool's timeout). A full queue is refused with :class:`TurnsBusy`
(HTTP 503 with ``Retry-After``) before anything is stored; a wait past ``wait_seconds``
ends the stored answer as failed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Literal

from frontdesk.errors import RateLimited
from frontdesk.settings import TurnSettings


class TurnsBusy(RateLimited):
    """Too many turns running and waiting in this worker: retry after ``retry_after``."""

    code = "server_busy"
    http_status = 503


@dataclass(frozen=True)
class TurnLimits:
    in_flight: int
    queue: int
    wait_seconds: float
    retry_after_seconds: int = 5
    storing: int = 32

    @classmethod
    def of(cls, settings: TurnSettings) -> TurnLimits:
        return cls(
            settings.in_flight,
            settings.queue,
            settings.queue_wait_seconds,
            settings.retry_after_seconds,
            settings.storing,
        )


State = Literal["waiting", "running", "done"]


class TurnGate:
    """FIFO admission of turns in one worker (one event loop)."""

    def __init__(self, limits: TurnLimits) -> None:
        if (
            limits.in_flight < 1
            or limits.queue < 0
            or limits.wait_seconds <= 0
            or limits.storing < 1
        ):
            raise ValueError(f"invalid turn limits: {limits}")
        self.limits = limits
        self.storing = asyncio.Semaphore(limits.storing)
        """Held while a message is guarded and stored, before its turn waits."""
        self._free = limits.in_flight
        self._waiting: deque[TurnTicket] = deque()

    @property
    def running(self) -> int:
        return self.limits.in_flight - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def enter(self) -> TurnTicket:
        """A running ticket, or a place in the queue; :class:`TurnsBusy` when it is full."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return TurnTicket(self, "running", None)
        if len(self._waiting) >= self.limits.queue:
            raise self.busy(f"{self.running} turns running and {self.waiting} waiting")
        ticket = TurnTicket(self, "waiting", asyncio.get_running_loop().create_future())
        self._waiting.append(ticket)
        return ticket

    def busy(self, why: str) -> TurnsBusy:
        return TurnsBusy(
            f"the service is busy ({why}); please retry in a moment",
            retry_after=self.limits.retry_after_seconds,
        )

    def position(self, ticket: TurnTicket) -> int:
        """1 for the next turn to run; 0 once running."""
        if ticket.state != "waiting":
            return 0
        return self._waiting.index(ticket) + 1

    def _hand_over(self) -> None:
        """A running turn ended: its slot goes to the longest-waiting turn, else is free."""
        while self._waiting:
            ticket = self._waiting.popleft()
            assert ticket.future is not None
            if not ticket.future.done():
                ticket.state = "running"
                ticket.future.set_result(None)
                return
        self._free += 1

    def _leave(self, ticket: TurnTicket) -> None:
        self._waiting.remove(ticket)


@dataclass(eq=False)
class TurnTicket:
    gate: TurnGate
    state: State
    future: asyncio.Future[None] | None

    @property
    def admitted(self) -> bool:
        return self.state == "running"

    def position(self) -> int:
        return self.gate.position(self)

    async def wait(self, seconds: float | None = None) -> bool:
        """Wait until running (True), or ``seconds`` (False; still in the queue).

        Cancelled while waiting, the ticket leaves the queue (or passes on a slot that
        was handed to it meanwhile).
        """
        if self.state != "waiting":
            return self.state == "running"
        assert self.future is not None
        try:
            async with asyncio.timeout(seconds):
                await asyncio.shield(self.future)
        except TimeoutError:
            return self.admitted  # handed a slot as the wait ran out
        except BaseException:
            self.release()
            raise
        return True

    async def admit(self) -> None:
        """Wait at most the gate's ``wait_seconds``; past it leave and raise TurnsBusy."""
        if not await self.wait(self.gate.limits.wait_seconds):
            self.release()
            raise self.gate.busy(f"waited {self.gate.limits.wait_seconds:g} s for a turn")

    def release(self) -> None:
        """Idempotent: the slot goes to the next turn, or the ticket leaves the queue."""
        state, self.state = self.state, "done"
        if state == "running":
            self.gate._hand_over()
        elif state == "waiting":
            self.gate._leave(self)
            assert self.future is not None
            self.future.cancel()
