"""SQLAlchemy Core logic shared by the SQLite and PostgreSQL stores."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from frontdesk.knowledge.errors import DuplicateChunk, EmbeddingMismatch
from frontdesk.knowledge.lexical_index import IndexRow
from frontdesk.knowledge.schema import kb_chunks, kb_collections, kb_documents, metadata
from frontdesk.knowledge.stores.chunk_cache import ChunkCache, ChunkMap
from frontdesk.knowledge.stores.lexicon_cache import LexiconCache
from frontdesk.knowledge.types import (
    CollectionInfo,
    DuplicatePolicy,
    ScoredChunk,
    SearchFilter,
    StoredChunk,
    StoredDocument,
    Vector,
)

CHUNK_COLUMNS = [
    kb_chunks.c.id,
    kb_chunks.c.tenant,
    kb_chunks.c.collection,
    kb_chunks.c.document_id,
    kb_chunks.c.ordinal,
    kb_chunks.c.text,
    kb_chunks.c.title,
    kb_chunks.c.section,
    kb_chunks.c.source,
    kb_chunks.c.content_hash,
    kb_chunks.c.url,
    kb_chunks.c.page,
    kb_chunks.c.anchor,
    kb_chunks.c.token_count,
]


_CHUNK_SQL = (
    "SELECT pk, id, tenant, collection, document_id, ordinal, text, title, section, source, "
    "content_hash, url, page, anchor, token_count FROM kb_chunks "
    "WHERE tenant = :tenant AND collection = :collection AND pk IN :pks"
)
# The search hot path (every vector and lexical search fetches its hits, every search reads
# the collection's generation) as prebuilt textual statements: building the equivalent
# ``select()`` each time cost 1.4 ms of CPU per 30-row fetch, these 0.4 ms (BENCHMARKS.md).
_FETCH_PKS = text(_CHUNK_SQL).bindparams(bindparam("pks", expanding=True))
_ALL_CHUNKS = text(_CHUNK_SQL.split(" AND pk IN")[0])
_FETCH_PKS_IN_DOCUMENTS = text(_CHUNK_SQL + " AND document_id IN :documents").bindparams(
    bindparam("pks", expanding=True), bindparam("documents", expanding=True)
)
_COLLECTION = text(
    "SELECT tenant, collection, model_id, dimensions, generation FROM kb_collections "
    "WHERE tenant = :tenant AND collection = :collection"
)


def first_generation() -> int:
    """A new collection's generation: random, not 0, so a collection dropped and made again
    (by this or another process) never repeats a generation that caches and persisted
    indexes of the dropped one are keyed by (chance of a repeat: writes / 2**30). Below
    2**30 so that a 32-bit column (PostgreSQL ``integer``) has room for 2**30 writes."""
    return 1 + secrets.randbelow(2**30)


def chunk_from_row(row: RowMapping | Any) -> StoredChunk:
    return StoredChunk(
        id=row.id,
        tenant=row.tenant,
        collection=row.collection,
        document_id=row.document_id,
        ordinal=row.ordinal,
        text=row.text,
        title=row.title,
        section=row.section,
        source=row.source,
        content_hash=row.content_hash,
        url=row.url,
        page=row.page,
        anchor=row.anchor,
        token_count=row.token_count,
    )


def scope(table: Any, where: SearchFilter) -> list[Any]:
    clauses = [table.c.tenant == where.tenant, table.c.collection == where.collection]
    if where.document_ids is not None:
        id_col = table.c.document_id if table is kb_chunks else table.c.id
        clauses.append(id_col.in_(sorted(where.document_ids)))
    return clauses


def _chunk_row(chunk: StoredChunk, vector: Vector) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "tenant": chunk.tenant,
        "collection": chunk.collection,
        "document_id": chunk.document_id,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "title": chunk.title,
        "section": chunk.section,
        "source": chunk.source,
        "url": chunk.url,
        "page": chunk.page,
        "anchor": chunk.anchor,
        "content_hash": chunk.content_hash,
        "token_count": chunk.token_count,
        "dimensions": int(vector.shape[0]),
        "embedding": vector,
    }


class SqlStoreBase:
    """Documents, chunks and collection records, and BM25 search over an in-process index
    of the stored chunks (the same ranking on every backend); backends add vector search and
    their own full-text search, which answers while a large index is being built."""

    def __init__(
        self,
        engine: Engine,
        *,
        lexicon: LexiconCache | None = None,
        chunks: ChunkCache | None = None,
    ) -> None:
        self.engine = engine
        self.lexicon = lexicon or LexiconCache(None)
        self.chunks = chunks or ChunkCache()

    # --- lexical search ----------------------------------------------------------

    def search_lexical(self, query: str, where: SearchFilter, k: int) -> list[ScoredChunk]:
        """BM25F (title, section path, text; stems and bigrams) over the collection."""
        if k <= 0 or not query.strip():
            return []
        info = self.collection_info(where.tenant, where.collection)
        if info is None:
            return []
        scope_all = SearchFilter(where.tenant, where.collection)
        index = self.lexicon.get(
            (where.tenant, where.collection),
            info.generation,
            lambda: self.count(scope_all),
            lambda: self._index_rows(scope_all),
        )
        if index is None:  # a large index is being built: the backend's full-text search
            return self._search_fulltext(query, where, k)
        weights = self.lexicon.analyzer.query_weights(query)
        labels, scores = index.search(weights, k, where.document_ids)
        keys: list[int] = labels.tolist()  # Python ints and floats in one call each
        hits = self._hits(where, keys, info.generation)
        return [
            ScoredChunk(hits[label], score)
            for label, score in zip(keys, scores.tolist(), strict=True)
            if label in hits
        ]

    def refresh_lexicon(self, tenant: str, collection: str) -> None:
        """Build (and persist) the BM25 index now, e.g. at the end of an ingest."""
        info = self.collection_info(tenant, collection)
        if info is None:
            return
        scope_all = SearchFilter(tenant, collection)
        self.lexicon.build(
            (tenant, collection), info.generation, lambda: self._index_rows(scope_all)
        )

    def _search_fulltext(self, query: str, where: SearchFilter, k: int) -> list[ScoredChunk]:
        raise NotImplementedError

    def _index_rows(self, where: SearchFilter) -> list[IndexRow]:
        cols = [kb_chunks.c.pk, kb_chunks.c.document_id, kb_chunks.c.title]
        cols += [kb_chunks.c.section, kb_chunks.c.text]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*cols).where(*scope(kb_chunks, where)).order_by(kb_chunks.c.pk)
            ).all()
        return [IndexRow(r.pk, r.document_id, r.title, r.section or "", r.text) for r in rows]

    def _hits(self, where: SearchFilter, pks: list[int], generation: int) -> dict[int, StoredChunk]:
        """The in-scope chunks among the hits ``pks`` of a search at ``generation``: from the
        collection's chunks in memory (``ChunkCache``), else from the database."""
        scope_all = SearchFilter(where.tenant, where.collection)
        cached = self.chunks.get(
            (where.tenant, where.collection),
            generation,
            lambda: self.count(scope_all),
            lambda: self._chunk_snapshot(where.tenant, where.collection),
        )
        if cached is None:
            return self._fetch_pks(where, pks)
        documents = where.document_ids
        if documents is None:
            return {pk: cached[pk] for pk in pks if pk in cached}
        found = {}
        for pk in pks:
            chunk = cached.get(pk)
            if chunk is not None and chunk.document_id in documents:
                found[pk] = chunk
        return found

    def _chunk_snapshot(self, tenant: str, collection: str) -> tuple[int, ChunkMap]:
        """All chunks of a collection with the generation they belong to: the generation is
        read before and after the rows (-1, never matched, when a write came in between)."""
        key = {"tenant": tenant, "collection": collection}
        with self.engine.connect() as conn:
            before = conn.execute(_COLLECTION, key).first()
            rows = conn.execute(_ALL_CHUNKS, key).all()
            after = conn.execute(_COLLECTION, key).first()
        if before is None or after is None or before.generation != after.generation:
            return -1, {}
        shared: dict[str, str] = {}  # one copy of each repeated string (titles, sources)

        def one(value: str) -> str:
            return shared.setdefault(value, value)

        return before.generation, {
            r[0]: StoredChunk(
                id=r[1],
                tenant=one(r[2]),
                collection=one(r[3]),
                document_id=one(r[4]),
                ordinal=r[5],
                text=r[6],
                title=one(r[7]),
                section=one(r[8]),
                source=one(r[9]),
                content_hash=r[10],
                url=None if r[11] is None else one(r[11]),
                page=r[12],
                anchor=r[13],
                token_count=r[14],
            )
            for r in rows
        }

    def _fetch_pks(self, where: SearchFilter, pks: list[int]) -> dict[int, StoredChunk]:
        """The in-scope chunks among primary keys ``pks`` (hits of a search)."""
        if not pks:
            return {}
        params: dict[str, Any] = {
            "tenant": where.tenant,
            "collection": where.collection,
            "pks": pks,
        }
        statement = _FETCH_PKS
        if where.document_ids is not None:
            if not where.document_ids:
                return {}
            statement = _FETCH_PKS_IN_DOCUMENTS
            params["documents"] = sorted(where.document_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(statement, params).all()
        # by position, in _CHUNK_SQL's column order (named access on a row costs ~15 us)
        return {
            r[0]: StoredChunk(
                id=r[1],
                tenant=r[2],
                collection=r[3],
                document_id=r[4],
                ordinal=r[5],
                text=r[6],
                title=r[7],
                section=r[8],
                source=r[9],
                content_hash=r[10],
                url=r[11],
                page=r[12],
                anchor=r[13],
                token_count=r[14],
            )
            for r in rows
        }

    # --- schema and collections -------------------------------------------------

    def create_schema(self) -> None:
        with self.engine.begin() as conn:
            self._before_create(conn)
            metadata.create_all(conn, checkfirst=True)
            self._create_extras(conn)

    def _before_create(self, conn: Connection) -> None:
        """Backends that need extensions (pgvector) create them here."""

    def _create_extras(self, conn: Connection) -> None:
        raise NotImplementedError

    def ensure_collection(
        self, tenant: str, collection: str, model_id: str, dimensions: int
    ) -> CollectionInfo:
        with self.engine.begin() as conn:
            info = self._collection(conn, tenant, collection)
            if info is None:
                generation = first_generation()
                conn.execute(
                    insert(kb_collections).values(
                        tenant=tenant,
                        collection=collection,
                        model_id=model_id,
                        dimensions=dimensions,
                        generation=generation,
                    )
                )
                self._on_new_dimensions(conn, dimensions)
                return CollectionInfo(tenant, collection, model_id, dimensions, generation)
        if (info.model_id, info.dimensions) != (model_id, dimensions):
            raise EmbeddingMismatch(
                tenant=tenant,
                collection=collection,
                stored=(info.model_id, info.dimensions),
                current=(model_id, dimensions),
            )
        return info

    def _on_new_dimensions(self, conn: Connection, dimensions: int) -> None:
        """Backends that index per dimension (pgvector) hook in here."""

    def collection_info(self, tenant: str, collection: str) -> CollectionInfo | None:
        with self.engine.connect() as conn:
            return self._collection(conn, tenant, collection)

    @staticmethod
    def _collection(conn: Connection, tenant: str, collection: str) -> CollectionInfo | None:
        row = conn.execute(_COLLECTION, {"tenant": tenant, "collection": collection}).first()
        if row is None:
            return None
        return CollectionInfo(
            row.tenant, row.collection, row.model_id, row.dimensions, row.generation
        )

    def drop_collection(self, tenant: str, collection: str) -> None:
        where = SearchFilter(tenant, collection)
        with self.engine.begin() as conn:
            conn.execute(delete(kb_chunks).where(*scope(kb_chunks, where)))
            conn.execute(delete(kb_documents).where(*scope(kb_documents, where)))
            conn.execute(
                delete(kb_collections).where(
                    kb_collections.c.tenant == tenant, kb_collections.c.collection == collection
                )
            )
        self._invalidate(tenant, collection)

    def _bump(self, conn: Connection, tenant: str, collection: str) -> None:
        conn.execute(
            update(kb_collections)
            .where(kb_collections.c.tenant == tenant, kb_collections.c.collection == collection)
            .values(generation=kb_collections.c.generation + 1, updated_at=func.now())
        )

    def _invalidate(self, tenant: str, collection: str) -> None:
        """Drop in-process caches of a collection (BM25 index, chunks; SQLite vector index)."""
        self.lexicon.invalidate((tenant, collection))
        self.chunks.invalidate((tenant, collection))

    # --- chunks ------------------------------------------------------------------

    def upsert(
        self,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
        *,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> int:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if not chunks:
            return 0
        with self.engine.begin() as conn:
            written = self._upsert(conn, chunks, vectors, on_duplicate)
            for tenant, collection in {(c.tenant, c.collection) for c in chunks}:
                self._bump(conn, tenant, collection)
        for tenant, collection in {(c.tenant, c.collection) for c in chunks}:
            self._invalidate(tenant, collection)
        return written

    def _upsert(
        self,
        conn: Connection,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
        on_duplicate: DuplicatePolicy,
    ) -> int:
        ids = [c.id for c in chunks]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):  # stay far below SQLite's variable limit
            batch = ids[start : start + 500]
            existing.update(conn.scalars(select(kb_chunks.c.id).where(kb_chunks.c.id.in_(batch))))
        if existing and on_duplicate == "fail":
            raise DuplicateChunk(
                f"{len(existing)} chunk id(s) already stored, e.g. {min(existing)}"
            )
        if on_duplicate == "overwrite" and existing:
            stale = sorted(existing)
            for start in range(0, len(stale), 500):
                batch = stale[start : start + 500]
                conn.execute(delete(kb_chunks).where(kb_chunks.c.id.in_(batch)))
        rows = [
            _chunk_row(c, v)
            for c, v in zip(chunks, vectors, strict=True)
            if on_duplicate == "overwrite" or c.id not in existing
        ]
        if rows:
            try:
                conn.execute(insert(kb_chunks), rows)
            except IntegrityError as exc:
                raise DuplicateChunk(f"duplicate chunk id in one batch: {exc.orig}") from exc
        return len(rows)

    def delete(self, where: SearchFilter, chunk_ids: Sequence[str] | None = None) -> int:
        clauses = scope(kb_chunks, where)
        if chunk_ids is not None:
            clauses.append(kb_chunks.c.id.in_(list(chunk_ids)))
        with self.engine.begin() as conn:
            removed = conn.execute(delete(kb_chunks).where(*clauses)).rowcount
            self._bump(conn, where.tenant, where.collection)
        self._invalidate(where.tenant, where.collection)
        return int(removed)

    def count(self, where: SearchFilter) -> int:
        with self.engine.connect() as conn:
            n = conn.scalar(
                select(func.count()).select_from(kb_chunks).where(*scope(kb_chunks, where))
            )
        return int(n or 0)

    def get_chunks(self, where: SearchFilter, chunk_ids: Sequence[str]) -> list[StoredChunk]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*CHUNK_COLUMNS).where(
                    *scope(kb_chunks, where), kb_chunks.c.id.in_(list(chunk_ids))
                )
            ).all()
        by_id = {r.id: chunk_from_row(r) for r in rows}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def document_chunks(self, where: SearchFilter, document_id: str) -> list[StoredChunk]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*CHUNK_COLUMNS)
                .where(*scope(kb_chunks, where), kb_chunks.c.document_id == document_id)
                .order_by(kb_chunks.c.ordinal)
            ).all()
        return [chunk_from_row(r) for r in rows]

    def chunk_vectors(self, where: SearchFilter, document_id: str) -> dict[str, Vector]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(kb_chunks.c.content_hash, kb_chunks.c.embedding).where(
                    *scope(kb_chunks, where), kb_chunks.c.document_id == document_id
                )
            ).all()
        return {r.content_hash: np.asarray(r.embedding, dtype=np.float32) for r in rows}

    # --- documents ---------------------------------------------------------------

    def list_documents(self, where: SearchFilter) -> list[StoredDocument]:
        cols = [c for c in kb_documents.c if c.name not in ("text", "ingested_at")]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*cols).where(*scope(kb_documents, where)).order_by(kb_documents.c.source)
            ).all()
        return [_document_from_row(r) for r in rows]

    def get_document(self, where: SearchFilter, document_id: str) -> StoredDocument | None:
        found = self.list_documents(
            SearchFilter(where.tenant, where.collection, frozenset([document_id]))
        )
        return found[0] if found else None

    def find_document(self, where: SearchFilter, source: str) -> StoredDocument | None:
        cols = [c for c in kb_documents.c if c.name not in ("text", "ingested_at")]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*cols).where(*scope(kb_documents, where), kb_documents.c.source == source)
            ).first()
        return None if row is None else _document_from_row(row)

    def document_text(self, where: SearchFilter, document_id: str) -> str | None:
        with self.engine.connect() as conn:
            text = conn.scalar(
                select(kb_documents.c.text).where(
                    *scope(kb_documents, where), kb_documents.c.id == document_id
                )
            )
        return None if text is None else str(text)

    def replace_document(
        self,
        document: StoredDocument,
        text: str,
        chunks: Sequence[StoredChunk],
        vectors: Vector,
    ) -> None:
        where = SearchFilter(document.tenant, document.collection)
        with self.engine.begin() as conn:
            self._delete_documents(conn, where, [document.id])
            conn.execute(
                insert(kb_documents).values(
                    id=document.id,
                    tenant=document.tenant,
                    collection=document.collection,
                    source=document.source,
                    title=document.title,
                    format=document.format,
                    url=document.url,
                    content_hash=document.content_hash,
                    chunk_count=len(chunks),
                    text=text,
                )
            )
            if chunks:
                self._upsert(conn, chunks, vectors, "fail")
            self._bump(conn, document.tenant, document.collection)
        self._invalidate(document.tenant, document.collection)

    def delete_documents(self, where: SearchFilter, document_ids: Sequence[str]) -> int:
        with self.engine.begin() as conn:
            removed = self._delete_documents(conn, where, document_ids)
            self._bump(conn, where.tenant, where.collection)
        self._invalidate(where.tenant, where.collection)
        return removed

    @staticmethod
    def _delete_documents(conn: Connection, where: SearchFilter, ids: Iterable[str]) -> int:
        ids = list(ids)
        conn.execute(
            delete(kb_chunks).where(*scope(kb_chunks, where), kb_chunks.c.document_id.in_(ids))
        )
        result = conn.execute(
            delete(kb_documents).where(*scope(kb_documents, where), kb_documents.c.id.in_(ids))
        )
        return int(result.rowcount)

    def close(self) -> None:
        self.lexicon.wait()
        self.chunks.wait()
        self.engine.dispose()


def _document_from_row(row: Any) -> StoredDocument:
    return StoredDocument(
        id=row.id,
        tenant=row.tenant,
        collection=row.collection,
        source=row.source,
        title=row.title,
        format=row.format,
        content_hash=row.content_hash,
        chunk_count=row.chunk_count,
        url=row.url,
    )
