"""Mapping between table rows and the frozen domain types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from frontdesk.domain import (
    Conversation,
    ConversationStatus,
    MessageStatus,
    Role,
    StoredMessage,
    TurnRecord,
    Usage,
)

Row = Mapping[Any, Any]


def conversation(row: Row) -> Conversation:
    return Conversation(
        id=row["id"],
        tenant_id=row["tenant_id"],
        bot_id=row["bot_id"],
        status=cast(ConversationStatus, row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        title=row["title"],
        summary=row["summary"],
        summary_through_seq=row["summary_through_seq"],
        metadata=dict(row["metadata"] or {}),
    )


def message(row: Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        role=cast(Role, row["role"]),
        content=row["content"],
        status=cast(MessageStatus, row["status"]),
        created_at=row["created_at"],
        client_message_id=row["client_message_id"],
        reply_to=row["reply_to"],
        error=row["error"],
        metadata=dict(row["metadata"] or {}),
    )


def turn_values(turn: TurnRecord, *, now: datetime) -> dict[str, Any]:
    return {
        "id": turn.id,
        "conversation_id": turn.conversation_id,
        "user_message_id": turn.user_message_id,
        "assistant_message_id": turn.assistant_message_id,
        "status": turn.status,
        "config_version": turn.config_version,
        "provider": turn.provider,
        "model": turn.model,
        "params": dict(turn.params),
        "input_tokens": turn.usage.input_tokens,
        "output_tokens": turn.usage.output_tokens,
        "cached_tokens": turn.usage.cached_tokens,
        "prompt_tokens_counted": turn.prompt_tokens_counted,
        "ttft_ms": turn.ttft_ms,
        "total_ms": turn.total_ms,
        "error": turn.error,
        "cost": turn.cost,
        "attempts": list(turn.attempts),
        "retrieved_chunk_ids": list(turn.retrieved_chunk_ids),
        "verdicts": list(turn.verdicts),
        "created_at": turn.created_at or now,
        "inputs": dict(turn.inputs),
    }


def turn(row: Row) -> TurnRecord:
    return TurnRecord(
        id=row["id"],
        conversation_id=row["conversation_id"],
        user_message_id=row["user_message_id"],
        assistant_message_id=row["assistant_message_id"],
        status=cast(MessageStatus, row["status"]),
        config_version=row["config_version"],
        provider=row["provider"],
        model=row["model"],
        params=dict(row["params"]),
        usage=Usage(row["input_tokens"], row["output_tokens"], row["cached_tokens"]),
        prompt_tokens_counted=row["prompt_tokens_counted"],
        ttft_ms=row["ttft_ms"],
        total_ms=row["total_ms"],
        error=row["error"],
        cost=Decimal(row["cost"]),
        attempts=list(row["attempts"]),
        retrieved_chunk_ids=list(row["retrieved_chunk_ids"]),
        verdicts=list(row["verdicts"]),
        created_at=row["created_at"],
        inputs=dict(row["inputs"] or {}),
    )
