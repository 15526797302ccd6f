"""The chunks of a collection kept in memory, keyed by the collection's generation.

Every search turns index hits (primary keys) into chunks; reading them from the database
cost about 0.5 ms per search at 100k chunks (BENCHMARKS.md). The stores read a collection's
chunks once per generation instead: a write bumps the generation (in the database, so a
write by another process is seen too) and the next search loads the new state. Small
collections load at once; above ``sync_threshold`` chunks a thread loads them while
searches fetch their hits from the database, and above ``max_chunks`` nothing is kept
(memory: about 1 KB per chunk of 500 characters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from frontdesk.knowledge.types import StoredChunk

Key = tuple[str, str]
ChunkMap = dict[int, StoredChunk]
# Reads the collection's generation and all its chunks in one transaction (one snapshot).
SnapshotLoader = Callable[[], tuple[int, ChunkMap]]


@dataclass(frozen=True)
class _Entry:
    generation: int
    chunks: ChunkMap | None  # None: too large to keep


class ChunkCache:
    def __init__(
        self,
        *,
        max_chunks: int = 250_000,
        sync_threshold: int = 20_000,
        background: bool = True,
    ) -> None:
        self.max_chunks = max_chunks
        self.sync_threshold = sync_threshold
        self.background = background
        self._entries: dict[Key, _Entry] = {}
        self._loads: dict[Key, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(
        self, key: Key, generation: int, count: Callable[[], int], load: SnapshotLoader
    ) -> ChunkMap | None:
        """The chunks of ``generation`` by primary key; None when the caller should read its
        hits from the database (too large to keep, being loaded, or a newer generation)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.generation == generation:
            return entry.chunks
        if self.max_chunks <= 0 or self._loading(key):
            return None
        n = count()
        if n > self.max_chunks:
            self._keep(key, _Entry(generation, None))
            return None
        if self.background and n >= self.sync_threshold:
            self._load_in_background(key, load)
            return None
        loaded = self._load(key, load)
        return loaded.chunks if loaded.generation == generation else None

    def _loading(self, key: Key) -> bool:
        with self._lock:
            running = self._loads.get(key)
        return running is not None and running.is_alive()

    def _load(self, key: Key, load: SnapshotLoader) -> _Entry:
        generation, chunks = load()
        entry = _Entry(generation, chunks if len(chunks) <= self.max_chunks else None)
        self._keep(key, entry)
        return entry

    def _keep(self, key: Key, entry: _Entry) -> None:
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.generation <= entry.generation:
                self._entries[key] = entry

    def _load_in_background(self, key: Key, load: SnapshotLoader) -> None:
        with self._lock:
            running = self._loads.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._load, args=(key, load), name=f"chunks-{key[1]}", daemon=True
            )
            self._loads[key] = thread
        thread.start()

    def invalidate(self, key: Key) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def wait(self) -> None:
        """Join background loads (tests, shutdown)."""
        for thread in list(self._loads.values()):
            thread.join()
