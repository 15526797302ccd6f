"""Prompt reshaping shared by the Anthropic and Gemini dialects.

Both take the system prompt as a separate top-level field and want the
conversation as alternating user/assistant turns starting with the user.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from frontdesk.domain import ChatMessage

OPENING_PLACEHOLDER = "(The conversation starts.)"


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    images: tuple[str, ...] = ()
    """``data:`` URLs of the customer's images (vision endpoints only)."""


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
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        if turns and turns[-1].role == message.role:
            last = turns[-1]
            turns[-1] = Turn(
                message.role, last.text + "\n\n" + message.content, last.images + message.images
            )
        else:
            turns.append(Turn(message.role, message.content, message.images))
    if turns and turns[0].role == "assistant":
        turns.insert(0, Turn("user", OPENING_PLACEHOLDER))
    return "\n\n".join(system), turns
