"""Tenant records on SQLite and PostgreSQL: create, read by id and site key, update, rotate;
a stored document that stops validating makes the tenant unavailable (fails closed)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ConfigError, Conflict, NotFound, ValidationFailed
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade_engine
from frontdesk.memory.schema import tenants
from frontdesk.tenants.store import BrokenTenant, TenantRecord, TenantStore, is_site_key
from tests.memory.pg import temporary_database_async
from tests.tenants.world import ACME, GLOBEX


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
        await upgrade_engine(engine)
        yield engine
        await engine.dispose()
        return
    async with temporary_database_async("frontdesk_tenants") as url:
        engine = create_engine(url)
        await upgrade_engine(engine)
        yield engine
        await engine.dispose()


async def test_create_read_update_and_rotate(engine: AsyncEngine) -> None:
    store = TenantStore(engine)
    acme = await store.create("acme", copy.deepcopy(ACME))
    globex = await store.create("globex", copy.deepcopy(GLOBEX))
    assert is_site_key(acme.site_key) and acme.site_key != globex.site_key
    assert (await store.by_site_key(acme.site_key)) == acme
    assert (await store.get("globex")) == globex
    listed = await store.list()
    assert [r.id for r in listed] == ["acme", "globex"]
    assert all(isinstance(r, TenantRecord) for r in listed)
    assert await store.get("initech") is None
    assert await store.by_site_key("fdsite_" + "x" * 24) is None
    assert await store.by_site_key("not a key") is None

    changed = copy.deepcopy(ACME)
    changed["branding"]["primary_color"] = "#000000"
    updated = await store.update("acme", changed)
    assert updated.version != acme.version
    assert updated.site_key == acme.site_key
    assert updated.config.branding.primary_color == "#000000"

    rotated = await store.update("acme", rotate_site_key=True)
    assert rotated.site_key != acme.site_key
    assert await store.by_site_key(acme.site_key) is None  # the old key stops working
    assert (await store.by_site_key(rotated.site_key)) == rotated
    with pytest.raises(NotFound):
        await store.update("initech", copy.deepcopy(ACME))


async def test_ids_and_documents_are_checked_before_storing(engine: AsyncEngine) -> None:
    store = TenantStore(engine)
    await store.create("acme", copy.deepcopy(ACME))
    with pytest.raises(Conflict, match="already exists"):
        await store.create("acme", copy.deepcopy(GLOBEX))
    with pytest.raises(ValidationFailed, match="FRONTDESK_BOT_CONFIG"):
        await store.create("default", copy.deepcopy(GLOBEX))
    with pytest.raises(ValidationFailed, match="lowercase"):
        await store.create("Globex Corp", copy.deepcopy(GLOBEX))
    bad = copy.deepcopy(GLOBEX)
    bad["branding"]["primary_color"] = "green"
    with pytest.raises(ConfigError, match="#rrggbb"):
        await store.create("globex", bad)
    with pytest.raises(ConfigError, match="#rrggbb"):
        await store.update("acme", bad)
    assert [r.id for r in await store.list()] == ["acme"]
    assert (await store.get("acme")) is not None


async def test_a_stored_document_that_no_longer_validates_is_refused(engine: AsyncEngine) -> None:
    store = TenantStore(engine)
    await store.create("acme", copy.deepcopy(ACME))
    broken = copy.deepcopy(ACME)
    broken["bot"]["model"]["chain"] = ["gone"]
    async with engine.begin() as conn:  # as if edited by hand, or by an older release
        await conn.execute(update(tenants).where(tenants.c.id == "acme").values(config=broken))
    with pytest.raises(ConfigError, match="unknown endpoint 'gone'"):
        await store.get("acme")
    (listed,) = await store.list()  # listed with the reason, not hidden
    assert isinstance(listed, BrokenTenant) and "unknown endpoint 'gone'" in listed.error
