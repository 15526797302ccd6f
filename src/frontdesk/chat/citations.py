"""Citation markers in answers: find them, keep the valid ones, drop the rest."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from frontdesk.domain import Citation

# [1], [2], [1, 3], [1][2]; not Markdown links like [text](url)
_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\](?!\()")


@dataclass(frozen=True, slots=True)
class CitedAnswer:
    text: str
    """The answer with markers that point at no source removed."""
    citations: list[Citation]
    """The sources the answer cites, in order of first citation."""
    invalid: list[int]


def resolve_citations(text: str, sources: Mapping[int, Citation]) -> CitedAnswer:
    order: list[int] = []
    invalid: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        kept = [n for n in numbers if n in sources]
        for n in numbers:
            if n not in sources and n not in invalid:
                invalid.append(n)
        for n in kept:
            if n not in order:
                order.append(n)
        if not kept:
            return ""
        return "[" + ", ".join(str(n) for n in kept) + "]"

    cleaned = _MARKER.sub(replace, text)
    if invalid:
        cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
        cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return CitedAnswer(cleaned, [sources[n] for n in order], invalid)


def number_sources(citations: Sequence[Citation]) -> dict[int, Citation]:
    return {c.index: c for c in citations}
