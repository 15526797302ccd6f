"""One contract for every DeliveryLog a webhook receiver can remember delivery ids in.

Before: ``verify()`` remembered accepted delivery ids in memory only, so a captured
delivery replayed after the receiver restarted, or sent to another of its workers,
passed. Now the SQLite and Redis logs (real file, real Redis at 127.0.0.1:6379) remember
across instances; all logs refuse a replay, accept each id exactly once under
concurrency, and forget an id after the retention (twice the window).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis

from frontdesk.escalation.replay import (
    DeliveryLog,
    RedisDeliveryLog,
    SeenDeliveries,
    SqliteDeliveryLog,
)
from frontdesk.escalation.sinks import sign, verify

SECRET = "whsec-test"
Factory = Callable[[float], DeliveryLog]
"""A new log instance over the same storage (a restarted receiver, another worker)."""


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)],
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Factory]]:
    kind: str = request.param
    if kind == "memory":
        shared = SeenDeliveries()

        def memory(window: float) -> DeliveryLog:
            shared.window_seconds = window  # one process: the same object is all there is
            return shared

        yield kind, memory
    elif kind == "sqlite":
        path = tmp_path / "receiver" / "deliveries.db"
        yield kind, lambda window: SqliteDeliveryLog(path, window_seconds=window)
    else:
        client = Redis(host="127.0.0.1", port=6379)
        prefix = f"test:{uuid.uuid4().hex}:"
        try:
            yield (
                kind,
                lambda window: RedisDeliveryLog(client, window_seconds=window, prefix=prefix),
            )
        finally:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
            client.close()


def test_an_id_is_accepted_once(backend: tuple[str, Factory]) -> None:
    _, make = backend
    log = make(300)
    now = time.time()
    assert log.add("d-1", now)
    assert not log.add("d-1", now + 1)
    assert log.add("d-2", now + 1)


def test_concurrent_adds_of_one_id_accept_exactly_one(backend: tuple[str, Factory]) -> None:
    _, make = backend
    logs = [make(300) for _ in range(8)]
    results: list[bool] = []
    barrier = threading.Barrier(len(logs))

    def add(log: DeliveryLog) -> None:
        barrier.wait()
        results.append(log.add("d-race", time.time()))

    threads = [threading.Thread(target=add, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False] * 7 + [True]


def test_an_id_is_forgotten_after_twice_the_window(backend: tuple[str, Factory]) -> None:
    _, make = backend
    log = make(0.25)
    start = time.time()
    assert log.add("d-old", start)
    assert not log.add("d-old", start + 0.1)
    time.sleep(0.6)
    assert log.add("d-old", time.time())


def test_a_replay_to_a_restarted_receiver_or_another_worker_is_refused(
    backend: tuple[str, Factory],
) -> None:
    kind, make = backend
    body = b'{"ticket":{"id":"t-1"}}'
    timestamp = str(int(time.time()))
    signature = sign(SECRET, timestamp, "d-captured", body)

    def receive(log: DeliveryLog) -> bool:
        return verify(
            SECRET,
            timestamp=timestamp,
            delivery_id="d-captured",
            body=body,
            signature=signature,
            seen=log,
            max_age_seconds=300,
        )

    assert receive(make(300))
    if kind == "memory":
        assert not receive(make(300))  # the same process still remembers it
        assert receive(SeenDeliveries())  # the limit this module documents: a new process
        return
    assert not receive(make(300))  # a new instance over the same file / server
