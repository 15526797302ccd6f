"""How the injection models cut a text into the pieces they judge one by one.

An instruction appended to a harmless question, or hidden on one line of an e-mail, in one
cell of a table or in one comment of a code snippet, is scored on its own rather than
averaged away by the text around it.

Messages are cut into sentences. Documents are cut into lines, then sentences; a table row
into its cells; and code is context, not text: lines inside code fences (or that look like
code) are not judged themselves, only the comments and string literals written in words on
them, where an instruction aimed at an assistant would hide.
"""

from __future__ import annotations

import re
from typing import Literal

PieceMode = Literal["sentences", "lines"]
Shape = Literal["email", "table", "code", "prose"]
SHAPES: tuple[Shape, ...] = ("email", "table", "code", "prose")
MAX_PIECES = 24
"""At most this many pieces per message (longer texts have neighbouring pieces merged), which
bounds the latency of one check."""
MAX_DOC_PIECES = 64
"""At most this many pieces per document (documents are screened once and cached)."""
DOC_WINDOW_WORDS = 60

_SENTENCE_BREAK = re.compile(r"(?<=[.!?:;])\s+|\n+")
_DOC_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_START = re.compile(
    r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b|def\s+\w+\s*\(|class\s+\w+[:(]|return\b"
    r"|(el)?if\s.*:\s*$|else\s*:|for\s.*:\s*$|while\s.*:\s*$|with\s.*:\s*$|try\s*:|except\b"
    r"|@\w+|>>>|\.\.\.\s|\$\s|#include\b|(public|private|static|const|let|var|function)\s"
    r"|[\w.\[\]'\"]+\s*(=|\+=|-=)\s*\S|[\w.]+\([^)]*\)\s*;?\s*$|[{}()\[\]]+[;,]?\s*$)"
)
_COMMENT = re.compile(r"(?:^|\s)(?:#|//|--)\s?(.+)$|/\*(.+?)\*/")
_STRING = re.compile(r"\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
_CELL_SPLIT = re.compile(r"\s*\|\s*")
_CODE_CHARS = set("=()[]{};<>_*/\\")


def split_sentences(text: str) -> list[str]:
    """Sentence-ish pieces of ``text`` (on . ! ? : ; and line breaks); one piece means none."""
    pieces = [p.strip() for p in _SENTENCE_BREAK.split(text) if p and len(p.strip()) > 1]
    return pieces or [text]


def looks_like_code(line: str) -> bool:
    """A line of source code rather than prose: a statement's shape, or mostly symbols."""
    stripped = line.strip()
    if not stripped:
        return False
    if _CODE_START.match(stripped):
        return True
    symbols = sum(ch in _CODE_CHARS for ch in stripped)
    words = len(_WORD.findall(stripped))
    return symbols >= 3 and symbols > words


def has_code(text: str) -> bool:
    """Whether a document holds code (a fence or a line of code): its prose is then mostly
    advice about the code, and the document model judges it against its own threshold."""
    return any(_FENCE.match(line) or looks_like_code(line) for line in text.split("\n"))


_HEADER = re.compile(
    r"(?:^|\n|\|)\s*(subject|from|to|cc|bcc|date|sent|reply-to|email_from|received date)\s*:",
    re.IGNORECASE,
)
_SALUTATION = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n,]{0,40},", re.I
)
EMAIL_HEADER_CHARS = 600
"""E-mail headers are looked for in this many leading characters."""


def looks_like_email(text: str) -> bool:
    """An e-mail: two different header fields (``Subject:``, ``From:``, ``Date:``...) near
    the start, on their own lines or ``|``-separated as BIPIA writes them, or a salutation
    (``Hi David,``, ``Dear team,``) opening it."""
    head = text[:EMAIL_HEADER_CHARS]
    found = {m.group(1).lower() for m in _HEADER.finditer(head)}
    return len(found) >= 2 or bool(_SALUTATION.match(head))


def looks_like_table(text: str) -> bool:
    """A table: at least two rows of cells (``| a | b |``), and rows are at least half of
    the non-empty lines."""
    lines = [line for line in text.split("\n") if line.strip()]
    rows = sum(1 for line in lines if line.count("|") >= 2)
    return rows >= 2 and 2 * rows >= len(lines)


def document_shape(text: str) -> Shape:
    """What kind of document a text looks like (its shape, not its source): an e-mail, a
    table, something holding code, or prose. The document model has a threshold per shape,
    since clean text of each shape looks like an instruction to a different degree (a help
    page is full of imperatives, a table or an e-mail hardly any)."""
    if looks_like_email(text):
        return "email"
    if looks_like_table(text):
        return "table"
    if has_code(text):
        return "code"
    return "prose"


def _wordy(text: str, min_words: int = 3) -> bool:
    return len(_WORD.findall(text)) >= min_words


def code_words(line: str) -> list[str]:
    """What is written in words on a line of code: its comment and long string literals."""
    out: list[str] = []
    for m in _STRING.finditer(line):
        value = (m.group(1) or m.group(2) or "").strip()
        if len(value) >= 12 and _wordy(value) and len(value.split()) >= 3:
            out.append(value)
    for m in _COMMENT.finditer(_STRING.sub('""', line)):
        value = (m.group(1) or m.group(2) or "").strip()
        if _wordy(value):
            out.append(value)
    return out


def _prose_pieces(line: str, max_words: int) -> list[str]:
    out: list[str] = []
    for sentence in _DOC_SENTENCE.split(line):
        words = sentence.split()
        for i in range(0, len(words), max_words):
            piece = " ".join(words[i : i + max_words])
            if len(piece) > 2:
                out.append(piece)
    return out


def _cells(line: str) -> list[str] | None:
    """The cells of a table row (``| a | b |``), or None for a line that is not one."""
    if line.count("|") < 2:
        return None
    return [c for c in _CELL_SPLIT.split(line.strip().strip("|")) if c]


def document_pieces(
    text: str, max_words: int = DOC_WINDOW_WORDS, *, code: bool = True
) -> list[str]:
    """The prose of a document, piece by piece: each line cut into sentences and windows of
    ``max_words`` words; table rows into their cells of three words or more; code lines into
    their comments and string literals (none with ``code`` off). Fences and near-empty lines
    are skipped."""
    out: list[str] = []
    fenced = False
    for raw in text.split("\n"):
        line = raw.strip()
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if len(line) < 3:
            continue
        if fenced or looks_like_code(line):
            out += code_words(line) if code else []
            continue
        cells = _cells(line)
        if cells is not None:
            out += [p for c in cells if _wordy(c) for p in _prose_pieces(c, max_words)]
            continue
        out += _prose_pieces(line, max_words)
    return out


def _cap(pieces: list[str], limit: int) -> list[str]:
    if len(pieces) <= limit:
        return pieces
    size = -(-len(pieces) // limit)
    return [" ".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


def has_letter(text: str) -> bool:
    """Whether ``text`` holds a letter of any script (not only digits, marks and symbols)."""
    return any(ch.isalpha() for ch in text)


def pieces_of(text: str, mode: PieceMode = "sentences") -> list[str]:
    """The pieces a text is scored on besides its whole (none when it is one piece).

    Messages (``sentences``): its sentences, without those holding no letter at all
    ("(3.7)", "```", "1."): no word of an instruction is in them, the whole message still
    holds them, and embedding one is a model run's worth of padding (on the datasets, 101
    of 4,019 pieces of 2,171 messages, none ever a message's highest score). Documents
    (``lines``): its prose pieces."""
    if mode == "lines":
        return _cap(document_pieces(text), MAX_DOC_PIECES)
    found = split_sentences(text)
    if len(found) <= 1 and found[0].strip() == text.strip():
        return []
    return [p for p in _cap(found, MAX_PIECES) if has_letter(p)]
