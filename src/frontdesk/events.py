"""Internal stream events.

Providers yield :data:`ProviderEvent`; the turn pipeline yields
:data:`TurnEvent`. Each API protocol (native SSE, OpenAI chunks) has its own
encoder of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontdesk.domain import Citation, Usage


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str = "stop"  # stop | length | content_filter | cancelled


ProviderEvent = TextDelta | UsageReport | Finish


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
class TurnDone:
    message_id: str
    usage: Usage
    finish_reason: str
    provider: str
    model: str
    content: str
    status: str = "complete"
    extra: dict[str, Any] = field(default_factory=dict)


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
    | UsageReport
    | TurnDone
    | TurnError
)
