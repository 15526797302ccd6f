"""Migrations: a fresh database reaches head, twice is harmless, schema.py matches them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from frontdesk.errors import ConfigError
from frontdesk.memory import migrate
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.schema import metadata
from tests.memory.pg import temporary_database, temporary_database_async


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _assert_matches_schema(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == {
                "alembic_version",
                "conversations",
                "messages",
                "turns",
                "api_keys",
                "tickets",
                "ticket_notes",
                "escalation_outbox",
                "conversation_signals",
                "gateway_calls",
                "job_runs",
                "tenants",
                "workers",
            }
            assert await conn.run_sync(_schema_diff) == []
        await migrate.check_at_head(engine)
    finally:
        await engine.dispose()


def test_fresh_sqlite_to_head_and_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'fd.db'}"
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision() == "0007"
    migrate.upgrade(url)
    assert migrate.current_revision(url) == "0007"


def test_upgrading_a_database_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    """`frontdesk serve` upgrades at every start: an up-to-date database skips Alembic."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}"
    migrate.upgrade(url)
    code = (
        "import json, sys\nfrom frontdesk.memory.migrate import upgrade\n"
        f"upgrade({url!r})\nprint(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert [m for m in json.loads(out.stdout) if m.split(".")[0] == "alembic"] == []
    assert migrate.current_revision(url) == migrate.head_revision()


async def test_sqlite_schema_matches_metadata(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}"
    await migrate.upgrade_async(url)
    await _assert_matches_schema(url)


async def test_unmigrated_database_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    try:
        with pytest.raises(ConfigError, match="frontdesk db upgrade"):
            await migrate.check_at_head(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_fresh_postgres_to_head_and_again() -> None:
    with temporary_database("frontdesk_migrate") as url:
        assert migrate.current_revision(url) is None
        migrate.upgrade(url)
        migrate.upgrade(url)
        assert migrate.current_revision(url) == migrate.head_revision()


@pytest.mark.postgres
async def test_postgres_schema_matches_metadata() -> None:
    async with temporary_database_async("frontdesk_migrate") as url:
        await migrate.upgrade_async(url)
        await _assert_matches_schema(url)


def test_head_read_from_the_files_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert migrate.head_revision() == alembic_head
