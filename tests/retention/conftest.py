"""A migrated database on SQLite and on PostgreSQL for the retention tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.memory.migrate import upgrade
from tests.memory.pg import temporary_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_database("frontdesk_retention") as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
        upgrade(url)
        return url
    url = request.getfixturevalue("postgres_url")
    assert isinstance(url, str)
    return url
