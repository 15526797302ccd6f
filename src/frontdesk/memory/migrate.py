"""Schema migrations, run programmatically through Alembic on an async engine.

``frontdesk db upgrade`` calls :func:`upgrade`; the app's start-up calls
:func:`check_at_head` (or :func:`current_revision_async`) and refuses to serve
an out-of-date database. The check needs no Alembic (importing it costs ~0.15 s of
CPU at every start): the head is read from the migration files' ``revision`` lines and
the database's revision from the ``alembic_version`` table.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ConfigError
from frontdesk.memory.dialects import WRITE_OPTION, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.+)$", re.MULTILINE)


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """The newest migration: the one revision no other migration builds on.

    Read from the files; Alembic decides when they are not one plain history.
    """
    head = _linear_head()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:
        raise ConfigError(f"no migrations found in {MIGRATIONS_DIR}")
    return found


def _linear_head() -> str | None:
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in fields:
            continue  # __init__.py
        revision = ast.literal_eval(fields["revision"].strip())
        down = ast.literal_eval(fields.get("down_revision", "None").strip())
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None  # merges or branches: ask Alembic
        revisions.add(revision)
        if down is not None:
            parents.add(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _upgrade_sync(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _revision_sync(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise ConfigError(f"the database has {len(rows)} schema heads: {sorted(rows)}")
    return rows[0] if rows else None


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
        if revision == "head" and await current_revision_engine(engine) == head_revision():
            return  # nothing to apply (`serve` upgrades at every start): no Alembic import
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
