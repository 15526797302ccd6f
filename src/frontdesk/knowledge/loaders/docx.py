"""DOCX: paragraphs and tables in document order; Heading styles open sections."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
    slugify,
    tidy,
)
from frontdesk.knowledge.loaders.limits import ParseLimits, check_zip


def _heading_level(paragraph: Paragraph) -> int | None:
    style = paragraph.style
    name = (style.name if style is not None else "") or ""
    if name == "Title":
        return 0
    if name.startswith("Heading "):
        digits = name.removeprefix("Heading ").strip()
        return int(digits) if digits.isdigit() else None
    return None


def _open(data: bytes, limits: ParseLimits) -> Any:
    if not data.startswith(b"PK"):
        raise DocumentSkipped(SkipReason.CORRUPT, "not a DOCX (not a zip archive)")
    check_zip(data, limits)
    try:
        return docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DocumentSkipped(SkipReason.CORRUPT, f"unreadable DOCX: {exc}") from exc
    except Exception as exc:  # python-docx raises assorted lxml/opc errors on bad packages
        raise DocumentSkipped(SkipReason.CORRUPT, f"unreadable DOCX: {exc}") from exc


def load_docx(
    data: bytes, source: str, stem: str, limits: ParseLimits | None = None
) -> LoadedDocument:
    document = _open(data, limits or ParseLimits())
    title = (document.core_properties.title or "").strip()
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    anchor: str | None = None
    buffer: list[str] = []

    def flush() -> None:
        text = tidy("\n\n".join(buffer))
        buffer.clear()
        if text:
            heading_path = tuple(t for lvl, t in path if lvl > 0 and t != title)
            sections.append(Section(text=text, heading_path=heading_path, anchor=anchor))

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                line = " | ".join(c for c in cells if c)
                if line:
                    buffer.append(line)
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block)
        if level is None:
            prefix = "- " if (block.style is not None and "List" in block.style.name) else ""
            buffer.append(prefix + text)
            continue
        flush()
        if level == 0 or (level == 1 and not title):
            title = title or text
        path = [p for p in path if p[0] < level] + [(level, text)]
        anchor = slugify(text)
    flush()
    if not sections:
        raise DocumentSkipped(SkipReason.EMPTY, "DOCX has no text")
    return LoadedDocument(
        source=source,
        title=title or stem,
        format="docx",
        sections=tuple(sections),
        content_hash=content_hash(data),
    )
