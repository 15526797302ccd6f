"""Turns beyond the worker's in-flight limit wait in a queue; beyond it, HTTP 503.

Real app on a loopback port (SQLite), one turn in flight at a time: while a slow turn
runs, the next customer's stream answers at once with a ``queued`` event and then its
answer; a third finds the queue full and gets 503 ``server_busy`` with Retry-After, and
nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings, TurnSettings
from tests.apphelpers import Running, SSEEvent, new_conversation, parse_sse, text_of
from tests.conftest import make_bot
from tests.servers import serve


def _wait_for_requests(provider: ScriptedProvider, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(provider.requests) < count:
        assert time.monotonic() < deadline, "the provider was never called"
        time.sleep(0.02)


def test_queued_stream_then_full_queue_refused(running: Running) -> None:
    provider = ScriptedProvider(
        steps=[Step(text="Slow answer.", first_token_delay=3.0), Step(text="Queued answer.")]
    )
    turns = TurnSettings(in_flight=1, queue=1, queue_wait_seconds=120, retry_after_seconds=9)
    with running(provider, turns=turns) as client, ThreadPoolExecutor(2) as pool:
        first, second, third = (new_conversation(client) for _ in range(3))

        second_waits = threading.Event()

        def stream(cid: str, content: str) -> list[SSEEvent]:
            with (
                httpx.Client(base_url=str(client.base_url), timeout=60) as own,
                own.stream(
                    "POST", f"/api/conversations/{cid}/messages", json={"content": content}
                ) as resp,
            ):
                assert resp.status_code == 200
                lines = []
                for line in resp.iter_lines():
                    lines.append(line)
                    if line.startswith("event: queued"):
                        second_waits.set()
                return parse_sse("\n".join(lines) + "\n")

        slow = pool.submit(stream, first, "Tell me slowly")
        _wait_for_requests(provider, 1)  # the first turn holds the one slot
        queued = pool.submit(stream, second, "And me?")
        assert second_waits.wait(60), "the second turn was never queued"
        full = client.post(f"/api/conversations/{third}/messages", json={"content": "Me too"})
        assert full.status_code == 503, full.text
        assert full.json()["error"]["code"] == "server_busy"
        assert full.headers["retry-after"] == "9"
        as_json = client.post(
            f"/api/conversations/{third}/messages", json={"content": "Me too", "stream": False}
        )
        assert as_json.status_code == 503, as_json.text

        slow_events = slow.result()
        queued_events = queued.result()
    assert text_of(slow_events) == "Slow answer."
    names = [e.event for e in queued_events]
    assert names[0] == "queued" and queued_events[0].data["position"] == 1
    # stored before it waited: the ids of the message and of its (pending) answer
    assert names[1] == "start"
    assert queued_events[1].data["message_id"] == queued_events[0].data["message_id"]
    assert names[1] == "start" and names[-1] == "done"
    assert text_of(queued_events) == "Queued answer."
    assert queued_events[-1].data["status"] == "complete"
    with running(provider, turns=turns) as client:
        stored = {
            cid: [
                (m["role"], m["status"])
                for m in client.get(f"/api/conversations/{cid}").json()["messages"]
            ]
            for cid in (first, second, third)
        }
    assert stored == {
        first: [("user", "complete"), ("assistant", "complete")],
        second: [("user", "complete"), ("assistant", "complete")],
        third: [],  # refused before anything was stored
    }


def test_a_burst_stores_at_most_storing_messages_at_once(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages are stored before they queue, but a burst does not store them all at once.

    Storing 1,000 burst messages at once made the pooled connections the queue (HTTP 503
    ``database_busy`` past the pool's timeout, PostgreSQL, two workers); the gate's
    ``storing`` slots bound it, and every message is still stored and answered.
    """
    provider = ScriptedProvider(steps=[Step(text="Answer.") for _ in range(12)])
    turns = TurnSettings(in_flight=32, queue=100, storing=2)
    app = create_app(
        migrated.model_copy(update={"turns": turns}), bot=make_bot(), provider=provider
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        chat = app.state.services.chat
        real = chat.prepare_turn
        at_once, most = 0, 0

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal at_once, most
            at_once += 1
            most = max(most, at_once)
            try:
                await asyncio.sleep(0.2)  # a slow store: the others must wait for a slot
                return await real(*args, **kwargs)
            finally:
                at_once -= 1

        monkeypatch.setattr(chat, "prepare_turn", counted)
        cids = [new_conversation(client) for _ in range(8)]

        def ask(cid: str) -> list[SSEEvent]:
            with httpx.Client(base_url=url, timeout=60) as own:
                r = own.post(f"/api/conversations/{cid}/messages", json={"content": "Hi"})
                assert r.status_code == 200, r.text
                return parse_sse(r.text)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, cids))
    assert most == 2
    assert all(events[-1].event == "done" for events in results)


