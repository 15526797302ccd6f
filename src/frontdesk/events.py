"""Internal stream events.

Providers yield :data:`ProviderEvent`; the turn pipeline yields
:data:`TurnEvent`. Each API protocol (native SSE, OpenAI chunks) has its own
encoder of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from frontdesk.domain import Citation, ToolCall, Usage


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: Usage


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    """The model asks for one tool call, its streamed arguments assembled.

    Emitted, one per call (several for parallel calls), just before
    ``Finish(reason="tool_calls")``.
    """

    call: ToolCall


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str = "stop"  # stop | length | content_filter | cancelled | tool_calls


AttemptOutcome = Literal["served", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    """One endpoint's try in a call, emitted once its outcome is decided.

    A fallback chain emits ``served`` just before the first text delta (its
    ``duration_ms`` is then the time until that endpoint started answering; the
    final figures are in the :class:`CallReport`), and ``failed``/``skipped`` as
    soon as it moves on to the next endpoint.
    """

    provider: str
    model: str
    outcome: AttemptOutcome
    error_code: str | None = None
    error: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)

    def as_dict(self) -> dict[str, Any]:
        """The shape stored in ``TurnRecord.attempts`` and ``gateway_calls.attempts``."""
        return {
            "provider": self.provider,
            "model": self.model,
            "outcome": self.outcome,
            "error_code": self.error_code,
            "error": self.error,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cached_tokens": self.usage.cached_tokens,
            },
        }


@dataclass(frozen=True, slots=True)
class CallReport:
    """The last event of every successful provider stream: who served it and how.

    ``provider``/``model`` are the endpoint that served (empty when the call was
    cut short before any endpoint served: see ``MeteredCall.report``);
    ``attempts`` holds every try in order, the serving one last; ``ttft_ms`` and
    ``duration_ms`` are measured from the start of the stream that emitted it;
    ``cost`` is ``None`` until a :class:`~frontdesk.providers.metered.Metered`
    call prices it.
    """

    provider: str
    model: str
    attempts: tuple[AttemptEvent, ...]
    usage: Usage
    ttft_ms: float | None
    duration_ms: float
    cost: Decimal | None = None

    @property
    def served(self) -> bool:
        return bool(self.provider)


ProviderEvent = TextDelta | ToolCallRequested | UsageReport | Finish | AttemptEvent | CallReport

ANSWER_EVENTS = (TextDelta, ToolCallRequested)
"""The events that begin an answer (after one, nothing is retried or switched), as a tuple
for ``isinstance``: a ``X | Y`` written in the call builds a union object every time."""


@dataclass(frozen=True, slots=True)
class TurnStarted:
    conversation_id: str
    user_message_id: str
    assistant_message_id: str
    user_text: str
    """The user's text as stored (after redaction)."""


@dataclass(frozen=True, slots=True)
class Citations:
    citations: list[Citation]


@dataclass(frozen=True, slots=True)
class Retracted:
    reason: str
    replacement: str


@dataclass(frozen=True, slots=True)
class Escalated:
    reason: str
    ticket_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the customer should be told besides the answer (e.g. redaction)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ActionConfirm:
    """An action that changes something waits for the customer's button: confirm or cancel
    with ``POST /api/conversations/{conversation_id}/actions/{id}`` (never free text)."""

    id: str
    action: str
    title: str
    question: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class TurnDone:
    message_id: str
    usage: Usage
    finish_reason: str
    provider: str
    model: str
    content: str
    status: str = "complete"
    extra: dict[str, Any] = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class TurnError:
    code: str
    message: str
    message_id: str | None
    retryable: bool = False
    partial_content: str = ""


TurnEvent = (
    TurnStarted
    | TextDelta
    | Citations
    | Retracted
    | Escalated
    | Notice
    | ActionConfirm
    | UsageReport
    | TurnDone
    | TurnError
)
