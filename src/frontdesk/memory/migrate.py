"""Schema migrations, run programmatically through Alembic on an async engine.

``frontdesk db upgrade`` calls :func:`upgrade`; the app's start-up calls
:func:`check_at_head` (or :func:`current_revision_async`) and refuses to serve
an out-of-date database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ConfigError
from frontdesk.memory.dialects import WRITE_OPTION, create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise ConfigError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _upgrade_sync(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _revision_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction."""
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        await connection.run_sync(_upgrade_sync, revision)


async def current_revision_engine(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_revision_sync)


async def upgrade_async(url: str, revision: str = "head") -> None:
    engine = create_engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def current_revision_async(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await current_revision_engine(engine)
    finally:
        await engine.dispose()


async def check_at_head(engine: AsyncEngine) -> None:
    """Raise :class:`ConfigError` unless the database is migrated to the newest revision."""
    current = await current_revision_engine(engine)
    head = head_revision()
    if current != head:
        raise ConfigError(
            f"database schema is at revision {current or 'none'}, expected {head}: "
            "run `frontdesk db upgrade`"
        )


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` (an async SQLAlchemy URL). Not for use inside a loop."""
    asyncio.run(upgrade_async(url, revision))


def current_revision(url: str) -> str | None:
    """The database's Alembic revision, or None when it was never migrated."""
    return asyncio.run(current_revision_async(url))
