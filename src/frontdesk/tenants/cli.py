"""Functions behind ``frontdesk tenants ...`` (the CLI module wires them to commands)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import inspect

from frontdesk.errors import NotFound
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import check_at_head
from frontdesk.settings import Settings
from frontdesk.tenants.config import read_tenant_file
from frontdesk.tenants.store import BrokenTenant, TenantRecord, TenantStore

if TYPE_CHECKING:
    from frontdesk.tenants.delete import DeletedTenant

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


def delete_tenant(settings: Settings, tenant_id: str) -> DeletedTenant:
    """Delete the tenant and all its data (:mod:`frontdesk.tenants.delete`)."""
    from redis.asyncio import Redis

    from frontdesk.knowledge.stores.factory import open_store
    from frontdesk.media.store import FileMediaStore
    from frontdesk.memory.sql import SqlMemoryStore
    from frontdesk.retention.service import MediaFiles, Privacy
    from frontdesk.tenants.delete import TenantDeletion

    async def run() -> DeletedTenant:
        url = settings.resolved_database_url
        engine = create_engine(url)
        knowledge = None
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        try:
            await check_at_head(engine)
            async with engine.connect() as conn:  # no knowledge tables: no documents
                kb = await conn.run_sync(lambda c: inspect(c).has_table("kb_collections"))
            if kb:
                knowledge = await asyncio.to_thread(open_store, url)
            privacy = Privacy(
                SqlMemoryStore(engine), MediaFiles(FileMediaStore(settings.data_dir / "media"))
            )
            cache = settings.api_key_cache_seconds
            deletion = TenantDeletion(
                engine,
                privacy,
                knowledge,
                settle_seconds=cache + 0.5 if cache > 0 else 0.0,
                redis=redis,
            )
            return await deletion.delete(tenant_id)
        finally:
            if redis is not None:
                await redis.aclose()
            if knowledge is not None:
                await asyncio.to_thread(knowledge.close)
            await engine.dispose()

    return asyncio.run(run())


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


def escalation_line(record: TenantRecord) -> str:
    """Where the tenant's hand-offs go (``config check --tenant``); ConfigError when a
    secret variable of its own sinks is unset or too short."""
    from frontdesk.logging_setup import redact_url
    from frontdesk.tenants.sink_config import tenant_sinks

    config = record.config.escalation
    tenant_sinks(config)  # the secrets are read here, as the server will
    webhook = f"own {redact_url(config.webhook.url)}" if config.webhook else "the operator's"
    smtp = config.smtp
    email = f"own {smtp.host}:{smtp.resolved_port}" if smtp else "the operator's"
    return f"escalation: webhook {webhook}; email {email}"


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
