"""Which sinks announce a ticket: the operator's, or a tenant's own where it has one.

:class:`SinkRouter` answers two questions: when a ticket opens, which sinks get an outbox
row and who the email goes to when the topic has no contact (:meth:`route`); and when
the outbox delivers a row, which sink object delivers it (:meth:`sink`). A tenant's own
sink of a kind replaces the operator's of that kind, for that tenant only; the kinds it
does not set stay the operator's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from frontdesk.escalation.sinks import EscalationSink


@dataclass(frozen=True, slots=True)
class Route:
    sinks: tuple[str, ...]
    default_emails: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OwnSinks:
    """A tenant's own sinks; ``default_emails`` is its SMTP's recipients (with its own
    SMTP server the operator's default recipients are never used)."""

    sinks: Mapping[str, EscalationSink]
    default_emails: tuple[str, ...] = ()


TenantLookup = Callable[[str], Awaitable[OwnSinks | None]]
"""A tenant's own sinks; None: it has none (or is the default tenant)."""


@dataclass
class SinkRouter:
    operator: Mapping[str, EscalationSink]
    default_emails: Sequence[str] = ()
    tenants: TenantLookup | None = None
    _names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._names = tuple(self.operator)

    async def _own(self, tenant_id: str) -> OwnSinks | None:
        return None if self.tenants is None else await self.tenants(tenant_id)

    async def route(self, tenant_id: str) -> Route:
        own = await self._own(tenant_id)
        if own is None or not own.sinks:
            return Route(self._names, tuple(self.default_emails))
        names = (*self._names, *(n for n in own.sinks if n not in self._names))
        emails = own.default_emails if "email" in own.sinks else tuple(self.default_emails)
        return Route(names, emails)

    async def sink(self, tenant_id: str | None, name: str) -> EscalationSink | None:
        own = await self._own(tenant_id) if tenant_id is not None else None
        if own is not None and name in own.sinks:
            return own.sinks[name]
        return self.operator.get(name)
