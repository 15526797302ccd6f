"""Where a webhook receiver remembers the delivery ids it accepted (replay protection).

:func:`frontdesk.escalation.sinks.verify` refuses a delivery whose timestamp is more
than ``max_age_seconds`` from now, and one whose ``X-Frontdesk-Delivery`` id a
:class:`DeliveryLog` has seen. An id must be remembered while its timestamp can still
pass the age check: ``2 * window_seconds`` (the timestamp may be up to the window in
the past or the future), with ``window_seconds`` equal to ``max_age_seconds``.

Backends, all passing one contract suite (``tests/escalation/test_replay_contract.py``):

- :class:`SeenDeliveries`: in this process only; forgotten on restart and not shared
  by a receiver's workers (a replay to another worker passes).
- :class:`SqliteDeliveryLog`: a SQLite file; survives restarts and is shared by the
  processes of one machine.
- :class:`RedisDeliveryLog`: ``SET NX EX`` on a Redis server; shared by every worker
  and machine (durable as far as the server persists).

The interface is synchronous (receivers are often sync web apps); an async receiver
calls ``verify`` in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import math
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis import Redis


class DeliveryLog(Protocol):
    window_seconds: float

    def add(self, delivery_id: str, now: float) -> bool:
        """Remember ``delivery_id`` (seen at ``now``, Unix seconds); False when it was
        already remembered (a replay). Atomic: of two concurrent adds of one id, one
        gets True."""
        ...


def retention_seconds(window_seconds: float) -> float:
    """How long an accepted id must be remembered."""
    return 2 * window_seconds


@dataclass
class SeenDeliveries:
    """Delivery ids a receiver has accepted within the replay window (in memory)."""

    window_seconds: float = 300.0
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, delivery_id: str, now: float) -> bool:
        keep = retention_seconds(self.window_seconds)
        with self._lock:
            self._seen = {d: t for d, t in self._seen.items() if now - t <= keep}
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = now
            return True


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS seen_deliveries "
    "(delivery_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
)


class SqliteDeliveryLog:
    """Accepted ids in a SQLite file (one table), shared by the processes using the file.

    Each ``add`` is one short ``BEGIN IMMEDIATE`` transaction: expired ids are
    deleted, then ``INSERT OR IGNORE`` tells a new id from a replay.
    """

    def __init__(self, path: Path | str, *, window_seconds: float = 300.0) -> None:
        self.path = Path(path)
        self.window_seconds = window_seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> _Connection:
        return _Connection(self.path)

    def add(self, delivery_id: str, now: float) -> bool:
        cutoff = now - retention_seconds(self.window_seconds)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM seen_deliveries WHERE seen_at < ?", (cutoff,))
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO seen_deliveries (delivery_id, seen_at) VALUES (?, ?)",
                    (delivery_id, now),
                )
                added = cursor.rowcount == 1
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return added


class _Connection:
    """One autocommit connection for the length of a ``with`` block (closed after)."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        return self._conn

    def __exit__(self, *exc: object) -> None:
        self._conn.close()


class RedisDeliveryLog:
    """Accepted ids as Redis keys ``<prefix><id>`` set with ``NX`` and a TTL of the
    retention (the Redis server's clock expires them; ``now`` is not used)."""

    def __init__(
        self,
        client: Redis,
        *,
        window_seconds: float = 300.0,
        prefix: str = "frontdesk:webhook-delivery:",
    ) -> None:
        self._client = client
        self.window_seconds = window_seconds
        self._prefix = prefix

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        window_seconds: float = 300.0,
        prefix: str = "frontdesk:webhook-delivery:",
    ) -> RedisDeliveryLog:
        from redis import Redis

        return cls(Redis.from_url(url), window_seconds=window_seconds, prefix=prefix)

    def add(self, delivery_id: str, now: float) -> bool:
        ttl_ms = max(1, math.ceil(retention_seconds(self.window_seconds) * 1000))
        return bool(self._client.set(self._prefix + delivery_id, b"1", nx=True, px=ttl_ms))

    def close(self) -> None:
        self._client.close()
