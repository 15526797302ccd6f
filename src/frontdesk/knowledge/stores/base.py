"""Store Protocols. Both backends (SQLite, PostgreSQL) implement all three.

Methods are synchronous (SQLAlchemy Core on a sync driver; hnswlib/numpy in process);
async callers (ingestion, retrieval) run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from frontdesk.knowledge.types import (
    CollectionInfo,
    DuplicatePolicy,
    ScoredChunk,
    SearchFilter,
    StoredChunk,
    StoredDocument,
    Vector,
)


class VectorStore(Protocol):
    def upsert(
        self,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
        *,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> int:
        """Insert chunks with their vectors; returns how many were written."""
        ...

    def search_vector(self, vector: Vector, where: SearchFilter, k: int) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity (score in [-1, 1], higher is closer)."""
        ...

    def search_vectors(
        self, vectors: Vector, where: SearchFilter, k: int
    ) -> list[list[ScoredChunk]]:
        """``search_vector`` for each row of a ``(n, dimensions)`` matrix (sub-queries)."""
        ...

    def delete(self, where: SearchFilter, chunk_ids: Sequence[str] | None = None) -> int: ...

    def count(self, where: SearchFilter) -> int: ...


class LexicalIndex(Protocol):
    def upsert(
        self,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
        *,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> int: ...

    def search_lexical(self, query: str, where: SearchFilter, k: int) -> list[ScoredChunk]:
        """Full-text matches ranked by BM25F over title, section path and text (stemmed
        words and bigrams, query terms weighted by their frequency), the same on every
        backend."""
        ...

    def delete(self, where: SearchFilter, chunk_ids: Sequence[str] | None = None) -> int: ...

    def count(self, where: SearchFilter) -> int: ...


class KnowledgeStore(VectorStore, LexicalIndex, Protocol):
    """Chunks, their vectors and full text, plus documents and collection records."""

    def create_schema(self) -> None: ...

    def ensure_collection(
        self, tenant: str, collection: str, model_id: str, dimensions: int
    ) -> CollectionInfo:
        """Register the embedder of a collection; raises EmbeddingMismatch on a change."""
        ...

    def collection_info(self, tenant: str, collection: str) -> CollectionInfo | None: ...

    def drop_collection(self, tenant: str, collection: str) -> None: ...

    def list_documents(self, where: SearchFilter) -> list[StoredDocument]: ...

    def get_document(self, where: SearchFilter, document_id: str) -> StoredDocument | None: ...

    def find_document(self, where: SearchFilter, source: str) -> StoredDocument | None:
        """The document ingested from ``source`` (ids are random: this is how re-ingesting
        a file finds the document it already made)."""
        ...

    def document_text(self, where: SearchFilter, document_id: str) -> str | None: ...

    def document_chunks(self, where: SearchFilter, document_id: str) -> list[StoredChunk]:
        """A document's chunks in reading order (to show a cited passage in context)."""
        ...

    def chunk_vectors(self, where: SearchFilter, document_id: str) -> dict[str, Vector]:
        """Stored vectors of one document keyed by chunk content hash (for re-use)."""
        ...

    def replace_document(
        self,
        document: StoredDocument,
        text: str,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
    ) -> None:
        """Swap a document and all its chunks in one transaction."""
        ...

    def delete_documents(self, where: SearchFilter, document_ids: Sequence[str]) -> int: ...

    def get_chunks(self, where: SearchFilter, chunk_ids: Sequence[str]) -> list[StoredChunk]: ...

    def close(self) -> None: ...
