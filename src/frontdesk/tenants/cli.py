"""Functions behind ``frontdesk tenants ...`` (the CLI module wires them to commands)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from frontdesk.errors import NotFound
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import check_at_head
from frontdesk.tenants.config import read_tenant_file
from frontdesk.tenants.store import BrokenTenant, TenantRecord, TenantStore

T = TypeVar("T")


async def _with_store(database_url: str, run: Callable[[TenantStore], Awaitable[T]]) -> T:
    engine = create_engine(database_url)
    try:
        await check_at_head(engine)
        return await run(TenantStore(engine))
    finally:
        await engine.dispose()


def create_tenant(database_url: str, tenant_id: str, file: Path) -> TenantRecord:
    document = read_tenant_file(file)
    return asyncio.run(_with_store(database_url, lambda s: s.create(tenant_id, document)))


def update_tenant(
    database_url: str, tenant_id: str, file: Path | None, *, rotate_site_key: bool
) -> TenantRecord:
    document = read_tenant_file(file) if file is not None else None
    return asyncio.run(
        _with_store(
            database_url,
            lambda s: s.update(tenant_id, document, rotate_site_key=rotate_site_key),
        )
    )


def get_tenant(database_url: str, tenant_id: str) -> TenantRecord:
    async def run(store: TenantStore) -> TenantRecord:
        record = await store.get(tenant_id)
        if record is None:
            raise NotFound(f"no tenant {tenant_id!r} (create it with `frontdesk tenants create`)")
        return record

    return asyncio.run(_with_store(database_url, run))


def tenant_exists(database_url: str, tenant_id: str) -> bool:
    """Whether ``tenant_id`` has a record (its config need not validate)."""
    entries = asyncio.run(_with_store(database_url, lambda s: s.list()))
    return any(entry.id == tenant_id for entry in entries)


def list_tenants(database_url: str) -> list[TenantRecord | BrokenTenant]:
    return asyncio.run(_with_store(database_url, lambda s: s.list()))


def describe(record: TenantRecord) -> dict[str, Any]:
    """A tenant as ``tenants show`` prints it: its document plus the stored facts."""
    return {
        "id": record.id,
        "site_key": record.site_key,
        "version": record.version,
        "bot_version": record.config.bot.version,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "config": record.document,
    }


def widget_snippet(server_url: str, record: TenantRecord) -> str:
    base = server_url.rstrip("/")
    return f'<script src="{base}/widget.js" data-site-key="{record.site_key}" defer></script>'


def list_line(entry: TenantRecord | BrokenTenant) -> str:
    """One line of ``tenants list``: id, site key, version, name, widget origins."""
    if isinstance(entry, BrokenTenant):
        return f"{entry.id:<16} {entry.site_key}  {entry.version}  INVALID: {entry.error}"
    origins = ",".join(entry.config.widget_origins) or "-"
    return (
        f"{entry.id:<16} {entry.site_key}  {entry.version}  {entry.config.display_name}  {origins}"
    )
