"""A conversation as one JSON document (``frontdesk.conversation.v1``).

Everything the database holds about it: the conversation (metadata included), every
message with its status, citations and feedback, the turn records (model, parameters,
verdicts, usage, cost; without the replay inputs, which repeat the prompt), the tickets
with their notes, and the attachments' records (what was read or heard; not the bytes).
Text is as stored: PII was redacted before anything was stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from frontdesk.memory.privacy import ConversationExport

FORMAT = "frontdesk.conversation.v1"


def render_export(
    found: ConversationExport,
    attachments: Sequence[Mapping[str, Any]] = (),
    *,
    exported_at: datetime,
) -> dict[str, Any]:
    turns = []
    for turn in found.turns:
        record = asdict(turn)
        record.pop("inputs", None)
        turns.append(record)
    document: dict[str, Any] = jsonable(
        {
            "format": FORMAT,
            "exported_at": exported_at,
            "conversation": asdict(found.conversation),
            "messages": [asdict(m) for m in found.messages],
            "turns": turns,
            "tickets": found.tickets,
            "attachments": list(attachments),
        }
    )
    return document


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, decimals as exact strings, containers walked."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
