"""The worker's turn gate: a bounded number of turns run, the rest queue in order."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from frontdesk.admission.turns import TurnGate, TurnLimits, TurnsBusy
from frontdesk.settings import Settings, TurnSettings


async def settle() -> None:
    """Let woken tasks run (a shielded wait takes a few loop rounds)."""
    for _ in range(10):
        await asyncio.sleep(0)


def gate(in_flight: int = 2, queue: int = 2, wait: float = 30.0) -> TurnGate:
    return TurnGate(TurnLimits(in_flight, queue, wait, retry_after_seconds=7))


async def test_runs_in_flight_then_queues_in_order() -> None:
    g = gate()
    a, b = g.enter(), g.enter()
    c, d = g.enter(), g.enter()
    assert (a.admitted, b.admitted, c.admitted, d.admitted) == (True, True, False, False)
    assert (c.position(), d.position()) == (1, 2)
    assert (g.running, g.waiting) == (2, 2)
    order: list[str] = []

    async def run(name: str) -> None:
        await (c if name == "c" else d).admit()
        order.append(name)

    tasks = [asyncio.create_task(run("d")), asyncio.create_task(run("c"))]
    await asyncio.sleep(0)
    assert order == []
    a.release()
    a.release()  # idempotent: frees one slot only
    await settle()
    assert order == ["c"] and c.admitted and d.position() == 1
    b.release()
    await asyncio.gather(*tasks)
    assert order == ["c", "d"]
    c.release()
    d.release()
    assert (g.running, g.waiting) == (0, 0)


async def test_a_full_queue_is_refused_with_retry_after() -> None:
    g = gate(in_flight=1, queue=1)
    g.enter()
    g.enter()
    with pytest.raises(TurnsBusy) as refused:
        g.enter()
    assert refused.value.http_status == 503
    assert refused.value.code == "server_busy"
    assert refused.value.retry_after == 7


async def test_a_wait_past_the_limit_leaves_the_queue() -> None:
    g = gate(in_flight=1, queue=1, wait=0.05)
    running = g.enter()
    late = g.enter()
    with pytest.raises(TurnsBusy):
        await late.admit()
    assert g.waiting == 0
    running.release()
    assert (g.running, g.waiting) == (0, 0)
    assert g.enter().admitted  # the slot came back


async def test_a_cancelled_waiter_leaves_and_a_handed_slot_passes_on() -> None:
    g = gate(in_flight=1, queue=3)
    running = g.enter()
    gone, handed, last = g.enter(), g.enter(), g.enter()
    waiter = asyncio.create_task(gone.admit())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert g.waiting == 2 and handed.position() == 1
    # the slot is handed to a waiter that is cancelled before it resumes: it passes on
    second = asyncio.create_task(handed.admit())
    await asyncio.sleep(0)
    running.release()
    assert handed.admitted
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert last.admitted and g.running == 1 and g.waiting == 0
    last.release()
    assert g.running == 0


def test_settings_fail_closed() -> None:
    assert TurnSettings().in_flight >= 1
    for bad in ({"in_flight": 0}, {"queue": -1}, {"queue_wait_seconds": 0}, {"typo": 1}):
        with pytest.raises(ValidationError):
            TurnSettings(**bad)
    with pytest.raises(ValidationError):
        Settings(db_pool={"size": 0})
    with pytest.raises(ValidationError):
        Settings(db_pool={"timeout_seconds": -1})
