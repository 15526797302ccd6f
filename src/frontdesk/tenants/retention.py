"""Each tenant's ``retention_days`` for the retention job (the global setting otherwise)."""

from __future__ import annotations

import logging

from frontdesk.errors import ConfigError
from frontdesk.retention.policy import Overrides, Own, RetentionPolicy
from frontdesk.tenants.store import TenantStore

log = logging.getLogger(__name__)


def tenant_retention(store: TenantStore, default: RetentionPolicy) -> Overrides:
    """A tenant record's ``retention_days`` where it sets one, else ``default``'s.

    A record whose config no longer validates keeps its conversations (nothing is deleted
    on a guess) and is logged.
    """

    async def lookup(tenant_id: str) -> Own | None:
        try:
            record = await store.get(tenant_id)
        except ConfigError as exc:
            log.error(
                "tenant %r: retention skipped, its config does not validate: %s", tenant_id, exc
            )
            return Own(None)
        if record is None or record.config.retention_days is None:
            return None
        return Own(float(record.config.retention_days))

    return Overrides(lookup, default)
