"""Structure-following chunking: sections, then paragraphs, then sentences, then words.

Windows are measured in the embedder's tokens (``TokenCounter``) and overlap by whole
units (paragraphs, sentences or word groups), so a chunk never starts or ends mid-word.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from frontdesk.knowledge.documents import LoadedDocument, Section
from frontdesk.knowledge.embedding import TokenCounter

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40
    #: A section shorter than this is folded into the next section when that one is
    #: nested under it (a document's short introduction joins its first section).
    merge_below_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("overlap_tokens must be in [0, max_tokens / 2)")


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A chunk before it is stored: text plus everything a citation needs."""

    ordinal: int
    text: str
    section_path: tuple[str, ...]
    page: int | None
    anchor: str | None
    token_count: int
    content_hash: str

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    tokens: int
    joiner: str  # how this unit attaches to the previous one


def embedding_text(title: str, section: str, text: str) -> str:
    """What gets embedded and indexed: the chunk with its title and section for context."""
    head = f"{title} — {section}" if section else title
    return f"{head}\n\n{text}" if head else text


def _word_groups(text: str, counter: TokenCounter, limit: int) -> list[_Unit]:
    groups: list[_Unit] = []
    words: list[str] = []
    tokens = 0
    for word in text.split():
        n = counter.count_tokens(word)
        if words and tokens + n > limit:
            groups.append(_Unit(" ".join(words), tokens, " "))
            words, tokens = [], 0
        words.append(word)
        tokens += n
    if words:
        groups.append(_Unit(" ".join(words), tokens, " "))
    return groups


def _units(text: str, counter: TokenCounter, options: ChunkingOptions) -> list[_Unit]:
    """Paragraphs that fit; otherwise sentences; otherwise groups of whole words."""
    small = max(options.overlap_tokens, options.max_tokens // 4)
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        n = counter.count_tokens(paragraph)
        if n <= options.max_tokens:
            units.append(_Unit(paragraph, n, "\n\n"))
            continue
        first = True
        for sentence in _SENTENCE.split(paragraph):
            pieces = [_Unit(sentence, counter.count_tokens(sentence), " ")]
            if pieces[0].tokens > options.max_tokens:
                pieces = _word_groups(sentence, counter, small)
            for piece in pieces:
                units.append(_Unit(piece.text, piece.tokens, "\n\n" if first else piece.joiner))
                first = False
    return units


def _overlap(window: list[_Unit], budget: int) -> list[_Unit]:
    tail: list[_Unit] = []
    total = 0
    for unit in reversed(window):
        if total + unit.tokens > budget:
            break
        tail.insert(0, unit)
        total += unit.tokens
    return tail if len(tail) < len(window) else []


def _join(units: list[_Unit]) -> str:
    out = units[0].text
    for unit in units[1:]:
        out += unit.joiner + unit.text
    return out


def _windows(units: list[_Unit], options: ChunkingOptions) -> list[tuple[str, int]]:
    windows: list[tuple[str, int]] = []
    current: list[_Unit] = []
    fresh = 0  # units in ``current`` that are not overlap from the previous window
    for unit in units:
        size = sum(u.tokens for u in current)
        if current and size + unit.tokens > options.max_tokens and fresh:
            windows.append((_join(current), size))
            current = _overlap(current, options.overlap_tokens)
            while current and sum(u.tokens for u in current) + unit.tokens > options.max_tokens:
                current.pop(0)
            fresh = 0
        current.append(unit)
        fresh += 1
    if current and fresh:
        windows.append((_join(current), sum(u.tokens for u in current)))
    return windows


def _hash(title: str, section: Section, text: str) -> str:
    key = "\x1f".join([title, *section.heading_path, str(section.page or ""), text])
    return hashlib.sha256(key.encode()).hexdigest()


def _nests(section: Section, nxt: Section) -> bool:
    depth = len(section.heading_path)
    return (
        section.kind == nxt.kind == "text"
        and section.page == nxt.page
        and len(nxt.heading_path) > depth
        and nxt.heading_path[:depth] == section.heading_path
    )


def _fold_short_sections(
    sections: tuple[Section, ...], counter: TokenCounter, options: ChunkingOptions
) -> list[Section]:
    """Fold a short section into the next one when that one is nested under it."""
    out: list[Section] = []
    pending: str | None = None
    for i, section in enumerate(sections):
        if pending is not None:
            section = replace(section, text=f"{pending}\n\n{section.text}")
            pending = None
        nxt = sections[i + 1] if i + 1 < len(sections) else None
        short = counter.count_tokens(section.text) < options.merge_below_tokens
        if nxt is not None and short and _nests(section, nxt):
            pending = section.text
            continue
        out.append(section)
    return out


def chunk_document(
    document: LoadedDocument,
    counter: TokenCounter,
    options: ChunkingOptions | None = None,
) -> list[ChunkDraft]:
    options = options or ChunkingOptions()
    drafts: list[ChunkDraft] = []
    for section in _fold_short_sections(document.sections, counter, options):
        if section.kind == "qa":
            n = counter.count_tokens(section.text)
            windows = (
                [(section.text, n)]
                if n <= options.max_tokens
                else _windows(_units(section.text, counter, options), options)
            )
        else:
            windows = _windows(_units(section.text, counter, options), options)
        for text, tokens in windows:
            drafts.append(
                ChunkDraft(
                    ordinal=len(drafts),
                    text=text,
                    section_path=section.heading_path,
                    page=section.page,
                    anchor=section.anchor,
                    token_count=tokens,
                    content_hash=_hash(document.title, section, text),
                )
            )
    return drafts
