"""Each tenant's own escalation sinks, for the escalation router
(:class:`~frontdesk.escalation.routing.SinkRouter`): built from its record's
``escalation:`` section when first needed, again when the record changes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from frontdesk.errors import ConfigError
from frontdesk.escalation.routing import OwnSinks
from frontdesk.escalation.sinks import EscalationSink, SinkError
from frontdesk.tenants.config import DEFAULT_TENANT
from frontdesk.tenants.sink_config import TenantEscalation, tenant_sinks
from frontdesk.tenants.store import TenantRecord

log = logging.getLogger(__name__)


class TenantSinks:
    """``lookup(tenant_id)`` → the tenant's own sinks, or None (it uses the operator's).

    A sink whose secret variable is unset (or too short) is :class:`Unusable`: the ticket
    opens as always, its delivery fails and stays in the outbox to be retried (it is never
    sent to the operator's sink instead)."""

    def __init__(
        self,
        records: Callable[[str], Awaitable[TenantRecord | None]],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._records = records
        self._environ = environ
        self._built: dict[str, tuple[str, OwnSinks | None]] = {}

    async def lookup(self, tenant_id: str) -> OwnSinks | None:
        if tenant_id == DEFAULT_TENANT:
            return None
        record = await self._records(tenant_id)
        if record is None:
            self._built.pop(tenant_id, None)
            return None
        cached = self._built.get(tenant_id)
        if cached is not None and cached[0] == record.version:
            return cached[1]
        config = record.config.escalation
        own: OwnSinks | None = None
        if config.webhook is not None or config.smtp is not None:
            sinks: dict[str, EscalationSink] = {}
            for name, part in (
                ("webhook", TenantEscalation(webhook=config.webhook)),
                ("email", TenantEscalation(smtp=config.smtp)),
            ):
                if part.webhook is None and part.smtp is None:
                    continue
                try:
                    sinks.update(tenant_sinks(part, self._environ))
                except ConfigError as exc:
                    log.error("tenant %r: its %s sink is not usable: %s", tenant_id, name, exc)
                    sinks[name] = Unusable(name, f"tenant {tenant_id!r}: {exc}")
            emails = tuple(config.smtp.default_recipients) if config.smtp else ()
            own = OwnSinks(sinks, emails)
        self._built[tenant_id] = (record.version, own)
        return own


@dataclass(slots=True)
class Unusable:
    """The tenant's own sink whose secret is missing: its deliveries fail (and are retried
    by the outbox) until the variable is set, instead of going to the operator's sink."""

    name: str
    reason: str

    async def deliver(self, payload: dict[str, Any], *, delivery_id: str) -> None:
        raise SinkError(self.reason)
