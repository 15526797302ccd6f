"""A conversation belongs to the customer who first proved who they are in it.

The server stores the binding in the conversation's metadata under :data:`IDENTITY_FIELD`
(a client can never set it: :func:`without_identity` drops it from what a client sends).
An anonymous conversation whose visitor signs in is bound then and kept; a conversation
bound to one customer refuses another customer's identity. Binding also records the
verified id as the conversation's requester identity, so per-user limits, budgets and the
escalation queue see the customer (:attr:`Identity.key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from frontdesk.escalation.priority import REQUESTER_FIELD
from frontdesk.identity.model import Identity

IDENTITY_FIELD = "frontdesk_identity"
Outcome = Literal["bound", "same", "other"]


def without_identity(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Client-sent metadata without the server's identity field."""
    return {k: v for k, v in (metadata or {}).items() if k != IDENTITY_FIELD}


def bound_user(metadata: Mapping[str, Any]) -> str | None:
    """The user id the conversation is bound to, if any."""
    value = metadata.get(IDENTITY_FIELD)
    if isinstance(value, Mapping) and isinstance(value.get("user_id"), str):
        return str(value["user_id"])
    return None


def binding_record(identity: Identity, now: datetime | None = None) -> dict[str, Any]:
    """What is stored: who, how verified, when; not the claims (they may change per token)."""
    return {
        "user_id": identity.user_id,
        "tenant": identity.tenant,
        "method": identity.method,
        "email": identity.email,
        "plan": identity.plan,
        "bound_at": (now or datetime.now(UTC)).isoformat(),
    }


@dataclass
class Bind:
    """A pure metadata change for ``MemoryStore.update_conversation_metadata``."""

    identity: Identity
    outcome: Outcome | None = None

    def __call__(self, metadata: dict[str, Any]) -> dict[str, Any]:
        current = bound_user(metadata)
        if current is not None:
            self.outcome = "same" if current == self.identity.user_id else "other"
            return metadata
        self.outcome = "bound"
        requester = dict(metadata.get(REQUESTER_FIELD) or {})
        if not requester.get("identity"):
            requester["identity"] = self.identity.key
        return {
            **metadata,
            IDENTITY_FIELD: binding_record(self.identity),
            REQUESTER_FIELD: requester,
        }
