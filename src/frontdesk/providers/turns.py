"""Prompt reshaping shared by the Anthropic and Gemini dialects.

Both take the system prompt as a separate top-level field and want the
conversation as alternating user/assistant turns starting with the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from frontdesk.domain import ChatMessage

OPENING_PLACEHOLDER = "(The conversation starts.)"


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


def split_system(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """System text (all system messages, in order, joined by a blank line) and the
    turns with consecutive same-role messages merged the same way.

    A conversation that opens with the assistant (a bot greeting) gets a short
    placeholder user turn first, since both vendors require a user turn first.
    """
    system: list[str] = []
    turns: list[Turn] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        if turns and turns[-1].role == message.role:
            turns[-1] = Turn(message.role, turns[-1].text + "\n\n" + message.content)
        else:
            turns.append(Turn(message.role, message.content))
    if turns and turns[0].role == "assistant":
        turns.insert(0, Turn("user", OPENING_PLACEHOLDER))
    return "\n\n".join(system), turns
