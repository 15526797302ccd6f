"""Opening the SQLite store from a second connection must not break searches under way.

``frontdesk ingest`` (or another worker) opening the database while the server searches it
used to rewrite the FTS5 ``rank`` configuration on every open, and concurrent searches then
failed with "SQL logic error".
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import SearchFilter, StoredChunk
from tests.contracts.store_contract import make_chunk


def test_reopening_the_store_does_not_break_concurrent_lexical_search(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    store = SqliteKnowledgeStore.open(db)
    store.ensure_collection("t1", "docs", "random", 8)
    chunks = [
        StoredChunk(
            **{
                **{f: getattr(c, f) for f in c.__slots__},
                "id": f"c{i}",
                "text": f"refund policy annual plan number {i}",
            }
        )
        for i, c in enumerate(make_chunk("refund", ordinal=i) for i in range(200))
    ]
    vectors = np.ones((len(chunks), 8), dtype=np.float32) / np.sqrt(8)
    store.upsert(chunks, vectors)
    where = SearchFilter("t1", "docs")
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                assert store.search_lexical("refund annual plan", where, 20)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(30):
            SqliteKnowledgeStore.open(db).close()
    finally:
        stop.set()
        for t in threads:
            t.join()
        store.close()
    assert errors == []
