"""Frozen value types shared across the package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "agent"]
PromptRole = Literal["system", "user", "assistant", "tool"]
"""``tool``: the result of one tool call (``ChatMessage.tool_call_id`` names the call)."""
MessageStatus = Literal["pending", "queued", "answering", "complete", "partial", "failed"]
"""``queued``: every provider was down; a background worker answers it later
(``answering`` while it does)."""
ConversationStatus = Literal["bot", "waiting_for_agent", "agent", "closed"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool (an action) the model may call: ``parameters`` is a JSON schema of an object."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call of a tool the model asked for; ``arguments`` is JSON text (an object).

    ``id`` is the vendor's call id (OpenAI ``call_...``, Anthropic ``toolu_...``) or,
    for vendors without one (Gemini), one the adapter made up; the tool result
    message names it in ``ChatMessage.tool_call_id``.
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt sent to a provider.

    An assistant message that called tools carries them in ``tool_calls`` (its
    ``content`` may be empty); each result follows as a ``role="tool"`` message
    whose ``content`` is the result text and ``tool_call_id`` the call's id.
    """

    role: PromptRole
    content: str
    images: tuple[str, ...] = ()
    """``data:`` URLs of the customer's images, for endpoints that see them (``media.vision``);
    the text read from them is in ``content`` either way."""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True, slots=True)
class Cost:
    amount: Decimal = Decimal(0)
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    tenant_id: str
    bot_id: str
    status: ConversationStatus
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    summary: str | None = None
    summary_through_seq: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    conversation_id: str
    seq: int
    role: Role
    content: str
    status: MessageStatus
    created_at: datetime
    client_message_id: str | None = None
    reply_to: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Citation:
    index: int
    chunk_id: str
    document_id: str
    title: str
    section: str
    snippet: str
    url: str


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What produced one assistant answer, for replay and audit."""

    id: str
    conversation_id: str
    user_message_id: str
    assistant_message_id: str | None
    status: MessageStatus
    config_version: str
    provider: str
    model: str
    params: dict[str, Any]
    usage: Usage
    prompt_tokens_counted: int
    ttft_ms: float | None
    total_ms: float
    error: str | None = None
    cost: Decimal = Decimal(0)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    retrieved_chunk_ids: list[str] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    """What the answer was made from, for ``frontdesk replay`` (see
    :mod:`frontdesk.chat.inputs`): the prompt messages as sent (PII-redacted text, as
    stored; images as a count), the numbered sources and their citations, the canary;
    empty for turns recorded before replay existed."""
