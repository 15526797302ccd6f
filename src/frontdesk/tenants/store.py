"""Tenant records in the ``tenants`` table (same engine as the conversation store)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ConfigError, Conflict, NotFound, ValidationFailed
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import tenants
from frontdesk.tenants.config import (
    DEFAULT_TENANT,
    TENANT_ID_PATTERN,
    TenantConfig,
    config_version,
    parse_tenant_config,
)

SITE_KEY_PREFIX = "fdsite_"
_SITE_KEY = re.compile(r"^fdsite_[A-Za-z0-9_-]{16,48}$")
_TENANT_ID = re.compile(TENANT_ID_PATTERN)


def new_site_key() -> str:
    """A public, unguessable key naming a tenant's site (not a secret: pages embed it)."""
    return SITE_KEY_PREFIX + secrets.token_urlsafe(18)


def is_site_key(value: str) -> bool:
    return bool(_SITE_KEY.match(value))


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """One stored tenant, its document validated."""

    id: str
    site_key: str
    config: TenantConfig
    document: dict[str, Any]
    version: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BrokenTenant:
    """A stored tenant whose config does not validate (it is unavailable until fixed)."""

    id: str
    site_key: str
    version: str
    error: str


def _record(row: Any) -> TenantRecord:
    r = cast("dict[str, Any]", row)
    document = cast("dict[str, Any]", r["config"])
    return TenantRecord(
        id=r["id"],
        site_key=r["site_key"],
        config=parse_tenant_config(document, source=f"tenant {r['id']!r}"),
        document=document,
        version=r["version"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def check_tenant_id(tenant_id: str) -> str:
    if not _TENANT_ID.match(tenant_id):
        raise ValidationFailed(
            f"tenant id {tenant_id!r}: 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    if tenant_id == DEFAULT_TENANT:
        raise ValidationFailed(
            "the default tenant is the bot of FRONTDESK_BOT_CONFIG; it has no tenant record"
        )
    return tenant_id


class TenantStore:
    def __init__(
        self, engine: AsyncEngine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock

    async def create(self, tenant_id: str, document: dict[str, Any]) -> TenantRecord:
        check_tenant_id(tenant_id)
        parse_tenant_config(document, source=f"tenant {tenant_id!r}")
        now = self._clock()
        values = {
            "id": tenant_id,
            "site_key": new_site_key(),
            "config": document,
            "version": config_version(document),
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self._writer.begin() as conn:
                await conn.execute(insert(tenants).values(values))
        except IntegrityError as exc:
            raise Conflict(f"tenant {tenant_id!r} already exists") from exc
        return _record(values)

    async def get(self, tenant_id: str) -> TenantRecord | None:
        query = select(tenants).where(tenants.c.id == tenant_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _record(dict(row))

    async def by_site_key(self, site_key: str) -> TenantRecord | None:
        if not is_site_key(site_key):
            return None
        query = select(tenants).where(tenants.c.site_key == site_key)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _record(dict(row))

    async def ids(self) -> set[str]:
        """The ids of every stored tenant (nothing is parsed)."""
        async with self._engine.connect() as conn:
            return {r[0] for r in await conn.execute(select(tenants.c.id))}

    async def list(self) -> list[TenantRecord | BrokenTenant]:
        """Every tenant by id; one whose stored config no longer validates is listed as
        :class:`BrokenTenant` (with the reason) rather than hiding or failing the list."""
        query = select(tenants).order_by(tenants.c.id)
        async with self._engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        listed: list[TenantRecord | BrokenTenant] = []
        for row in rows:
            try:
                listed.append(_record(row))
            except ConfigError as exc:
                listed.append(BrokenTenant(row["id"], row["site_key"], row["version"], str(exc)))
        return listed

    async def update(
        self,
        tenant_id: str,
        document: dict[str, Any] | None = None,
        *,
        rotate_site_key: bool = False,
    ) -> TenantRecord:
        """Replace the document and/or issue a new site key (the old one stops working)."""
        values: dict[str, Any] = {"updated_at": self._clock()}
        if document is not None:
            parse_tenant_config(document, source=f"tenant {tenant_id!r}")
            values.update(config=document, version=config_version(document))
        if rotate_site_key:
            values["site_key"] = new_site_key()
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(tenants).where(tenants.c.id == tenant_id).values(values)
            )
        if result.rowcount == 0:
            raise NotFound(f"tenant {tenant_id!r} not found")
        record = await self.get(tenant_id)
        if record is None:
            raise NotFound(f"tenant {tenant_id!r} not found")
        return record
