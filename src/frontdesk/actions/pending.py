"""Actions waiting for the customer's button, kept in the conversation's metadata.

Each offer has an id (random, unguessable), the action and its arguments, the verified user
it was offered to, and a state: ``pending`` → ``running`` (confirmed: runs exactly once) →
``done``/``failed``, or ``cancelled``/``expired``. Every transition is a pure change applied
with ``MemoryStore.update_conversation_metadata`` (one locked read-modify-write), so two
clicks on the same button cannot both run it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

PENDING_FIELD = "frontdesk_pending_actions"
OFFER_FIELD = "action_offer"
"""The asking assistant message's metadata: the offer as the ``action_confirm`` event had it."""
KEEP = 20
"""Offers kept per conversation (the oldest finished ones are dropped first)."""

Decision = Literal["confirm", "cancel"]
ClaimOutcome = Literal["run", "cancelled", "unknown", "forbidden", "expired", "already"]


def new_offer_id() -> str:
    return "act_" + secrets.token_urlsafe(18)


def offers(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = metadata.get(PENDING_FIELD)
    return (
        {k: dict(v) for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}
    )


@dataclass
class Offer:
    """Add one pending offer."""

    offer_id: str
    record: dict[str, Any]

    def __call__(self, metadata: dict[str, Any]) -> dict[str, Any]:
        current = offers(metadata)
        current[self.offer_id] = {**self.record, "state": "pending"}
        if len(current) > KEEP:
            finished = [k for k, v in current.items() if v.get("state") != "pending"]
            for key in (finished or list(current))[: len(current) - KEEP]:
                current.pop(key, None)
        return {**metadata, PENDING_FIELD: current}


@dataclass
class Claim:
    """The customer pressed a button: move a pending offer on, or say why not."""

    offer_id: str
    user_id: str | None
    decision: Decision
    now: float
    outcome: ClaimOutcome | None = None
    record: dict[str, Any] | None = None

    def __call__(self, metadata: dict[str, Any]) -> dict[str, Any]:
        current = offers(metadata)
        record = current.get(self.offer_id)
        self.record = dict(record) if record is not None else None
        if record is None:
            self.outcome = "unknown"
            return metadata
        if self.user_id is None or record.get("user_id") != self.user_id:
            self.outcome = "forbidden"
            return metadata
        if record.get("state") != "pending":
            self.outcome = "already"
            return metadata
        if float(record.get("expires_at", 0)) < self.now:
            record["state"] = "expired"
            self.outcome = "expired"
        elif self.decision == "cancel":
            record["state"] = "cancelled"
            self.outcome = "cancelled"
        else:
            record["state"] = "running"
            self.outcome = "run"
        current[self.offer_id] = record
        self.record = dict(record)
        return {**metadata, PENDING_FIELD: current}


@dataclass
class Settle:
    """A confirmed offer finished."""

    offer_id: str
    status: str

    def __call__(self, metadata: dict[str, Any]) -> dict[str, Any]:
        current = offers(metadata)
        if self.offer_id not in current:
            return metadata
        current[self.offer_id] = {
            **current[self.offer_id],
            "state": "done" if self.status == "ok" else "failed",
            "result_status": self.status,
        }
        return {**metadata, PENDING_FIELD: current}
