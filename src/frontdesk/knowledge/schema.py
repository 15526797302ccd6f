"""The knowledge tables (prefix ``kb_``) as SQLAlchemy Core metadata.

``metadata`` can be added to the project's Alembic migrations; until then the stores
create these tables idempotently (``create_all(checkfirst=True)``). Backend extras that
Core cannot express (SQLite FTS5 table and triggers, PostgreSQL tsvector and HNSW
indexes) are created by each store's ``create_schema``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

metadata = MetaData()


class _PgVector(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "vector"


class EmbeddingType(TypeDecorator[Any]):
    """float32 vectors: BLOB on SQLite, pgvector ``vector`` on PostgreSQL."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PgVector())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        array = np.asarray(value, dtype=np.float32)
        if dialect.name == "postgresql":
            return "[" + ",".join(repr(float(x)) for x in array) + "]"
        return array.tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return np.array(value.strip("[]").split(","), dtype=np.float32)
        return np.frombuffer(value, dtype=np.float32)


kb_collections = Table(
    "kb_collections",
    metadata,
    Column("tenant", String(200), primary_key=True),
    Column("collection", String(200), primary_key=True),
    Column("model_id", String(200), nullable=False),
    Column("dimensions", Integer, nullable=False),
    Column("generation", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), server_default=func.now()),
)

kb_documents = Table(
    "kb_documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(200), nullable=False),
    Column("collection", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("format", String(32), nullable=False),
    Column("url", Text),
    Column("content_hash", String(64), nullable=False),
    Column("chunk_count", Integer, nullable=False, default=0),
    Column("text", Text, nullable=False, default=""),
    Column("ingested_at", DateTime(timezone=True), server_default=func.now()),
    UniqueConstraint("tenant", "collection", "source", name="uq_kb_documents_source"),
)

kb_chunks = Table(
    "kb_chunks",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("tenant", String(200), nullable=False),
    Column("collection", String(200), nullable=False),
    Column("document_id", String(64), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("section", Text, nullable=False, default=""),
    Column("source", Text, nullable=False),
    Column("url", Text),
    Column("page", Integer),
    Column("anchor", Text),
    Column("content_hash", String(64), nullable=False),
    Column("token_count", Integer, nullable=False, default=0),
    Column("dimensions", Integer, nullable=False),
    Column("embedding", EmbeddingType, nullable=False),
    Index("ix_kb_chunks_scope", "tenant", "collection"),
    Index("ix_kb_chunks_document", "document_id"),
)
