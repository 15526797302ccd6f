"""The in-memory chunks of a collection (ChunkCache) follow every write: ingest, overwrite,
delete, a write by another process, and never cross a tenant or collection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from frontdesk.knowledge.stores.chunk_cache import ChunkCache, ChunkMap
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import SearchFilter, StoredChunk
from tests.contracts.store_contract import make_chunk

DIM = 16


def _vectors(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    normalised: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return normalised


def _chunk(i: int, text: str, *, tenant: str = "t1", collection: str = "docs") -> StoredChunk:
    base = make_chunk(f"k{i}", tenant=tenant, collection=collection, text=text, ordinal=i)
    return StoredChunk(**{**{f: getattr(base, f) for f in base.__slots__}, "id": f"{tenant}-c{i}"})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kb.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteKnowledgeStore]:
    s = SqliteKnowledgeStore.open(db, background_builds=False)
    s.ensure_collection("t1", "docs", "random", DIM)
    yield s
    s.close()


class _CountingFetch:
    """Counts the store's database reads of hits."""

    def __init__(self, store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = store._fetch_pks

        def fetch(where: SearchFilter, pks: list[int]) -> dict[int, StoredChunk]:
            self.calls += 1
            return original(where, pks)

        monkeypatch.setattr(store, "_fetch_pks", fetch)


def test_searches_read_hits_from_memory_after_the_first(
    store: SqliteKnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    vectors = _vectors(20)
    store.upsert([_chunk(i, f"refund policy part {i}") for i in range(20)], vectors)
    fetches = _CountingFetch(store, monkeypatch)
    where = SearchFilter("t1", "docs")
    for _ in range(3):
        assert store.search_vector(vectors[4], where, 3)[0].chunk.id == "t1-c4"
        assert store.search_lexical("refund policy", where, 5)
    assert fetches.calls == 0


def test_ingest_and_overwrite_are_seen_by_the_next_search(store: SqliteKnowledgeStore) -> None:
    vectors = _vectors(10)
    where = SearchFilter("t1", "docs")
    store.upsert([_chunk(i, f"old text {i}") for i in range(10)], vectors)
    assert store.search_vector(vectors[2], where, 1)[0].chunk.text == "old text 2"
    store.upsert([_chunk(2, "new wording about parcels")], vectors[2:3])
    assert store.search_vector(vectors[2], where, 1)[0].chunk.text == "new wording about parcels"
    assert store.search_lexical("parcels", where, 3)[0].chunk.id == "t1-c2"
    store.upsert([_chunk(10, "a chunk added later")], vectors[3:4] * -1)
    assert store.search_vector(-vectors[3], where, 1)[0].chunk.id == "t1-c10"


def test_deleted_chunks_and_documents_are_not_returned(store: SqliteKnowledgeStore) -> None:
    vectors = _vectors(10)
    where = SearchFilter("t1", "docs")
    store.upsert([_chunk(i, f"shipping times {i}") for i in range(10)], vectors)
    assert store.search_vector(vectors[5], where, 1)[0].chunk.id == "t1-c5"
    store.delete(where, ["t1-c5"])
    ids = {h.chunk.id for h in store.search_vector(vectors[5], where, 10)}
    assert "t1-c5" not in ids and len(ids) == 9
    store.delete_documents(where, ["doc-1"])
    assert store.search_vector(vectors[5], where, 10) == []
    assert store.search_lexical("shipping", where, 10) == []


def test_a_write_by_another_process_is_seen(store: SqliteKnowledgeStore, db: Path) -> None:
    """Another store on the same file (a ``frontdesk ingest`` beside the server): the
    generation in the database changes, so the cached chunks are not served."""
    vectors = _vectors(10)
    where = SearchFilter("t1", "docs")
    store.upsert([_chunk(i, f"opening hours {i}") for i in range(10)], vectors)
    assert store.search_vector(vectors[1], where, 1)[0].chunk.text == "opening hours 1"
    other = SqliteKnowledgeStore.open(db, background_builds=False)
    try:
        other.upsert([_chunk(1, "closed on public holidays")], vectors[1:2])
        other.delete(where, ["t1-c7"])
    finally:
        other.close()
    assert store.search_vector(vectors[1], where, 1)[0].chunk.text == "closed on public holidays"
    assert "t1-c7" not in {h.chunk.id for h in store.search_vector(vectors[7], where, 10)}
    assert store.search_lexical("holidays", where, 1)[0].chunk.id == "t1-c1"


def test_hits_never_cross_tenants_or_collections(store: SqliteKnowledgeStore) -> None:
    vectors = _vectors(6)
    store.ensure_collection("t2", "docs", "random", DIM)
    store.ensure_collection("t1", "other", "random", DIM)
    store.upsert([_chunk(i, f"tenant one secret {i}") for i in range(3)], vectors[:3])
    store.upsert([_chunk(i, "tenant two text", tenant="t2") for i in range(3)], vectors[:3])
    store.upsert([_chunk(9, "other collection", collection="other")], vectors[:1])
    t1, t2 = SearchFilter("t1", "docs"), SearchFilter("t2", "docs")
    assert {h.chunk.tenant for h in store.search_vector(vectors[0], t2, 10)} == {"t2"}
    assert {h.chunk.tenant for h in store.search_vector(vectors[0], t1, 10)} == {"t1"}
    assert store.search_lexical("secret", t2, 10) == []
    hits = store.search_vector(vectors[0], SearchFilter("t1", "other"), 10)
    assert [h.chunk.text for h in hits] == ["other collection"]
    # primary keys of another tenant's chunks resolve to nothing in this scope
    t1_pks = [int(x) for x in store._vectors("t1", "docs").labels]  # type: ignore[union-attr]
    info = store.collection_info("t2", "docs")
    assert info is not None
    assert store._hits(t2, t1_pks, info.generation) == {}
    store.drop_collection("t2", "docs")
    assert store.search_vector(vectors[0], t2, 10) == []


def test_document_filter_applies_to_cached_chunks(store: SqliteKnowledgeStore) -> None:
    vectors = _vectors(4)
    chunks = [
        StoredChunk(**{**{f: getattr(c, f) for f in c.__slots__}, "document_id": f"doc-{i % 2}"})
        for i, c in enumerate(_chunk(i, f"warranty claim {i}") for i in range(4))
    ]
    store.upsert(chunks, vectors)
    only = SearchFilter("t1", "docs", frozenset(["doc-1"]))
    assert {h.chunk.document_id for h in store.search_vector(vectors[0], only, 4)} == {"doc-1"}
    assert {h.chunk.document_id for h in store.search_lexical("warranty", only, 4)} == {"doc-1"}


def test_collections_above_the_limit_are_read_from_the_database(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteKnowledgeStore.open(db, background_builds=False, chunk_cache_max=5)
    try:
        store.ensure_collection("t1", "docs", "random", DIM)
        vectors = _vectors(8)
        store.upsert([_chunk(i, f"delivery {i}") for i in range(8)], vectors)
        fetches = _CountingFetch(store, monkeypatch)
        where = SearchFilter("t1", "docs")
        assert store.search_vector(vectors[6], where, 1)[0].chunk.id == "t1-c6"
        assert store.search_vector(vectors[6], where, 1)[0].chunk.id == "t1-c6"
        assert fetches.calls == 2
    finally:
        store.close()


def _snapshot(generation: int, n: int) -> ChunkMap:
    return {i: _chunk(i, f"text {i} of generation {generation}") for i in range(n)}


def test_background_load_serves_nothing_until_loaded() -> None:
    cache = ChunkCache(sync_threshold=2, background=True)
    gate = threading.Event()

    def load() -> tuple[int, ChunkMap]:
        gate.wait(10)
        return 4, _snapshot(4, 3)

    assert cache.get(("t", "c"), 4, lambda: 3, load) is None  # loading in a thread
    assert cache.get(("t", "c"), 4, lambda: 3, load) is None
    gate.set()
    cache.wait()
    got = cache.get(("t", "c"), 4, lambda: 3, load)
    assert got is not None and got[1].text == "text 1 of generation 4"
    assert cache.get(("t", "c"), 5, lambda: 3, lambda: (5, _snapshot(5, 1))) is None


def test_snapshot_of_another_generation_is_not_served() -> None:
    """A write between reading the generation and loading the rows: the rows are not
    labelled with the generation the search asked for."""
    cache = ChunkCache(background=False)
    assert cache.get(("t", "c"), 1, lambda: 2, lambda: (2, _snapshot(2, 2))) is None
    got = cache.get(("t", "c"), 2, lambda: 2, lambda: (9, {}))
    assert got is not None and got[0].text == "text 0 of generation 2"
    assert cache.get(("t", "c"), 3, lambda: 2, lambda: (-1, {})) is None
    cache.invalidate(("t", "c"))
    assert cache.get(("t", "c"), 2, lambda: 2, lambda: (-1, {})) is None


def test_a_collection_dropped_and_made_again_by_another_process_is_seen(
    store: SqliteKnowledgeStore, db: Path
) -> None:
    """Another process drops the collection and makes it again with as many writes: its
    generation must not repeat the one this process cached (the chunks, the vector and the
    BM25 index of the dropped collection are never served)."""
    vectors = _vectors(4)
    where = SearchFilter("t1", "docs")
    store.upsert([_chunk(i, f"opening hours {i}") for i in range(4)], vectors)
    assert store.search_vector(vectors[1], where, 1)[0].chunk.text == "opening hours 1"
    assert store.search_lexical("opening", where, 1)
    before = store.collection_info("t1", "docs")
    other = SqliteKnowledgeStore.open(db, background_builds=False)
    try:
        other.drop_collection("t1", "docs")
        other.ensure_collection("t1", "docs", "random", DIM)
        other.upsert([_chunk(i, f"closed on holidays {i}") for i in range(4)], vectors)
    finally:
        other.close()
    after = store.collection_info("t1", "docs")
    assert before is not None and after is not None
    assert after.generation != before.generation
    assert store.search_vector(vectors[1], where, 1)[0].chunk.text == "closed on holidays 1"
    assert store.search_lexical("opening", where, 1) == []
    assert store.search_lexical("holidays", where, 4)
