"""SQLite store: chunks and metadata in tables, FTS5 (BM25) for text, numpy/hnswlib for vectors."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, create_engine, event, select, text

from frontdesk.knowledge.analysis import INDEX_STOPWORDS
from frontdesk.knowledge.schema import kb_chunks
from frontdesk.knowledge.stores.chunk_cache import ChunkCache
from frontdesk.knowledge.stores.lexicon_cache import LexiconCache
from frontdesk.knowledge.stores.sql_common import SqlStoreBase, scope
from frontdesk.knowledge.stores.vector_index import (
    CollectionVectors,
    build_hnsw,
    load_hnsw,
    save_hnsw,
)
from frontdesk.knowledge.types import CollectionInfo, ScoredChunk, SearchFilter, Vector

_FTS_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_chunks_fts USING fts5("
    "title, section, text, content='kb_chunks', content_rowid='pk', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS kb_chunks_fts_ai AFTER INSERT ON kb_chunks BEGIN "
    "INSERT INTO kb_chunks_fts(rowid, title, section, text) "
    "VALUES (new.pk, new.title, new.section, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS kb_chunks_fts_ad AFTER DELETE ON kb_chunks BEGIN "
    "INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, title, section, text) "
    "VALUES ('delete', old.pk, old.title, old.section, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS kb_chunks_fts_au AFTER UPDATE ON kb_chunks BEGIN "
    "INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, title, section, text) "
    "VALUES ('delete', old.pk, old.title, old.section, old.text); "
    "INSERT INTO kb_chunks_fts(rowid, title, section, text) "
    "VALUES (new.pk, new.title, new.section, new.text); END",
]
# BM25 with title and section weighted up, as the table's default ``rank``. Written only when
# missing: rewriting the FTS config invalidates statements that other connections (a server
# process while ``frontdesk ingest`` opens the store) are running ("SQL logic error").
_FTS_RANK = "bm25(2.0, 1.5, 1.0)"

_TERM = re.compile(r"\w+", re.UNICODE)

_COLLECTION_SQL = (
    "SELECT tenant, collection, model_id, dimensions, generation FROM kb_collections "
    "WHERE tenant = ? AND collection = ?"
)


def query_terms(query: str) -> list[str]:
    """Distinct lower-case terms without stopwords (falls back to all terms)."""
    terms = [t.lower() for t in _TERM.findall(query)]
    kept = [t for t in terms if t not in INDEX_STOPWORDS] or terms
    return list(dict.fromkeys(kept))


def fts5_query(query: str) -> str:
    return " OR ".join(f'"{t}"' for t in query_terms(query))


def _set_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _set_pragmas)
    return engine


class SqliteKnowledgeStore(SqlStoreBase):
    """The default store; vectors are searched exactly below ``exact_threshold`` chunks.

    Above it, an HNSW graph persisted next to the database serves searches. After a write
    the graph is stale: with ``background_builds`` searches stay exact (never blocked for
    minutes) while a thread rebuilds it; ingestion rebuilds it at the end of a run. Text is
    ranked by the in-process BM25 index (``lexicon_cache``), persisted beside the graph;
    FTS5 answers while a large one is rebuilt. Hits are read from the collection's chunks
    kept in memory per generation (``chunk_cache``; up to ``chunk_cache_max`` chunks).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        index_dir: Path | None = None,
        exact_threshold: int = 20_000,
        ef_search: int = 96,
        background_builds: bool = True,
        chunk_cache_max: int = 250_000,
    ) -> None:
        database = engine.url.database
        if index_dir is None and database and database != ":memory:":
            index_dir = Path(database + ".kbvec")
        lexicon = LexiconCache(
            index_dir, sync_threshold=exact_threshold, background=background_builds
        )
        chunks = ChunkCache(
            max_chunks=chunk_cache_max, sync_threshold=exact_threshold, background=background_builds
        )
        super().__init__(engine, lexicon=lexicon, chunks=chunks)
        self.index_dir = index_dir
        self.exact_threshold = exact_threshold
        self.ef_search = ef_search
        self.background_builds = background_builds
        self._cache: dict[tuple[str, str], CollectionVectors] = {}
        self._builds: dict[tuple[str, str], threading.Thread] = {}
        self._lock = threading.Lock()
        self._path = database if database and database != ":memory:" else None
        self._readers = threading.local()
        self._reader_list: list[sqlite3.Connection] = []

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> SqliteKnowledgeStore:
        store = cls(sqlite_engine(path), **kwargs)
        store.create_schema()
        return store

    def _create_extras(self, conn: Connection) -> None:
        for ddl in _FTS_DDL:
            conn.exec_driver_sql(ddl)
        current = conn.exec_driver_sql(
            "SELECT v FROM kb_chunks_fts_config WHERE k = 'rank'"
        ).scalar()
        if current != _FTS_RANK:
            conn.exec_driver_sql(
                "INSERT INTO kb_chunks_fts(kb_chunks_fts, rank) VALUES ('rank', ?)", (_FTS_RANK,)
            )

    def collection_info(self, tenant: str, collection: str) -> CollectionInfo | None:
        """Read on every search (its generation keys the caches): on a plain sqlite3
        connection per thread, not a pooled SQLAlchemy one (checkout, execute and result set
        up were ~40% of a hybrid query's CPU at 3k chunks). Autocommit: each read sees the
        latest commit and holds no snapshot open."""
        if self._path is None:
            return super().collection_info(tenant, collection)
        # fetchall: the statement runs to its end, so no read transaction stays open
        rows = self._reader().execute(_COLLECTION_SQL, (tenant, collection)).fetchall()
        return CollectionInfo(*rows[0]) if rows else None

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None or getattr(self._readers, "pid", None) != os.getpid():
            assert self._path is not None
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            self._readers.conn, self._readers.pid = conn, os.getpid()
            with self._lock:
                self._reader_list.append(conn)
        return conn

    def _invalidate(self, tenant: str, collection: str) -> None:
        super()._invalidate(tenant, collection)
        with self._lock:
            self._cache.pop((tenant, collection), None)

    # --- vectors -------------------------------------------------------------------

    def _vectors(
        self, tenant: str, collection: str, *, build_now: bool = False
    ) -> CollectionVectors | None:
        info = self.collection_info(tenant, collection)
        if info is None:
            return None
        key = (tenant, collection)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.generation == info.generation:
                pending = cached.hnsw is None and len(cached.labels) >= self.exact_threshold
                if not (build_now and pending):
                    return cached
            loaded = self._load(tenant, collection, info.generation, info.dimensions, build_now)
            self._cache[key] = loaded
            return loaded

    def _load(
        self, tenant: str, collection: str, generation: int, dim: int, build_now: bool
    ) -> CollectionVectors:
        """Exact below the threshold; above it the persisted HNSW graph if current, else
        exact search while the graph is rebuilt in a background thread (or now)."""
        where = SearchFilter(tenant, collection)
        if self.count(where) >= self.exact_threshold and self.index_dir is not None:
            index = load_hnsw(self.index_dir, tenant, collection, generation, dim)
            if index is not None:
                return CollectionVectors(generation, np.zeros(0, np.int64), hnsw=index)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(kb_chunks.c.pk, kb_chunks.c.embedding).where(*scope(kb_chunks, where))
            ).all()
        labels = np.fromiter((r.pk for r in rows), dtype=np.int64, count=len(rows))
        matrix = (
            np.vstack([r.embedding for r in rows]).astype(np.float32)
            if rows
            else np.zeros((0, dim), np.float32)
        )
        exact = CollectionVectors(generation, labels, matrix=matrix)
        if len(rows) < self.exact_threshold:
            return exact
        if build_now or not self.background_builds:
            return self._build(tenant, collection, exact, dim)
        self._build_in_background(tenant, collection, exact, dim)
        return exact

    def _build(
        self, tenant: str, collection: str, exact: CollectionVectors, dim: int
    ) -> CollectionVectors:
        assert exact.matrix is not None
        index = build_hnsw(exact.labels, exact.matrix)
        if self.index_dir is not None:
            save_hnsw(self.index_dir, tenant, collection, exact.generation, index, dim)
        return CollectionVectors(exact.generation, exact.labels, hnsw=index)

    def _build_in_background(
        self, tenant: str, collection: str, exact: CollectionVectors, dim: int
    ) -> None:
        key = (tenant, collection)
        running = self._builds.get(key)
        if running is not None and running.is_alive():
            return

        def run() -> None:
            built = self._build(tenant, collection, exact, dim)
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None and cached.generation == built.generation:
                    self._cache[key] = built

        thread = threading.Thread(target=run, name=f"hnsw-build-{collection}", daemon=True)
        self._builds[key] = thread
        thread.start()

    def wait_for_index_builds(self) -> None:
        """Join background HNSW builds (tests, shutdown)."""
        for thread in list(self._builds.values()):
            thread.join()

    def refresh_index(self, tenant: str, collection: str) -> None:
        """Build (and persist) the vector and BM25 indexes now, e.g. at the end of an ingest."""
        self._vectors(tenant, collection, build_now=True)
        self.refresh_lexicon(tenant, collection)

    def close(self) -> None:
        self.wait_for_index_builds()
        super().close()
        with self._lock:
            readers, self._reader_list = self._reader_list, []
        for conn in readers:
            conn.close()

    def search_vector(self, vector: Vector, where: SearchFilter, k: int) -> list[ScoredChunk]:
        return self.search_vectors(np.asarray(vector, dtype=np.float32)[None, :], where, k)[0]

    def search_vectors(
        self, vectors: Vector, where: SearchFilter, k: int
    ) -> list[list[ScoredChunk]]:
        """One nearest-neighbour list per row of ``vectors`` (one index pass, one fetch)."""
        queries = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        index = self._vectors(where.tenant, where.collection)
        if index is None or k <= 0:
            return [[] for _ in range(len(queries))]
        want = k if where.document_ids is None else max(k * 10, 100)
        # Python ints and floats in one call per array (iterating numpy arrays is slower)
        found: list[tuple[list[int], list[float]]] = [
            (labels.tolist(), scores.tolist())
            for labels, scores in (index.search(q, want, self.ef_search) for q in queries)
        ]
        pks = sorted({x for labels, _ in found for x in labels})
        hits = self._hits(where, pks, index.generation)
        return [
            [
                ScoredChunk(hits[label], score)
                for label, score in zip(labels, scores, strict=True)
                if label in hits
            ][:k]
            for labels, scores in found
        ]

    # --- full text -----------------------------------------------------------------

    def _search_fulltext(self, query: str, where: SearchFilter, k: int) -> list[ScoredChunk]:
        """FTS5 BM25 over the whole FTS index first (fast), then the scope filter.

        The index is shared by all tenants and collections, so the unscoped top list is
        widened until ``k`` in-scope hits are found or the matches run out; a scoped join
        is the last resort when other scopes dominate the matches.
        """
        match = fts5_query(query)
        if not match or k <= 0:
            return []
        ranked_sql = text(
            "SELECT rowid AS pk, rank FROM kb_chunks_fts WHERE kb_chunks_fts MATCH :match "
            "ORDER BY rank LIMIT :n"
        )
        n = max(4 * k, 100)
        for _ in range(3):
            with self.engine.connect() as conn:
                ranked = conn.execute(ranked_sql, {"match": match, "n": n}).all()
            hits = self._fetch_pks(where, [r.pk for r in ranked])
            found = [ScoredChunk(hits[r.pk], -float(r.rank)) for r in ranked if r.pk in hits]
            if len(found) >= k or len(ranked) < n:
                return found[:k]
            n *= 8
        return self._search_lexical_scoped(match, where, k)

    def _search_lexical_scoped(self, match: str, where: SearchFilter, k: int) -> list[ScoredChunk]:
        params: dict[str, Any] = {
            "match": match,
            "tenant": where.tenant,
            "collection": where.collection,
            "k": k,
        }
        extra = ""
        if where.document_ids is not None:
            names = [f"d{i}" for i in range(len(where.document_ids))]
            params.update(zip(names, sorted(where.document_ids), strict=True))
            extra = f" AND c.document_id IN ({', '.join(':' + n for n in names)})"
        sql = text(
            "SELECT c.pk, kb_chunks_fts.rank AS rank "
            "FROM kb_chunks_fts JOIN kb_chunks c ON c.pk = kb_chunks_fts.rowid "
            "WHERE kb_chunks_fts MATCH :match AND c.tenant = :tenant "
            f"AND c.collection = :collection{extra} ORDER BY rank LIMIT :k"
        )
        with self.engine.connect() as conn:
            ranked = conn.execute(sql, params).all()
        hits = self._fetch_pks(where, [r.pk for r in ranked])
        return [ScoredChunk(hits[r.pk], -float(r.rank)) for r in ranked if r.pk in hits]
