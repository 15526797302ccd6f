"""How long a tenant keeps its conversations.

The global setting (``FRONTDESK_RETENTION_DAYS``) applies to every tenant today. A tenant's
own value (a ``retention_days`` field of its tenant record) plugs in as another
:class:`RetentionPolicy` that answers for the tenants that set one and falls back to the
global value for the others (:class:`Overrides`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


class RetentionPolicy(Protocol):
    async def days_for(self, tenant_id: str) -> float | None:
        """Days a conversation of ``tenant_id`` is kept after its last activity; None: forever."""
        ...


@dataclass(frozen=True, slots=True)
class GlobalRetention:
    """One value for every tenant (the ``FRONTDESK_RETENTION_DAYS`` setting)."""

    days: float | None

    async def days_for(self, tenant_id: str) -> float | None:
        return self.days


@dataclass(frozen=True, slots=True)
class Own:
    """A tenant's own retention: ``days`` (None: that tenant keeps conversations forever)."""

    days: float | None


@dataclass(frozen=True, slots=True)
class Overrides:
    """A tenant's own retention where ``lookup`` finds one (an :class:`Own`), else
    ``default``'s: the seam for per-tenant ``retention_days``."""

    lookup: Callable[[str], Awaitable[Own | None]]
    default: RetentionPolicy

    async def days_for(self, tenant_id: str) -> float | None:
        own = await self.lookup(tenant_id)
        return await self.default.days_for(tenant_id) if own is None else own.days
