"""Prompt reshaping shared by the Anthropic and Gemini dialects.

Both take the system prompt as a separate top-level field and want the
conversation as alternating user/assistant turns starting with the user.

Tool calling: an assistant message's ``tool_calls`` stay on its turn; a
``role="tool"`` result becomes a :class:`ToolResult` of the *user* turn that
follows the call (both vendors send results from the user side), named after the
call it answers (Gemini's ``functionResponse`` needs the function's name).
Results of parallel calls, and a user message right after them, share one turn.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from frontdesk.domain import ChatMessage, ToolCall
from frontdesk.errors import ProviderBadRequest

OPENING_PLACEHOLDER = "(The conversation starts.)"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's result, answering the call ``call_id`` of tool ``name``."""

    call_id: str
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    images: tuple[str, ...] = ()
    """``data:`` URLs of the customer's images (vision endpoints only)."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Calls the assistant made in this turn."""
    tool_results: tuple[ToolResult, ...] = ()
    """Results sent back in this (user) turn, before its text."""


_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)


def decode_image(url: str) -> tuple[str, bytes]:
    """Media type and bytes of a ``data:`` image URL (the media package made it; a malformed
    one is a bug, not customer input)."""
    m = _DATA_URL.match(url)
    if m is None:
        raise ValueError("not a base64 data: image URL")
    try:
        return m.group(1).lower(), base64.b64decode(m.group(2), validate=True)
    except binascii.Error as exc:
        raise ValueError("the image's base64 is damaged") from exc


def split_system(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """System text (all system messages, in order, joined by a blank line) and the
    turns with consecutive same-role messages merged the same way.

    A conversation that opens with the assistant (a bot greeting) gets a short
    placeholder user turn first, since both vendors require a user turn first.
    """
    system: list[str] = []
    turns: list[Turn] = []
    names: dict[str, str] = {}
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        turn = _turn(message, names)
        names.update((c.id, c.name) for c in message.tool_calls)
        if turns and turns[-1].role == turn.role:
            turns[-1] = _merge(turns[-1], turn)
        else:
            turns.append(turn)
    if turns and turns[0].role == "assistant":
        turns.insert(0, Turn("user", OPENING_PLACEHOLDER))
    return "\n\n".join(system), turns


def _turn(message: ChatMessage, names: dict[str, str]) -> Turn:
    if message.role == "tool":
        call_id = message.tool_call_id or ""
        name = names.get(call_id)
        if name is None:
            raise ProviderBadRequest(
                f"tool result for call {call_id!r}, which no earlier assistant message made"
            )
        return Turn("user", "", tool_results=(ToolResult(call_id, name, message.content),))
    role: Literal["user", "assistant"] = "assistant" if message.role == "assistant" else "user"
    return Turn(role, message.content, message.images, message.tool_calls)


def _merge(first: Turn, second: Turn) -> Turn:
    return Turn(
        first.role,
        "\n\n".join(t for t in (first.text, second.text) if t),
        first.images + second.images,
        first.tool_calls + second.tool_calls,
        first.tool_results + second.tool_results,
    )
