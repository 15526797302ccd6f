"""The SQLite store against the contract, plus its ANN index persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from frontdesk.knowledge.stores.factory import open_store, sync_url
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore, fts5_query
from frontdesk.knowledge.types import SearchFilter, StoredChunk
from tests.contracts.store_contract import KnowledgeStoreContract, make_chunk


class TestSqliteStore(KnowledgeStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
        store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
        yield store
        store.close()


class TestSqliteStoreWithHnsw(KnowledgeStoreContract):
    """The same contract with the ANN index forced on (threshold 0)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
        store = SqliteKnowledgeStore.open(
            tmp_path / "kb.db", exact_threshold=0, background_builds=False
        )
        yield store
        store.close()


def _many(n: int, dim: int = 32) -> tuple[list[StoredChunk], np.ndarray]:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [make_chunk("refund", text=f"chunk number {i}", ordinal=i) for i in range(n)]
    chunks = [
        StoredChunk(**{**{f: getattr(c, f) for f in c.__slots__}, "id": f"c{i}"})
        for i, c in enumerate(chunks)
    ]
    return chunks, vectors


def test_hnsw_index_is_persisted_and_rebuilt_when_missing(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    chunks, vectors = _many(300)
    store = SqliteKnowledgeStore.open(db, exact_threshold=100)
    store.ensure_collection("t1", "docs", "random", 32)
    store.upsert(chunks, vectors)
    where = SearchFilter("t1", "docs")
    first = store.search_vector(vectors[10], where, 5)
    assert first[0].chunk.id == "c10"
    store.wait_for_index_builds()
    files = list((tmp_path / "kb.db.kbvec").glob("*.hnsw"))
    assert len(files) == 1
    store.close()

    reopened = SqliteKnowledgeStore.open(db, exact_threshold=100)
    assert [h.chunk.id for h in reopened.search_vector(vectors[10], where, 5)] == [
        h.chunk.id for h in first
    ]
    reopened.close()

    files[0].unlink()
    rebuilt = SqliteKnowledgeStore.open(db, exact_threshold=100)
    # served by exact search at once while the graph is rebuilt in the background
    assert rebuilt.search_vector(vectors[42], where, 1)[0].chunk.id == "c42"
    rebuilt.wait_for_index_builds()
    assert files[0].exists()
    assert rebuilt.search_vector(vectors[43], where, 1)[0].chunk.id == "c43"
    rebuilt.close()


def test_ann_recall_against_exact_search(tmp_path: Path) -> None:
    chunks, vectors = _many(2000)
    exact = SqliteKnowledgeStore.open(tmp_path / "exact.db")
    ann = SqliteKnowledgeStore.open(tmp_path / "ann.db", exact_threshold=0, background_builds=False)
    for store in (exact, ann):
        store.ensure_collection("t1", "docs", "random", 32)
        store.upsert(chunks, vectors)
    where = SearchFilter("t1", "docs")
    rng = np.random.default_rng(1)
    found = 0
    for _ in range(50):
        query = rng.normal(size=32).astype(np.float32)
        query /= np.linalg.norm(query)
        truth = {h.chunk.id for h in exact.search_vector(query, where, 10)}
        found += len(truth & {h.chunk.id for h in ann.search_vector(query, where, 10)})
    assert found / 500 >= 0.95
    exact.close()
    ann.close()


def test_stale_index_from_an_older_generation_is_not_used(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    chunks, vectors = _many(200)
    store = SqliteKnowledgeStore.open(db, exact_threshold=50)
    store.ensure_collection("t1", "docs", "random", 32)
    store.upsert(chunks[:150], vectors[:150])
    where = SearchFilter("t1", "docs")
    store.refresh_index("t1", "docs")  # builds and saves generation 1 now
    other = SqliteKnowledgeStore.open(db, exact_threshold=50)  # a second process
    other.upsert(chunks[150:], vectors[150:])
    other.close()
    assert store.search_vector(vectors[170], where, 1)[0].chunk.id == "c170"
    store.close()


def test_fts5_query_quotes_terms_and_drops_stopwords() -> None:
    assert fts5_query('How do I get a "refund"?') == '"get" OR "refund"'
    assert fts5_query("the") == '"the"'
    assert fts5_query("!!!") == ""


def test_open_store_from_app_urls(tmp_path: Path) -> None:
    assert sync_url("sqlite+aiosqlite:////x/y.db") == "sqlite:////x/y.db"
    assert sync_url("postgresql+asyncpg://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    store = open_store(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    assert isinstance(store, SqliteKnowledgeStore)
    assert store.count(SearchFilter("t", "c")) == 0
    store.close()
