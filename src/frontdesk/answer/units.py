"""A passage cut into the units an extractive answer can quote.

Sentences (segmented by spaCy's rule-based sentencizer, whose tokenizer keeps prices,
percentages, versions, e-mail addresses and URLs whole), list items, a numbered procedure as
one unit, a table row together with its header, and a FAQ answer without its "Q:"/"A:"
labels. Each unit keeps the passage's number (for its citation) and section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

UnitKind = Literal["sentence", "item", "steps", "row", "faq"]

_STEP = re.compile(r"^\s*\d{1,2}[.)]\s+\S")
_ITEM = re.compile(r"^\s*[-*•]\s+\S")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_FAQ = re.compile(r"^\s*Q:\s*(?P<q>.+?)\s*\n\s*A:\s*(?P<a>.+)$", re.DOTALL)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
MAX_STEPS = 10
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![\w*])")
_BARE_YES_NO = re.compile(r"^(?:yes|no)[.!]\s+(?=[A-Z])", re.IGNORECASE)

Segmenter = Callable[[str], list[str]]
"""Splits a paragraph into sentences."""


@dataclass(frozen=True, slots=True)
class Unit:
    source: int
    """The number of the passage it comes from (its citation)."""
    kind: UnitKind
    text: str
    """What is quoted."""
    context: str
    """What it is matched against besides its text: title, section, a FAQ's question."""
    position: int
    """Order within the passage."""
    block: int = 0
    """The paragraph, list or table of the passage it belongs to."""


def spacy_segmenter() -> Segmenter:
    """spaCy's rule-based sentencizer (no model download) with the protections of
    :mod:`frontdesk.text.sentences` (abbreviations, inline code, lower-case continuations)."""
    from frontdesk.text.sentences import SentenceSplitter

    return SentenceSplitter.load()


def units_of(source: int, title: str, section: str, text: str, segment: Segmenter) -> list[Unit]:
    context = f"{title} — {section}" if section else title
    faq = _FAQ.match(text.strip())
    if faq:
        # a bare "Yes."/"No." answers the FAQ's own question, not necessarily the one asked
        answer = _BARE_YES_NO.sub("", " ".join(faq.group("a").split()))
        return [Unit(source, "faq", tidy(answer), f"{context} {faq.group('q')}", 0)]
    out: list[Unit] = []
    for number, block in enumerate(_blocks(text)):
        out += [
            replace(u, block=number)
            for u in _block_units(source, context, block, segment, len(out))
        ]
    return [replace(u, text=tidy(u.text)) for u in out]


def tidy(text: str) -> str:
    """Markdown emphasis dropped and runs of spaces collapsed (line breaks kept)."""
    text = _EMPHASIS.sub(r"\2", _STRONG.sub(r"\2", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def _blocks(text: str) -> Iterable[list[str]]:
    """Paragraphs, list blocks and tables as lists of lines."""
    block: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if block:
                yield block
            block = []
            continue
        if _HEADING.match(line):
            continue
        block.append(line.rstrip())
    if block:
        yield block


def _block_units(
    source: int, context: str, lines: list[str], segment: Segmenter, start: int
) -> list[Unit]:
    if len(lines) >= 2 and all(_STEP.match(line) for line in lines):
        steps = "\n".join(line.strip() for line in lines[:MAX_STEPS])
        return [Unit(source, "steps", steps, context, start)]
    if any(line.lstrip().startswith("|") for line in lines):
        return _table_units(source, context, lines, start)
    if all(_ITEM.match(line) for line in lines):
        return [
            Unit(
                source,
                "item",
                _ITEM.sub(lambda m: m.group(0)[-1], line, count=1).strip(),
                context,
                start + i,
            )
            for i, line in enumerate(lines)
        ]
    paragraph = " ".join(line.strip() for line in lines)
    return [
        Unit(source, "sentence", sentence, context, start + i)
        for i, sentence in enumerate(segment(paragraph))
        if len(sentence) > 2
    ]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_units(source: int, context: str, lines: list[str], start: int) -> list[Unit]:
    rows = [line for line in lines if not _TABLE_RULE.match(line)]
    if not rows:
        return []
    header = _cells(rows[0])
    out = []
    for i, row in enumerate(rows[1:], start=1):
        cells = _cells(row)
        if len(cells) != len(header) or not cells[0]:
            continue
        pairs = ", ".join(f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=True) if c)
        out.append(
            Unit(source, "row", f"{cells[0]} — {pairs}", f"{context} {header[0]}", start + i)
        )
    return out
