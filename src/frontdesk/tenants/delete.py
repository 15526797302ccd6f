"""Deleting a tenant and everything it has (``frontdesk tenants delete NAME --yes``).

In this order, so that nothing new arrives while the data goes:

1. **Disable**, in one transaction: revoke the tenant's API keys and delete its record
   (its site key stops resolving). A worker that cached the record or a key stops using
   it within ``FRONTDESK_API_KEY_CACHE_SECONDS``; the deletion waits that long
   (``settle_seconds``) before purging, and each worker's registry closes the tenant's
   bot once the requests holding it end (:mod:`frontdesk.tenants.registry`).
2. **Purge**: conversations with their messages, turn records, tickets (notes, outbox
   deliveries, signals) and attachments on disk; usage records (``gateway_calls``); the
   API key rows; the knowledge collections (documents, chunks, vectors, the lexical index
   and the SQLite vector index files).
3. **Sweep again** for conversations written by a request that was already streaming.

Running it again after a failure half-way finishes the purge (the record is already gone;
the tenant's rows are still found by its id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import NotFound
from frontdesk.knowledge.schema import kb_collections, kb_documents
from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.stores.vector_index import index_paths
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import api_keys, conversations, gateway_calls, tenants
from frontdesk.retention.service import Privacy
from frontdesk.tenants.store import check_tenant_id

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
audit = logging.getLogger("frontdesk.audit")
BATCH = 200
BUDGET_PREFIX = "frontdesk:budget:"
"""The Redis budget ledger's keys (:class:`~frontdesk.admission.budgets.RedisLedger`):
``{prefix}{scope}:{tenant}[:{user or conversation}]:{window}:{period}``."""


@dataclass(frozen=True, slots=True)
class DeletedTenant:
    """What went with one tenant."""

    tenant_id: str
    record: bool
    conversations: int = 0
    attachments: int = 0
    api_keys: int = 0
    usage_records: int = 0
    collections: int = 0
    documents: int = 0
    budget_counters: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def anything(self) -> bool:
        return self.record or any(
            (self.conversations, self.api_keys, self.usage_records, self.collections)
        )


@dataclass
class TenantDeletion:
    engine: AsyncEngine
    privacy: Privacy
    knowledge: KnowledgeStore | None = None
    settle_seconds: float = 10.0
    """How long workers may keep using a cached record or key (their cache time)."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    actor: str = "cli"
    """Who asked, for the audit line."""
    redis: Redis | None = None
    """Where the budget ledger keeps its counters (spent and reserved per window)."""

    async def delete(self, tenant_id: str) -> DeletedTenant:
        """Delete ``tenant_id`` (never ``default``); NotFound when nothing of it exists."""
        check_tenant_id(tenant_id)
        had_record = await self._disable(tenant_id)
        if self.settle_seconds > 0:
            await self.sleep(self.settle_seconds)
        conversations_n, attachments = await self._conversations(tenant_id)
        usage, keys = await self._rows(tenant_id)
        collections, documents = await asyncio.to_thread(self._knowledge, tenant_id)
        counters = await drop_budget_counters(self.redis, tenant_id) if self.redis else 0
        late, late_attachments = await self._conversations(tenant_id)  # in-flight writes
        if late:
            log.warning("tenant %r: %d conversations written during its deletion", tenant_id, late)
        deleted = DeletedTenant(
            tenant_id=tenant_id,
            record=had_record,
            conversations=conversations_n + late,
            attachments=attachments + late_attachments,
            api_keys=keys,
            usage_records=usage,
            collections=collections,
            documents=documents,
            budget_counters=counters,
        )
        if not deleted.anything:
            raise NotFound(f"no tenant {tenant_id!r}")
        audit.warning(
            "tenant %s deleted by %s: %s",
            tenant_id,
            self.actor,
            " ".join(f"{k}={v}" for k, v in deleted.as_json().items() if k != "tenant_id"),
            extra={"event": "tenant.deleted", "actor": self.actor, **deleted.as_json()},
        )
        return deleted

    async def _disable(self, tenant_id: str) -> bool:
        writer = self.engine.execution_options(**{WRITE_OPTION: True})
        async with writer.begin() as conn:
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.tenant_id == tenant_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            result = await conn.execute(delete(tenants).where(tenants.c.id == tenant_id))
        return bool(result.rowcount)

    async def _conversations(self, tenant_id: str) -> tuple[int, int]:
        query = (
            select(conversations.c.id)
            .where(conversations.c.tenant_id == tenant_id)
            .order_by(conversations.c.id)
            .limit(BATCH)
        )
        total = attachments = 0
        while True:
            async with self.engine.connect() as conn:
                ids = [r[0] for r in await conn.execute(query)]
            if not ids:
                return total, attachments
            erased = await self.privacy.erase(ids)
            if erased.conversations == 0:
                raise RuntimeError(f"tenant {tenant_id!r}: {len(ids)} conversations not deleted")
            total += erased.conversations
            attachments += erased.attachments

    async def _rows(self, tenant_id: str) -> tuple[int, int]:
        writer = self.engine.execution_options(**{WRITE_OPTION: True})
        async with writer.begin() as conn:
            usage = await conn.execute(
                delete(gateway_calls).where(gateway_calls.c.tenant_id == tenant_id)
            )
            keys = await conn.execute(delete(api_keys).where(api_keys.c.tenant_id == tenant_id))
        return usage.rowcount, keys.rowcount

    def _knowledge(self, tenant_id: str) -> tuple[int, int]:
        return (0, 0) if self.knowledge is None else drop_knowledge(self.knowledge, tenant_id)


async def drop_budget_counters(redis: Redis, tenant_id: str, prefix: str = BUDGET_PREFIX) -> int:
    """Delete the tenant's budget counters (tenant, user and conversation scopes): a tenant
    made again with the same id starts with nothing spent, even on a ``total`` budget."""
    deleted = 0
    for scope in ("tenant", "user", "conversation"):
        batch: list[Any] = []
        async for key in redis.scan_iter(match=f"{prefix}{scope}:{tenant_id}:*"):
            batch.append(key)
            if len(batch) >= BATCH:
                deleted += int(await redis.delete(*batch))
                batch = []
        if batch:
            deleted += int(await redis.delete(*batch))
    return deleted


def drop_knowledge(store: KnowledgeStore, tenant_id: str) -> tuple[int, int]:
    """Drop every collection of the tenant (documents, chunks with their vectors and
    lexical index rows, the SQLite store's vector index files); (collections, documents)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        raise TypeError(f"cannot list the collections of {type(store).__name__}")
    names = union(
        select(kb_collections.c.collection).where(kb_collections.c.tenant == tenant_id),
        select(kb_documents.c.collection).where(kb_documents.c.tenant == tenant_id),
    )
    with engine.connect() as conn:
        collections = sorted(r[0] for r in conn.execute(names))
        counted = conn.execute(
            select(func.count()).select_from(kb_documents).where(kb_documents.c.tenant == tenant_id)
        )
        documents = int(counted.scalar_one())
    index_dir = getattr(store, "index_dir", None)
    for collection in collections:
        store.drop_collection(tenant_id, collection)
        if isinstance(index_dir, Path):
            for path in index_paths(index_dir, tenant_id, collection):
                path.unlink(missing_ok=True)
    return len(collections), documents
