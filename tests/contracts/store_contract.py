"""The contract every knowledge store (VectorStore + LexicalIndex + documents) passes.

Subclass :class:`KnowledgeStoreContract` in a ``Test*`` class and provide a ``store``
fixture yielding an empty store with its schema created.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from frontdesk.knowledge.embedding import HashEmbedder
from frontdesk.knowledge.errors import DuplicateChunk, EmbeddingMismatch
from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.types import SearchFilter, StoredChunk, StoredDocument, Vector

EMBEDDER = HashEmbedder(64)
TEXTS = {
    "refund": "Annual plans get a full refund within 14 days of purchase.",
    "password": "Reset your password from the sign-in page with the emailed link.",
    "timeout": "Connection timeouts happen when the firewall blocks our IP addresses.",
    "pricing": "The Growth plan costs 299 dollars per month.",
}


def make_chunk(
    key: str,
    *,
    tenant: str = "t1",
    collection: str = "docs",
    document_id: str = "doc-1",
    ordinal: int = 0,
    text: str | None = None,
) -> StoredChunk:
    body = text or TEXTS[key]
    return StoredChunk(
        id=f"{tenant}-{collection}-{document_id}-{key}",
        tenant=tenant,
        collection=collection,
        document_id=document_id,
        ordinal=ordinal,
        text=body,
        title=f"Title {key}",
        section=f"Section {key}",
        source=f"docs/{key}.md",
        content_hash=f"hash-{key}-{len(body)}",
        url=f"https://docs.example/{key}",
        page=3 if key == "pricing" else None,
        anchor=key,
        token_count=len(body.split()),
    )


def vectors_for(chunks: list[StoredChunk]) -> Vector:
    return EMBEDDER.embed_sync([c.text for c in chunks])


class KnowledgeStoreContract:
    @pytest.fixture
    def store(self) -> KnowledgeStore:  # pragma: no cover - overridden
        raise NotImplementedError

    def _seed(self, store: KnowledgeStore, **kw: str) -> list[StoredChunk]:
        chunks = [make_chunk(k, ordinal=i, **kw) for i, k in enumerate(TEXTS)]
        tenant, collection = chunks[0].tenant, chunks[0].collection
        store.ensure_collection(tenant, collection, EMBEDDER.model_id, EMBEDDER.dimensions)
        assert store.upsert(chunks, vectors_for(chunks)) == len(chunks)
        return chunks

    def test_upsert_count_and_get(self, store: KnowledgeStore) -> None:
        chunks = self._seed(store)
        where = SearchFilter("t1", "docs")
        assert store.count(where) == 4
        got = store.get_chunks(where, [chunks[3].id, chunks[0].id])
        assert got == [chunks[3], chunks[0]]  # every field round-trips, order kept

    def test_vector_search_ranks_the_nearest_first(self, store: KnowledgeStore) -> None:
        self._seed(store)
        query = EMBEDDER.embed_sync(["full refund of annual plans"])[0]
        hits = store.search_vector(query, SearchFilter("t1", "docs"), 2)
        assert hits[0].chunk.anchor == "refund"
        assert len(hits) == 2
        assert hits[0].score >= hits[1].score
        assert -1.0 <= hits[1].score <= 1.0 + 1e-5

    def test_exact_vector_scores_are_cosine_similarity(self, store: KnowledgeStore) -> None:
        chunks = self._seed(store)
        vectors = vectors_for(chunks)
        hits = store.search_vector(vectors[1], SearchFilter("t1", "docs"), 4)
        assert hits[0].chunk.id == chunks[1].id
        assert hits[0].score == pytest.approx(1.0, abs=1e-4)
        expected = {c.id: float(vectors[i] @ vectors[1]) for i, c in enumerate(chunks)}
        for hit in hits:
            assert hit.score == pytest.approx(expected[hit.chunk.id], abs=1e-4)

    def test_lexical_search_matches_words(self, store: KnowledgeStore) -> None:
        self._seed(store)
        hits = store.search_lexical("How do I reset my password?", SearchFilter("t1", "docs"), 5)
        assert hits[0].chunk.anchor == "password"
        assert all(h.chunk.anchor != "pricing" for h in hits)
        assert store.search_lexical("zebra giraffe", SearchFilter("t1", "docs"), 5) == []

    def test_lexical_search_survives_query_syntax(self, store: KnowledgeStore) -> None:
        self._seed(store)
        for query in ['"refund', "refund AND OR NOT", "refund* (NEAR", "-- ' ;", "?"]:
            store.search_lexical(query, SearchFilter("t1", "docs"), 5)

    def test_filter_keeps_tenants_and_collections_apart(self, store: KnowledgeStore) -> None:
        self._seed(store, tenant="t1", collection="docs")
        self._seed(store, tenant="t2", collection="docs")
        self._seed(store, tenant="t1", collection="other")
        query = EMBEDDER.embed_sync(["refund"])[0]
        for tenant, collection in [("t1", "docs"), ("t2", "docs"), ("t1", "other")]:
            where = SearchFilter(tenant, collection)
            assert store.count(where) == 4
            for hit in store.search_vector(query, where, 10) + store.search_lexical(
                "refund password", where, 10
            ):
                assert (hit.chunk.tenant, hit.chunk.collection) == (tenant, collection)
        assert store.count(SearchFilter("t3", "docs")) == 0
        assert store.search_vector(query, SearchFilter("t3", "docs"), 5) == []

    def test_filter_by_document(self, store: KnowledgeStore) -> None:
        self._seed(store)
        extra = [make_chunk("refund", document_id="doc-2", text="Refunds for monthly plans.")]
        store.upsert(extra, vectors_for(extra))
        where = SearchFilter("t1", "docs", frozenset({"doc-2"}))
        assert store.count(where) == 1
        query = EMBEDDER.embed_sync(["refund"])[0]
        assert [h.chunk.document_id for h in store.search_vector(query, where, 5)] == ["doc-2"]
        assert [h.chunk.document_id for h in store.search_lexical("refund", where, 5)] == ["doc-2"]

    def test_delete_by_id_and_by_scope(self, store: KnowledgeStore) -> None:
        chunks = self._seed(store)
        where = SearchFilter("t1", "docs")
        assert store.delete(where, [chunks[0].id]) == 1
        assert store.count(where) == 3
        assert store.search_lexical("refund", where, 5) == []
        query = EMBEDDER.embed_sync([chunks[0].text])[0]
        assert chunks[0].id not in {h.chunk.id for h in store.search_vector(query, where, 5)}
        # deleting in another tenant's scope touches nothing here
        assert store.delete(SearchFilter("t2", "docs"), [chunks[1].id]) == 0
        assert store.delete(where) == 3
        assert store.count(where) == 0

    def test_duplicate_policies(self, store: KnowledgeStore) -> None:
        chunks = self._seed(store)
        where = SearchFilter("t1", "docs")
        changed = [make_chunk("refund", text="Refunds are handled by the billing team.")]
        assert store.upsert(changed, vectors_for(changed), on_duplicate="skip") == 0
        assert store.get_chunks(where, [chunks[0].id])[0].text == chunks[0].text
        with pytest.raises(DuplicateChunk):
            store.upsert(changed, vectors_for(changed), on_duplicate="fail")
        assert store.upsert(changed, vectors_for(changed), on_duplicate="overwrite") == 1
        assert store.get_chunks(where, [chunks[0].id])[0].text.startswith("Refunds are handled")
        assert store.count(where) == 4
        assert store.search_lexical("billing team", where, 5)[0].chunk.id == chunks[0].id

    def test_collection_records_the_embedder(self, store: KnowledgeStore) -> None:
        info = store.ensure_collection("t1", "docs", "model-a", 64)
        assert (info.model_id, info.dimensions) == ("model-a", 64)
        assert store.ensure_collection("t1", "docs", "model-a", 64).model_id == "model-a"
        with pytest.raises(EmbeddingMismatch, match="re-embed"):
            store.ensure_collection("t1", "docs", "model-b", 128)
        store.drop_collection("t1", "docs")
        assert store.collection_info("t1", "docs") is None

    def test_replace_document_swaps_all_chunks(self, store: KnowledgeStore) -> None:
        store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        where = SearchFilter("t1", "docs")
        doc = StoredDocument("doc-1", "t1", "docs", "docs/a.md", "A", "markdown", "h1")
        first = [make_chunk(k, ordinal=i) for i, k in enumerate(["refund", "password"])]
        store.replace_document(doc, "full text v1", first, vectors_for(first))
        assert store.count(where) == 2
        assert store.document_text(where, "doc-1") == "full text v1"
        assert store.document_chunks(where, "doc-1") == first
        assert store.document_chunks(SearchFilter("t2", "docs"), "doc-1") == []
        vectors = store.chunk_vectors(where, "doc-1")
        assert set(vectors) == {c.content_hash for c in first}
        np.testing.assert_allclose(vectors[first[0].content_hash], vectors_for(first)[0], atol=1e-6)

        second = [make_chunk("pricing")]
        doc2 = StoredDocument("doc-1", "t1", "docs", "docs/a.md", "A", "markdown", "h2")
        store.replace_document(doc2, "full text v2", second, vectors_for(second))
        assert store.count(where) == 1
        stored = store.get_document(where, "doc-1")
        assert stored is not None
        assert (stored.content_hash, stored.chunk_count) == ("h2", 1)
        assert store.search_lexical("password", where, 5) == []

    def test_find_document_by_source_is_scoped(self, store: KnowledgeStore) -> None:
        store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        doc = StoredDocument("7f3a", "t1", "docs", "docs/a.md", "A", "markdown", "h1")
        chunks = [make_chunk("refund", document_id="7f3a")]
        store.replace_document(doc, "text", chunks, vectors_for(chunks))
        found = store.find_document(SearchFilter("t1", "docs"), "docs/a.md")
        assert found is not None and (found.id, found.content_hash) == ("7f3a", "h1")
        assert store.find_document(SearchFilter("t1", "docs"), "docs/b.md") is None
        assert store.find_document(SearchFilter("t2", "docs"), "docs/a.md") is None
        assert store.find_document(SearchFilter("t1", "other"), "docs/a.md") is None

    def test_replace_document_is_atomic(self, store: KnowledgeStore) -> None:
        store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        where = SearchFilter("t1", "docs")
        doc = StoredDocument("doc-1", "t1", "docs", "docs/a.md", "A", "markdown", "h1")
        first = [make_chunk("refund")]
        store.replace_document(doc, "v1", first, vectors_for(first))
        clash = [make_chunk("pricing"), make_chunk("pricing")]  # same id twice: must fail
        doc2 = StoredDocument("doc-1", "t1", "docs", "docs/a.md", "A", "markdown", "h2")
        with pytest.raises(DuplicateChunk):
            store.replace_document(doc2, "v2", clash, vectors_for(clash))
        stored = store.get_document(where, "doc-1")
        assert stored is not None and stored.content_hash == "h1"
        assert [c.id for c in store.get_chunks(where, [first[0].id])] == [first[0].id]
        assert store.count(where) == 1

    def test_delete_and_list_documents(self, store: KnowledgeStore) -> None:
        store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        where = SearchFilter("t1", "docs")
        for n, key in enumerate(["refund", "password"]):
            doc = StoredDocument(f"doc-{n}", "t1", "docs", f"docs/{key}.md", key, "markdown", key)
            chunks = [make_chunk(key, document_id=f"doc-{n}")]
            store.replace_document(doc, key, chunks, vectors_for(chunks))
        assert [d.id for d in store.list_documents(where)] == ["doc-1", "doc-0"]  # by source
        assert store.delete_documents(where, ["doc-0"]) == 1
        assert [d.id for d in store.list_documents(where)] == ["doc-1"]
        assert store.count(where) == 1

    def test_lexical_scope_is_exact_when_other_tenants_dominate(
        self, store: KnowledgeStore
    ) -> None:
        store.ensure_collection("big", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        store.ensure_collection("small", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
        crowd = [
            make_chunk("refund", tenant="big", document_id=f"d{i}", text=f"refund refund {i}")
            for i in range(300)
        ]
        crowd = [replace(c, id=f"big-{i}") for i, c in enumerate(crowd)]
        store.upsert(crowd, vectors_for(crowd))
        few = [
            replace(make_chunk("refund", tenant="small", text="one refund note"), id="s1"),
            replace(make_chunk("refund", tenant="small", text="a refund"), id="s2"),
        ]
        store.upsert(few, vectors_for(few))
        hits = store.search_lexical("refund", SearchFilter("small", "docs"), 5)
        assert sorted(h.chunk.id for h in hits) == ["s1", "s2"]
        narrowed = SearchFilter("big", "docs", frozenset({"d7"}))
        assert [h.chunk.id for h in store.search_lexical("refund", narrowed, 5)] == ["big-7"]
