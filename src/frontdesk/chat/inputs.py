"""What a turn's answer was made from, as stored on its turn record for ``frontdesk replay``.

Only text that is already stored elsewhere goes in: the prompt is built from the system
prompt, the stored summary and messages (PII-redacted before they were stored) and the
retrieved passages; a customer's images are kept as a count, never as bytes, and the raw
values the input guard redacted (``InputResult.user_values``) are never recorded.

Shapes (``version`` 1), by ``kind``:

* ``generative``: ``messages`` (role, content, images, tool calls as sent), ``canary``,
  ``question``, ``sources`` and ``citations``;
* ``extractive``: ``question`` (the standalone question), ``history_hint``, ``sources``,
  ``citations``;
* ``no_answer``, ``memory``, ``refusal``: nothing else (the answer is the policy's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Literal

from frontdesk.chat.prompt import Source
from frontdesk.domain import ChatMessage, Citation, ToolCall

INPUTS_VERSION = 1
Kind = Literal["generative", "extractive", "no_answer", "memory", "refusal", "action"]
"""``action``: answered from an action's result (the company API is not called again on replay)."""


def policy_inputs(kind: Kind) -> dict[str, Any]:
    return {"version": INPUTS_VERSION, "kind": kind}


def generative_inputs(
    messages: Sequence[ChatMessage],
    *,
    canary: str | None,
    question: str,
    sources: Sequence[Source],
    citations: Mapping[int, Citation],
) -> dict[str, Any]:
    return {
        **policy_inputs("generative"),
        "messages": [message_record(m) for m in messages],
        "canary": canary,
        "question": question,
        "sources": [asdict(s) for s in sources],
        "citations": [asdict(c) for _, c in sorted(citations.items())],
    }


def extractive_inputs(
    question: str,
    history_hint: str | None,
    *,
    sources: Sequence[Source],
    citations: Mapping[int, Citation],
) -> dict[str, Any]:
    return {
        **policy_inputs("extractive"),
        "question": question,
        "history_hint": history_hint,
        "sources": [asdict(s) for s in sources],
        "citations": [asdict(c) for _, c in sorted(citations.items())],
    }


def message_record(message: ChatMessage) -> dict[str, Any]:
    """A prompt message as JSON: images as a count (their bytes are not kept here)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        out["images"] = len(message.images)
    if message.tool_calls:
        out["tool_calls"] = [asdict(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def messages_of(inputs: Mapping[str, Any]) -> list[ChatMessage]:
    """The recorded prompt messages (without images: replays send the text read from them)."""
    return [
        ChatMessage(
            role=m["role"],
            content=m["content"],
            tool_calls=tuple(ToolCall(**c) for c in m.get("tool_calls", ())),
            tool_call_id=m.get("tool_call_id"),
        )
        for m in inputs.get("messages", ())
    ]


def sources_of(inputs: Mapping[str, Any]) -> list[Source]:
    return [Source(**s) for s in inputs.get("sources", ())]


def citations_of(inputs: Mapping[str, Any]) -> dict[int, Citation]:
    return {c["index"]: Citation(**c) for c in inputs.get("citations", ())}
