"""Request rate limits per tenant, user and conversation (HTTP 429 with ``Retry-After``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from frontdesk.admission.buckets import Buckets, Rate, Take
from frontdesk.errors import RateLimited


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Requests allowed per tenant, per user and per conversation (``None``: no limit)."""

    tenant: Rate | None = None
    user: Rate | None = None
    conversation: Rate | None = None


class AdmissionLimiter:
    """The admission step of a turn: raises :class:`RateLimited` with ``retry_after``."""

    def __init__(self, buckets: Buckets, limits: RequestLimits) -> None:
        self._buckets = buckets
        self._limits = limits

    async def admit(
        self, tenant: str, user: str | None = None, conversation: str | None = None
    ) -> None:
        limits = self._limits
        takes = []
        if limits.tenant is not None:
            takes.append(Take(f"tenant:{tenant}", limits.tenant))
        if limits.user is not None and user is not None:
            takes.append(Take(f"user:{tenant}:{user}", limits.user))
        if limits.conversation is not None and conversation is not None:
            takes.append(Take(f"conversation:{tenant}:{conversation}", limits.conversation))
        if not takes:
            return
        wait = await self._buckets.take(takes)
        if wait > 0:
            raise RateLimited("too many requests; try again shortly", retry_after=math.ceil(wait))
