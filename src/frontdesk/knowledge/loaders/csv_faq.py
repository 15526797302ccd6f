"""CSV FAQ: one question-answer pair per row, never split across chunks."""

from __future__ import annotations

import csv
import io

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
)
from frontdesk.knowledge.loaders.text import decode_text

_QUESTION = ("question", "q", "faq", "title", "prompt")
_ANSWER = ("answer", "a", "response", "reply", "body")
_CATEGORY = ("category", "section", "topic")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def load_csv(data: bytes, source: str, stem: str) -> LoadedDocument:
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise DocumentSkipped(SkipReason.CORRUPT, f"malformed CSV: {exc}") from exc
    if not rows:
        raise DocumentSkipped(SkipReason.EMPTY, "CSV has no rows")
    header = rows[0]
    q_col, a_col = _column(header, _QUESTION), _column(header, _ANSWER)
    c_col = _column(header, _CATEGORY)
    if q_col is None or a_col is None:
        if len(header) < 2:
            raise DocumentSkipped(SkipReason.CORRUPT, "CSV FAQ needs question and answer columns")
        q_col, a_col, c_col, body = 0, 1, None, rows
    else:
        body = rows[1:]
    sections = []
    for number, row in enumerate(body, start=1):
        question = row[q_col].strip() if q_col < len(row) else ""
        answer = row[a_col].strip() if a_col < len(row) else ""
        if not question or not answer:
            continue
        category = row[c_col].strip() if c_col is not None and c_col < len(row) else ""
        path = (category, question) if category else (question,)
        sections.append(
            Section(
                text=f"Q: {question}\nA: {answer}",
                heading_path=path,
                anchor=f"row-{number}",
                kind="qa",
            )
        )
    if not sections:
        raise DocumentSkipped(SkipReason.EMPTY, "CSV has no complete question-answer rows")
    return LoadedDocument(
        source=source,
        title=stem.replace("_", " ").replace("-", " ").strip().title() or source,
        format="csv",
        sections=tuple(sections),
        content_hash=content_hash(data),
    )
