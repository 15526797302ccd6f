"""Value types of identity: what a request presented, and what verification made of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Method = Literal["jwt", "hmac"]
RejectReason = Literal[
    "missing",
    "not_configured",
    "oversized",
    "malformed",
    "algorithm_not_allowed",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "lifetime_too_long",
    "wrong_audience",
    "wrong_issuer",
    "missing_claim",
]


@dataclass(frozen=True, slots=True)
class Presented:
    """What one request carried (headers), before any check. Never logged."""

    token: str | None = None
    """A compact JWT (``X-Frontdesk-Identity``)."""
    user_id: str | None = None
    """With ``user_hash``: the HMAC form (``X-Frontdesk-User-Id`` / ``X-Frontdesk-User-Hash``)."""
    user_hash: str | None = None

    @property
    def empty(self) -> bool:
        return not self.token and not self.user_id and not self.user_hash


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified customer of one tenant."""

    tenant: str
    user_id: str
    method: Method
    email: str | None = None
    name: str | None = None
    plan: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    """Every verified claim (JWT) or just ``sub`` (HMAC: only the user id is signed)."""
    expires_at: datetime | None = None

    @property
    def key(self) -> str:
        """The verified id as limits, budgets and escalation priority see it."""
        return f"customer:{self.tenant}:{self.user_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "user_id": self.user_id,
            "method": self.method,
            "email": self.email,
            "name": self.name,
            "plan": self.plan,
            "claims": dict(self.claims),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True, slots=True)
class Anonymous:
    """No verified identity, and why (a reason code: safe to log)."""

    reason: RejectReason
    detail: str = ""
    """A short explanation without any part of the token."""


Verification = Identity | Anonymous
