"""A deleted tenant's knowledge goes from the store, on SQLite (with its persisted vector
index files) and on PostgreSQL with pgvector; the other tenant's collection still answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.stores.factory import open_store
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.stores.vector_index import index_paths
from frontdesk.knowledge.types import SearchFilter
from frontdesk.tenants.delete import drop_knowledge
from tests.contracts.store_contract import EMBEDDER, TEXTS, make_chunk, vectors_for
from tests.knowledge.test_store_postgres import pg_database, pg_server, pg_url  # noqa: F401

QUERY = "How do I get a refund on my annual plan?"


def _seed(store: KnowledgeStore, tenant: str) -> None:
    for collection in ("docs", "faq"):
        chunks = [
            make_chunk(k, tenant=tenant, collection=collection, ordinal=i)
            for i, k in enumerate(TEXTS)
        ]
        store.ensure_collection(tenant, collection, EMBEDDER.model_id, EMBEDDER.dimensions)
        store.upsert(chunks, vectors_for(chunks))


def _found(store: KnowledgeStore, tenant: str) -> tuple[int, int, int]:
    """(chunks, vector hits, lexical hits) of the tenant's docs collection."""
    where = SearchFilter(tenant, "docs")
    vector = EMBEDDER.embed_sync([QUERY])[0]
    return (
        store.count(where),
        len(store.search_vector(vector, where, 4)),
        len(store.search_lexical(QUERY, where, 4)),
    )


def _check(store: KnowledgeStore) -> None:
    _seed(store, "acme")
    _seed(store, "globex")
    before = _found(store, "globex")
    assert _found(store, "acme") == before and before[0] == len(TEXTS) and min(before) > 0
    assert drop_knowledge(store, "acme") == (2, 0)  # chunks only: no document rows
    assert _found(store, "acme") == (0, 0, 0)
    assert store.collection_info("acme", "faq") is None
    assert store.count(SearchFilter("acme", "faq")) == 0
    assert _found(store, "globex") == before
    assert store.collection_info("globex", "faq") is not None
    assert drop_knowledge(store, "acme") == (0, 0)  # again: nothing left to drop


def test_sqlite_store_and_its_index_files(tmp_path: Path) -> None:
    store = SqliteKnowledgeStore.open(
        tmp_path / "kb.db", exact_threshold=2, background_builds=False
    )
    try:
        _seed(store, "acme")
        _found(store, "acme")  # builds and saves the HNSW index of acme/docs
        assert store.index_dir is not None
        files = index_paths(store.index_dir, "acme", "docs")
        assert all(p.is_file() for p in files)
        assert drop_knowledge(store, "acme") == (2, 0)
        assert not any(p.exists() for p in files)
        _check(store)
    finally:
        store.close()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[KnowledgeStore]:  # noqa: F811
    store = open_store(pg_url)
    yield store
    store.close()


@pytest.mark.postgres
def test_postgres_store(pg_store: KnowledgeStore) -> None:
    _check(pg_store)
