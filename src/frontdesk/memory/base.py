"""The memory seam."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from frontdesk.domain import (
    Conversation,
    ConversationStatus,
    MessageStatus,
    Role,
    StoredMessage,
    TurnRecord,
)
from frontdesk.memory.privacy import ConversationExport, UserRef


@dataclass(frozen=True, slots=True)
class AddedMessage:
    message: StoredMessage
    created: bool
    """False when ``client_message_id`` was already stored (idempotent replay)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """A customer's message and the bot's pending reply to it, stored together."""

    user: AddedMessage
    reply: StoredMessage | None
    """The pending assistant message; None when the customer's message was already stored
    (a repeated ``client_message_id``: nothing new was written)."""


@dataclass(frozen=True, slots=True)
class TurnSignal:
    """What escalation keeps about a finished answer (a ``conversation_signals`` row), stored
    with the turn so that no transaction of its own follows every answer."""

    kind: str
    """``answered`` or ``failed_answer``."""
    detail: str
    recent: int
    """How many of the conversation's newest signal kinds to read back (this one included)."""


class MemoryStore(Protocol):
    """Conversations, messages and turn records.

    Every method commits its own transaction. Implementations run the same
    SQLAlchemy Core code on SQLite and PostgreSQL.
    """

    async def create_conversation(
        self, *, tenant_id: str, bot_id: str, metadata: dict[str, Any] | None = None
    ) -> Conversation: ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def conversation_with_messages(
        self, conversation_id: str
    ) -> tuple[Conversation | None, list[StoredMessage]]: ...

    async def list_messages(
        self, conversation_id: str, *, after_seq: int = 0
    ) -> list[StoredMessage]: ...

    async def add_message(
        self,
        conversation_id: str,
        *,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        client_message_id: str | None = None,
        reply_to: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AddedMessage:
        """Append a message. With ``client_message_id`` already present in the
        conversation, returns the stored one with ``created=False``."""
        ...

    async def add_exchange(
        self,
        conversation_id: str,
        *,
        content: str,
        client_message_id: str | None = None,
        if_status: ConversationStatus = "bot",
    ) -> Exchange | None:
        """The customer's message and the bot's pending reply to it, in one transaction, if
        the conversation's status is ``if_status``; None (nothing written) otherwise, or when
        there is no such conversation."""
        ...

    async def find_reply(self, user_message_id: str) -> StoredMessage | None:
        """The newest assistant message replying to ``user_message_id``."""
        ...

    async def complete_turn(
        self,
        *,
        assistant_message_id: str,
        content: str,
        status: MessageStatus,
        error: str | None,
        turn: TurnRecord,
        metadata: dict[str, Any] | None = None,
        signal: TurnSignal | None = None,
    ) -> list[str]:
        """Finish the assistant message and store its turn record atomically; ``metadata``
        is merged into the message's, ``signal`` stored too. Returns the kinds of the
        conversation's newest ``signal.recent`` signals, newest first ([] without one)."""
        ...

    async def get_message(self, message_id: str) -> StoredMessage | None: ...

    async def merge_message_metadata(self, message_id: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into the message's metadata; NotFound when absent."""
        ...

    async def list_queued_messages(self, limit: int = 20) -> list[StoredMessage]:
        """Answers queued while every provider was down, oldest first."""
        ...

    async def claim_queued_message(self, message_id: str) -> bool:
        """Atomically move a queued answer to ``answering``; False if another worker won."""
        ...

    async def requeue_answering(self, *, claimed_before: datetime | None = None) -> int:
        """Put answers left ``answering`` by a stopped process back in the queue
        (only those claimed before ``claimed_before``, when given)."""
        ...

    async def set_summary(self, conversation_id: str, summary: str, through_seq: int) -> None: ...

    async def set_status(self, conversation_id: str, status: ConversationStatus) -> None: ...

    async def list_turns(self, conversation_id: str) -> list[TurnRecord]: ...

    async def update_conversation_metadata(
        self, conversation_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Conversation:
        """Replace the metadata with ``change(current)`` atomically (read and write under one
        lock); NotFound for an unknown conversation."""
        ...

    async def erase_conversation(self, conversation_id: str) -> None: ...

    # --- replay, retention, erasure and export -------------------------------------------

    async def get_turn(self, turn_id: str) -> TurnRecord | None: ...

    async def tenant_ids(self) -> list[str]:
        """Tenants that have conversations."""
        ...

    async def idle_conversations(
        self, tenant_id: str, *, before: datetime, limit: int = 500
    ) -> list[str]:
        """The tenant's conversations last active before ``before`` (oldest first)."""
        ...

    async def user_conversations(self, tenant_id: str, user: UserRef) -> list[str]:
        """The tenant's conversations of one end user."""
        ...

    async def erase_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Delete conversations with their messages, turns, tickets, notes, signals and
        outbox deliveries; returns how many existed. Erasing twice is fine."""
        ...

    async def export_conversation(self, conversation_id: str) -> ConversationExport | None: ...

    async def fail_pending_messages(
        self, *, error: str, created_before: datetime | None = None, message_id: str | None = None
    ) -> int:
        """Mark messages left ``pending`` by a crashed process as ``failed`` with ``error``
        (with ``message_id``: only that one, a turn that never ran).

        Call at start-up (with ``created_before`` = this process's start time when
        several processes share the database). Returns how many were marked.
        """
        ...

    async def ping(self) -> None:
        """Raise when the database is unreachable (for /readyz)."""
        ...

    async def close(self) -> None: ...


def user_visible(messages: Sequence[StoredMessage]) -> list[StoredMessage]:
    return [m for m in messages if m.role != "system"]
