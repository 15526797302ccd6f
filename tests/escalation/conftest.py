"""Escalation fixtures: the real SQL stores on a migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.auth.keys import Principal
from frontdesk.escalation.handoff import Handoff
from frontdesk.escalation.live import InMemoryBus
from frontdesk.escalation.service import EscalationService
from frontdesk.escalation.tickets import TicketStore
from frontdesk.memory.migrate import upgrade_async
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.settings import Settings
from tests.escalation.app_setup import CONTACTS
from tests.memory.pg import temporary_database_async


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Kit:
    store: SqlMemoryStore
    tickets: TicketStore
    bus: InMemoryBus
    handoff: Handoff
    service: EscalationService
    clock: Clock


ALICE = Principal(key_id="key-alice", name="alice", role="agent", tenant_id="default")
BOB = Principal(key_id="key-bob", name="bob", role="agent", tenant_id="default")
OTHER_TENANT = Principal(key_id="key-eve", name="eve", role="agent", tenant_id="other")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, migrated: Settings) -> AsyncIterator[str]:
    """A migrated database: the SQLite file of ``migrated``, or a throw-away PostgreSQL one."""
    if request.param == "sqlite":
        yield migrated.resolved_database_url
        return
    async with temporary_database_async("frontdesk_escalation") as url:
        await upgrade_async(url)
        yield url


@pytest.fixture
async def kit(database_url: str) -> AsyncIterator[Kit]:
    clock = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    store = SqlMemoryStore.from_url(database_url, clock=clock)
    tickets = TicketStore(store.engine, clock=clock)
    bus = InMemoryBus()
    handoff = Handoff(tickets=tickets, store=store, bus=bus, sinks=("webhook", "email"))
    service = EscalationService(handoff, CONTACTS)
    try:
        yield Kit(store, tickets, bus, handoff, service, clock)
    finally:
        await store.close()
