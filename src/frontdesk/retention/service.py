"""Deleting and exporting one tenant's conversations: the conversation store and the media
store together, media first (a failure half-way leaves the conversation, so the next run
or a repeated erasure finishes it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from frontdesk.errors import NotFound
from frontdesk.media.store import FileMediaStore
from frontdesk.memory.base import MemoryStore
from frontdesk.memory.privacy import UserRef
from frontdesk.retention.export import render_export
from frontdesk.retention.policy import RetentionPolicy

log = logging.getLogger(__name__)
BATCH = 200
Clock = Callable[[], datetime]


class Media(Protocol):
    """The media store's side of a conversation (see :class:`MediaFiles`)."""

    async def erase_conversation(self, conversation_id: str) -> int: ...

    async def list_attachments(self, conversation_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class MediaFiles:
    """:class:`Media` over the attachments on disk (the media store)."""

    store: FileMediaStore

    async def erase_conversation(self, conversation_id: str) -> int:
        return await asyncio.to_thread(self.store.erase_conversation, conversation_id)

    async def list_attachments(self, conversation_id: str) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(self.store.list, conversation_id)
        return [a.public() for a in found]


@dataclass(frozen=True, slots=True)
class Erased:
    conversations: int = 0
    attachments: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            self.conversations + other.conversations, self.attachments + other.attachments
        )

    def as_json(self) -> dict[str, int]:
        return {"conversations": self.conversations, "attachments": self.attachments}


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """One retention run: what each tenant lost, and the cutoff it used."""

    tenants: dict[str, Erased] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Erased:
        out = Erased()
        for erased in self.tenants.values():
            out += erased
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total.as_json(),
            "tenants": {
                t: {**e.as_json(), "cutoff": self.cutoffs[t]} for t, e in self.tenants.items()
            },
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Privacy:
    """Retention, erasure and export over one conversation store (and its media)."""

    store: MemoryStore
    media: Media | None = None
    clock: Clock = utc_now
    batch: int = BATCH

    async def erase(self, conversation_ids: Sequence[str]) -> Erased:
        """Erase these conversations (media, then rows with everything hanging off them)."""
        attachments = 0
        for conversation_id in conversation_ids:
            if self.media is not None:
                attachments += await self.media.erase_conversation(conversation_id)
        erased = await self.store.erase_conversations(conversation_ids)
        return Erased(erased, attachments)

    async def erase_user(self, tenant_id: str, user: UserRef) -> Erased:
        """Every conversation of one end user of ``tenant_id``."""
        ids = await self.store.user_conversations(tenant_id, user)
        return await self.erase(ids)

    async def apply(
        self,
        policy: RetentionPolicy,
        *,
        keep_alive: Callable[[], Awaitable[None]] | None = None,
        tenants: Sequence[str] | None = None,
    ) -> RetentionReport:
        """Delete every tenant's conversations idle longer than its retention (only
        ``tenants``'s, when given).

        ``keep_alive`` runs after each batch (the job renews its claim there).
        """
        now = self.clock()
        report = RetentionReport()
        chosen = list(tenants) if tenants is not None else await self.store.tenant_ids()
        for tenant_id in chosen:
            days = await policy.days_for(tenant_id)
            if days is None:
                continue
            cutoff = now - timedelta(days=days)
            report.cutoffs[tenant_id] = cutoff.isoformat()
            report.tenants[tenant_id] = await self._expire(tenant_id, cutoff, keep_alive)
        return report

    async def _expire(
        self,
        tenant_id: str,
        cutoff: datetime,
        keep_alive: Callable[[], Awaitable[None]] | None,
    ) -> Erased:
        total = Erased()
        while True:
            ids = await self.store.idle_conversations(tenant_id, before=cutoff, limit=self.batch)
            if not ids:
                return total
            erased = await self.erase(ids)
            total += erased
            if keep_alive is not None:
                await keep_alive()
            if erased.conversations == 0:  # nothing could be deleted: do not spin
                log.warning("retention could not delete %d conversations", len(ids))
                return total

    async def export(self, tenant_id: str, conversation_id: str) -> dict[str, Any]:
        """The conversation as JSON; NotFound for another tenant's (as for a missing one)."""
        found = await self.store.export_conversation(conversation_id)
        if found is None or found.conversation.tenant_id != tenant_id:
            raise NotFound(f"conversation {conversation_id} not found")
        attachments = await self.media.list_attachments(conversation_id) if self.media else []
        return render_export(found, attachments, exported_at=self.clock())
