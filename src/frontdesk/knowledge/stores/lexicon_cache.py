"""Per-collection BM25 indexes for the SQL stores, cached in process by collection generation.

Small collections build at once on the first search after a write. Above
``sync_threshold`` chunks a search never waits for a build: it is answered by the
backend's own full-text search (SQLite FTS5, PostgreSQL tsvector) while a thread builds
the index, and ingestion builds it at the end of a run (``refresh``). Built indexes are
persisted next to a SQLite database, so a restarted server loads instead of rebuilding.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from frontdesk.knowledge.analysis import Analyzer
from frontdesk.knowledge.lexical_index import Bm25Index, Bm25Params, IndexRow

Key = tuple[str, str]
RowLoader = Callable[[], list[IndexRow]]


def lexicon_path(directory: Path, tenant: str, collection: str) -> Path:
    key = hashlib.sha256(f"{tenant}\x1f{collection}".encode()).hexdigest()[:24]
    return directory / f"{key}.lex.npz"


class LexiconCache:
    def __init__(
        self,
        directory: Path | None,
        *,
        analyzer: Analyzer | None = None,
        params: Bm25Params | None = None,
        sync_threshold: int = 20_000,
        background: bool = True,
    ) -> None:
        self.directory = directory
        self.analyzer = analyzer or Analyzer()
        self.params = params or Bm25Params()
        self.sync_threshold = sync_threshold
        self.background = background
        self._indexes: dict[Key, Bm25Index] = {}
        self._builds: dict[Key, threading.Thread] = {}
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # one build at a time (CPU and memory)

    def get(
        self, key: Key, generation: int, count: Callable[[], int], rows: RowLoader
    ) -> Bm25Index | None:
        """The index of ``generation``; None while a background build is running."""
        with self._lock:
            cached = self._indexes.get(key)
        if cached is not None and cached.generation == generation:
            return cached
        loaded = self._load(key, generation)
        if loaded is not None:
            return loaded
        if not self.background or count() < self.sync_threshold:
            return self.build(key, generation, rows)
        self._build_in_background(key, generation, rows)
        return None

    def _load(self, key: Key, generation: int) -> Bm25Index | None:
        if self.directory is None:
            return None
        index = Bm25Index.load(lexicon_path(self.directory, *key), generation)
        if index is not None:
            self._keep(key, index)
        return index

    def _keep(self, key: Key, index: Bm25Index) -> None:
        with self._lock:
            current = self._indexes.get(key)
            if current is None or current.generation <= index.generation:
                self._indexes[key] = index

    def build(self, key: Key, generation: int, rows: RowLoader) -> Bm25Index:
        with self._build_lock:
            with self._lock:
                cached = self._indexes.get(key)
            if cached is not None and cached.generation == generation:
                return cached
            index = Bm25Index.build(rows(), self.analyzer, self.params, generation=generation)
            if self.directory is not None:
                index.save(lexicon_path(self.directory, *key))
            self._keep(key, index)
            return index

    def _build_in_background(self, key: Key, generation: int, rows: RowLoader) -> None:
        with self._lock:
            running = self._builds.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self.build,
                args=(key, generation, rows),
                name=f"bm25-build-{key[1]}",
                daemon=True,
            )
            self._builds[key] = thread
        thread.start()

    def invalidate(self, key: Key) -> None:
        with self._lock:
            self._indexes.pop(key, None)

    def wait(self) -> None:
        """Join background builds (tests, shutdown)."""
        for thread in list(self._builds.values()):
            thread.join()
