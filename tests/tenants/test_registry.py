"""Tenant bots are built on first use, once, rebuilt when the record changes (the replaced
one closed) and closed at shutdown; a tenant whose stored config stops validating answers
503, the others still work."""

from __future__ import annotations

import asyncio
import copy
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from frontdesk.app import create_app
from frontdesk.errors import ConfigError
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade_engine
from frontdesk.memory.schema import tenants
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.registry import TenantBots, TenantUnavailable
from frontdesk.tenants.resolve import SITE_HEADER
from frontdesk.tenants.store import TenantRecord, TenantStore
from tests.conftest import make_bot
from tests.servers import serve
from tests.tenants.world import ACME, GLOBEX, create_tenant, in_thread


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_built_once_rebuilt_on_change_the_old_one_closed(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    await upgrade_engine(engine)
    store = TenantStore(engine)
    builds: list[str] = []
    closed: list[str] = []

    async def build(stack: AsyncExitStack, record: TenantRecord) -> str:
        await asyncio.sleep(0.01)  # concurrent callers wait for this one build
        name = f"{record.id}@{record.version}"
        builds.append(name)
        stack.callback(closed.append, name)
        return name

    clock = Clock()
    bots = TenantBots(store, build, cache_seconds=10, clock=clock)
    try:
        acme = await store.create("acme", copy.deepcopy(ACME))
        record = await bots.by_site_key(acme.site_key)
        assert record is not None
        first = await asyncio.gather(*(bots.bot(record) for _ in range(8)))
        assert set(first) == {f"acme@{acme.version}"} and len(builds) == 1

        changed = copy.deepcopy(ACME)
        changed["branding"]["name"] = "Acme Care"
        newer = await store.update("acme", changed)
        assert await bots.by_site_key(acme.site_key) == record  # cached for 10 s
        clock.now = 11
        fresh = await bots.by_site_key(acme.site_key)
        assert fresh is not None and fresh.config.display_name == "Acme Care"
        assert await bots.bot(fresh) == f"acme@{newer.version}"
        await bots.settle()
        assert len(builds) == 2 and closed == [f"acme@{acme.version}"]  # nothing held it
        assert await bots.by_site_key("fdsite_" + "q" * 24) is None
    finally:
        await bots.aclose()
        await engine.dispose()
    assert sorted(closed) == sorted(builds)
    with pytest.raises(TenantUnavailable):
        await bots.bot(record)  # nothing is built after shutdown


async def test_a_bot_that_fails_to_build_is_unavailable_then_retried(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    await upgrade_engine(engine)
    attempts: list[int] = []

    async def build(stack: AsyncExitStack, record: TenantRecord) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConfigError("endpoint key variable is not set")
        return record.id

    bots = TenantBots(TenantStore(engine), build)
    try:
        record = await TenantStore(engine).create("acme", copy.deepcopy(ACME))
        with pytest.raises(TenantUnavailable, match="not available"):
            await bots.bot(record)
        assert await bots.bot(record) == "acme"
    finally:
        await bots.aclose()
        await engine.dispose()


def test_a_broken_stored_config_is_a_503_for_that_tenant_only(migrated: Settings) -> None:
    acme = create_tenant(migrated, "acme", copy.deepcopy(ACME))
    globex = create_tenant(migrated, "globex", copy.deepcopy(GLOBEX))
    broken = copy.deepcopy(ACME)
    broken["bot"]["endpoints"] = []  # the chain names an endpoint that is gone

    async def corrupt() -> None:
        engine = create_engine(migrated.resolved_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(tenants).where(tenants.c.id == "acme").values(config=broken)
                )
        finally:
            await engine.dispose()

    in_thread(corrupt)
    settings = migrated.model_copy(update={"api_key_cache_seconds": 0.0})
    app = create_app(settings, bot=make_bot(), provider=ScriptedProvider.from_texts(["Hi."] * 5))
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        for path in (f"/api/site/{acme.site_key}", "/api/bot"):
            resp = http.get(path, headers={SITE_HEADER: acme.site_key})
            assert resp.status_code == 503, resp.text
            assert resp.json()["error"]["code"] == "tenant_unavailable"
            assert "unknown endpoint" not in resp.text  # the reason is logged, not shown
        page = http.get("/", params={"site": acme.site_key})
        assert page.status_code == 503
        ok = http.post("/api/conversations", json={}, headers={SITE_HEADER: globex.site_key})
        assert ok.status_code == 201, ok.text
        assert http.post("/api/conversations", json={}).status_code == 201  # the default


def test_a_changed_config_is_served_without_a_restart(migrated: Settings) -> None:
    acme = create_tenant(migrated, "acme", copy.deepcopy(ACME))
    settings = migrated.model_copy(update={"api_key_cache_seconds": 0.0})
    app = create_app(settings, bot=make_bot(), provider=ScriptedProvider.from_texts(["Hi."] * 5))
    site = {SITE_HEADER: acme.site_key}
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        before = http.post("/api/conversations", json={}, headers=site).json()["greeting"]
        assert before == ACME["branding"]["greeting"]
        changed = copy.deepcopy(ACME)
        changed["branding"]["greeting"] = "Acme here, new and improved."
        changed["bot"]["name"] = "Wile"

        async def change() -> None:
            engine = create_engine(migrated.resolved_database_url)
            try:
                await TenantStore(engine).update("acme", changed)
            finally:
                await engine.dispose()

        in_thread(change)
        after = http.post("/api/conversations", json={}, headers=site).json()["greeting"]
        assert after == "Acme here, new and improved."
        assert http.get("/api/bot", headers=site).json()["name"] == "Wile"
        assert http.get(f"/api/site/{acme.site_key}").json()["greeting"] == after
        registry = app.state.services.tenants
        for _ in range(100):  # the replaced bot is closed once its last request ended
            if registry.open_bots == 1:
                break
            time.sleep(0.05)
        assert registry.open_bots == 1
