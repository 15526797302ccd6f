"""A tenant record's ``retention_days`` drives the retention job for that tenant; others
keep the global setting; a record that stops validating deletes nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade_engine
from frontdesk.memory.schema import tenants
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.retention.policy import GlobalRetention
from frontdesk.retention.service import Privacy
from frontdesk.tenants.retention import tenant_retention
from frontdesk.tenants.store import TenantStore
from tests.tenants.world import ACME, GLOBEX


async def test_each_tenant_keeps_conversations_for_its_own_days(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    await upgrade_engine(engine)
    store = SqlMemoryStore(engine)
    records = TenantStore(engine)
    try:
        await records.create("acme", {**copy.deepcopy(ACME), "retention_days": 30})
        await records.create("globex", copy.deepcopy(GLOBEX))  # no days: the global 90
        await records.create("initech", {**copy.deepcopy(GLOBEX), "retention_days": 10})
        ids = {
            t: (await store.create_conversation(tenant_id=t, bot_id="b", metadata={})).id
            for t in ("acme", "globex", "initech", "default")
        }
        broken = copy.deepcopy(GLOBEX)
        broken["bot"]["model"]["chain"] = ["gone"]
        async with engine.begin() as conn:
            await conn.execute(
                update(tenants).where(tenants.c.id == "initech").values(config=broken)
            )
        policy = tenant_retention(records, GlobalRetention(90))
        assert await policy.days_for("acme") == 30
        assert await policy.days_for("globex") == 90
        assert await policy.days_for("default") == 90
        assert await policy.days_for("initech") is None  # unreadable: nothing deleted

        later = datetime.now(UTC) + timedelta(days=45)
        report = await Privacy(store, clock=lambda: later).apply(policy)
        assert await store.get_conversation(ids["acme"]) is None  # 45 idle days > 30
        for kept in ("globex", "initech", "default"):
            assert await store.get_conversation(ids[kept]) is not None, kept
        assert report.tenants["acme"].conversations == 1
    finally:
        await store.close()
        await engine.dispose()