def _leave_after(client: httpx.Client, cid: str, event: str) -> None:
    """Send a message on a stream and leave when ``event`` arrives."""
    url = f"/api/conversations/{cid}/messages"
    with client.stream("POST", url, json={"content": f"leaving at {event}"}) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line == f"event: {event}" or (event == "ping" and line == ": ping"):
                return
    raise AssertionError(f"the stream ended before {event}")


@pytest.mark.parametrize(
    ("step", "event"),
    [
        (Step(text="never", first_token_delay=60.0), "start"),  # waiting for a first token
        (Step(text="never", first_token_delay=60.0), "ping"),  # between heartbeats
        (Step(text=" ".join(["word"] * 400), token_delay=0.15), "delta"),  # mid-answer
    ],
)
def test_a_client_leaving_frees_the_turn_at_once(running: Running, step: Step, event: str) -> None:
    """However a stream is left (before the first token, between heartbeats, mid-answer),
    its turn ends with the client: the next customer finds the one slot free (a stream that
    lived on, its cancellation swallowed, would keep them queued for a minute)."""
    provider = ScriptedProvider(steps=[step, Step(text="Next answer.")])
    turns = TurnSettings(in_flight=1, queue=4, queue_wait_seconds=120)
    with running(provider, turns=turns, heartbeat_seconds=0.2) as client:
        first, second = new_conversation(client), new_conversation(client)
        _leave_after(client, first, event)
        started = time.monotonic()
        events = parse_sse(
            client.post(f"/api/conversations/{second}/messages", json={"content": "hi"}).text
        )
        assert text_of(events) == "Next answer."
        assert time.monotonic() - started < 20
        deadline = time.monotonic() + 10
        while True:  # the left answer is stored as it ended
            left = client.get(f"/api/conversations/{first}").json()["messages"][-1]
            if left["status"] != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert left["status"] in ("failed", "partial"), left


def _queued_position(client: httpx.Client, cid: str) -> int:
    """Send a message, return the position of its first ``queued`` event and leave."""
    url = f"/api/conversations/{cid}/messages"
    with client.stream("POST", url, json={"content": "waiting"}) as resp:
        lines = resp.iter_lines()
        for line in lines:
            if line == "event: queued":
                return int(json.loads(next(lines).removeprefix("data: "))["position"])
    raise AssertionError("never queued")


def test_a_client_leaving_the_queue_leaves_it_at_once(running: Running) -> None:
    """Left while queued, a stream's ticket goes with the client: the next one queued
    behind the same running turn is first in line."""
    provider = ScriptedProvider(steps=[Step(text="slow", first_token_delay=60.0)])
    turns = TurnSettings(in_flight=1, queue=4, queue_wait_seconds=120)
    with (
        running(provider, turns=turns, heartbeat_seconds=0.2) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        busy, second, third = (new_conversation(client) for _ in range(3))
        done = threading.Event()

        def hold() -> None:  # the running turn, until the checks are made
            url = f"/api/conversations/{busy}/messages"
            with client.stream("POST", url, json={"content": "slow please"}) as resp:
                for _ in resp.iter_lines():
                    if done.is_set():
                        return

        holder = pool.submit(hold)
        _wait_for_requests(provider, 1)
        try:
            assert _queued_position(client, second) == 1
            deadline = time.monotonic() + 10  # the server sees the client leave
            while (position := _queued_position(client, third)) != 1:
                assert time.monotonic() < deadline, position  # the second stayed in the queue
                time.sleep(0.1)
        finally:
            done.set()
        holder.result(timeout=30)
