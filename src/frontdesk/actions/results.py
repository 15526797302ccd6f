"""What one action call did: its result for the answer and its record for the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal[
    "ok",
    "invalid_arguments",
    "needs_identity",
    "missing_claims",
    "over_budget",
    "circuit_open",
    "timeout",
    "failed",
    "unknown_action",
]
FAILED_STATUSES = frozenset({"circuit_open", "timeout", "failed"})


@dataclass(frozen=True, slots=True)
class ActionResult:
    action: str
    status: Status
    arguments: dict[str, Any]
    call_id: str
    effect: str = "read"
    data: Any = None
    """The company API's JSON answer (``ok`` only)."""
    http_status: int | None = None
    latency_ms: float = 0.0
    attempts: int = 0
    acting_for: str | None = None
    """The verified user id the call acted for (never the token)."""
    error: str | None = None
    """Why it did not succeed, for the audit (no secrets, no response bodies)."""
    problems: tuple[str, ...] = field(default=())
    """Argument validation messages (``invalid_arguments``)."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def audit(self) -> dict[str, Any]:
        """The turn record's entry for this call."""
        return {
            "action": self.action,
            "call_id": self.call_id,
            "effect": self.effect,
            "arguments": self.arguments,
            "status": self.status,
            "http_status": self.http_status,
            "latency_ms": round(self.latency_ms, 3),
            "attempts": self.attempts,
            "acting_for": self.acting_for,
            "error": self.error,
        }

    def for_model(self) -> dict[str, Any]:
        """What a vendor model is told (the tool result message)."""
        if self.ok:
            return {"status": "ok", "result": self.data}
        out: dict[str, Any] = {"status": self.status, "error": self.error or self.status}
        if self.problems:
            out["problems"] = list(self.problems)
        out["instruction"] = (
            "The action did not succeed: say so honestly, do not invent a result, and offer "
            "to connect the customer with a person."
        )
        return out
