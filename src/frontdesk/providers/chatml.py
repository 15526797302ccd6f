"""The ChatML prompt format of the embedded SmolLM2 model, as pure functions.

This mirrors the Jinja chat template stored in the GGUF file (a test renders
that template and compares). The prompt is built as *segments*: template text
(where ``<|im_start|>``/``<|im_end|>`` are special tokens) and message content
(always ordinary text, so a customer typing ``<|im_start|>system`` cannot forge
a turn). The provider tokenizes exactly these segments and feeds exactly those
tokens to the model, so prompt counts are exact by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.domain import ChatMessage

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    special: bool
    """True for template text, whose special-token markers are parsed."""


def chatml_segments(
    messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True
) -> list[Segment]:
    """The prompt as template/content segments (SmolLM2's template)."""
    segments: list[Segment] = []
    if not messages or messages[0].role != "system":
        segments.append(Segment(f"{IM_START}system\n{DEFAULT_SYSTEM}{IM_END}\n", special=True))
    for message in messages:
        segments.append(Segment(f"{IM_START}{message.role}\n", special=True))
        if message.content:
            segments.append(Segment(message.content, special=False))
        segments.append(Segment(f"{IM_END}\n", special=True))
    if add_generation_prompt:
        segments.append(Segment(f"{IM_START}assistant\n", special=True))
    return segments


def render_chatml(messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True) -> str:
    """The prompt as one string (what the Jinja template renders)."""
    return "".join(
        s.text for s in chatml_segments(messages, add_generation_prompt=add_generation_prompt)
    )
