"""Sentence segmentation that never cuts a fact in half.

spaCy's rule-based ``sentencizer`` on a blank English pipeline (no model download) does the
splitting; its tokenizer keeps prices ($1.50), percentages (99.9%), versions (v2.1), e-mail
addresses and URLs whole. On top of it:

- Markdown structure is kept: every list item (``-``, ``*``, ``1.``, ``2)``) with its wrapped
  continuation lines, every table row and every heading is one span of its own; table rules
  (``|---|``) and blank lines are not spans.
- A boundary is undone when nothing separates the two pieces (a dot inside a token), when it
  falls inside an inline code span, after a common abbreviation (e.g., i.e., approx., vs.,
  No.), or when the next piece starts with a lower-case letter ("etc. and more").

``SentenceSplitter.load()`` builds the pipeline (about a second, once); pass the splitter
around. ``split_sentences(text)`` without one uses a process-wide splitter built on first use
(never at import).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

Span = tuple[int, int]

_ITEM = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+\S")
_ROW = re.compile(r"[ \t]*\|")
_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-*:?[ \t]*)*\|?[ \t]*$")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+\S")
_CONTINUATION = re.compile(r"[ \t]{2,}\S")
_LAST_WORD = re.compile(r"(\S+)\s*$")
_ALWAYS_JOIN = frozenset(
    {
        *("e.g.", "i.e.", "eg.", "ie.", "approx.", "vs.", "cf.", "incl.", "excl.", "esp."),
        *("mr.", "mrs.", "ms.", "dr.", "st.", "fig.", "dept.", "ca.", "resp.", "ref.", "vol."),
        *("pp.", "u.s.", "u.k.", "e.u.", "jan.", "feb.", "apr.", "jun.", "jul.", "aug."),
        *("sep.", "sept.", "oct.", "nov.", "dec."),
    }
)
"""Abbreviations a sentence practically never ends with."""


class SentenceSplitter:
    """Character spans of the sentences (and Markdown units) of a text."""

    def __init__(self, nlp: Language) -> None:
        self._nlp = nlp

    @classmethod
    def load(cls) -> SentenceSplitter:
        import spacy

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return cls(nlp)

    def spans(self, text: str) -> list[Span]:
        out: list[Span] = []
        for start, end, structural in _blocks(text):
            if structural:
                out.append(_trim(text, start, end))
            else:
                out += self._paragraph(text, start, end)
        return [s for s in out if s[1] > s[0]]

    def sentences(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.spans(text)]

    __call__ = sentences

    def _paragraph(self, text: str, start: int, end: int) -> list[Span]:
        chunk = text[start:end]
        pieces = [_trim(chunk, s.start_char, s.end_char) for s in self._nlp(chunk).sents]
        pieces = [p for p in pieces if p[1] > p[0]]
        merged: list[Span] = []
        for piece in pieces:
            if merged and _joins(chunk, merged[-1], piece):
                merged[-1] = (merged[-1][0], piece[1])
            else:
                merged.append(piece)
        return [(start + a, start + b) for a, b in _after_citations(chunk, merged)]


_CITED_END = re.compile(r"[.!?]\s*(?:\[\d{1,3}\]\s*)+(?=\S)")
"""A sentence end followed by its citations ("… 5 MB. [1] The link …"): the markers end it."""


def _after_citations(text: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in spans:
        cut = a
        for m in _CITED_END.finditer(text, a, b):
            nxt = text[m.end()]
            if nxt.isupper() or nxt.isdigit() or nxt in "\"'(":
                out.append(_trim(text, cut, m.end()))
                cut = m.end()
        out.append(_trim(text, cut, b))
    return [s for s in out if s[1] > s[0]]


def _joins(text: str, prev: Span, nxt: Span) -> bool:
    gap = text[prev[1] : nxt[0]]
    if not gap or not gap.isspace():
        return True  # the cut is inside a token: "$1.|50", "northwinddata.|example"
    if text[: prev[1]].count("`") % 2:
        return True  # inside inline code
    first = text[nxt[0]]
    if first.islower():
        return True
    m = _LAST_WORD.search(text, prev[0], prev[1])
    last = m.group(1).lower().lstrip("(\"'") if m else ""
    if last in ("no.", "nos.", "nr.") and first.isdigit():
        return True  # "No. 5"
    return last in _ALWAYS_JOIN


def _trim(text: str, a: int, b: int) -> Span:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _lines(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)


def _blocks(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, structural): paragraphs, and list items/rows/headings as their own blocks."""
    open_block: tuple[int, int, bool] | None = None
    for a, b in _lines(text):
        line = text[a:b]
        if not line.strip() or (_RULE.match(line) and "-" in line and "|" in line):
            if open_block:
                yield open_block
            open_block = None
            continue
        if _HEADING.match(line) or _ROW.match(line):
            if open_block:
                yield open_block
            open_block = None
            yield a, b, True
            continue
        if _ITEM.match(line):
            if open_block:
                yield open_block
            open_block = (a, b, True)
            continue
        if open_block and (not open_block[2] or _CONTINUATION.match(line)):
            open_block = (open_block[0], b, open_block[2])
            continue
        if open_block:
            yield open_block
        open_block = (a, b, False)
    if open_block:
        yield open_block


@functools.cache
def default_splitter() -> SentenceSplitter:
    """The process-wide splitter for callers that hold none (built on first use)."""
    return SentenceSplitter.load()


def split_sentences(text: str, splitter: SentenceSplitter | None = None) -> list[Span]:
    """Character spans of ``text``'s sentences, list items, table rows and headings."""
    return (splitter or default_splitter()).spans(text)
