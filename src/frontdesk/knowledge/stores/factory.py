"""Build a knowledge store from a database URL (the same URL the app uses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from frontdesk.errors import ConfigError
from frontdesk.knowledge.stores.base import KnowledgeStore


def sync_url(url: str) -> str:
    """Map async driver URLs (aiosqlite, asyncpg) to the sync drivers the stores use."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ConfigError(f"unsupported knowledge-store database URL {parsed.drivername!r}")


def open_store(url: str, **options: Any) -> KnowledgeStore:
    """Open (and create tables for) the store behind ``url``.

    ``sqlite:///path.db`` (or ``sqlite+aiosqlite://``) → :class:`SqliteKnowledgeStore`;
    ``postgresql://…`` (or ``+asyncpg``/``+psycopg``) → :class:`PostgresKnowledgeStore`.
    Extra keyword options go to the store's constructor.
    """
    from sqlalchemy import create_engine

    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite":
        from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore

        database = parsed.database
        if not database or database == ":memory:":
            raise ConfigError("the knowledge store needs a SQLite file, not :memory:")
        return SqliteKnowledgeStore.open(Path(database), **options)
    from frontdesk.knowledge.stores.postgres import PostgresKnowledgeStore

    store = PostgresKnowledgeStore(create_engine(parsed, pool_pre_ping=True), **options)
    store.create_schema()
    return store
