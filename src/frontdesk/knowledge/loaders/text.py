"""Plain text, and the byte checks every text-based loader shares."""

from __future__ import annotations

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
    tidy,
)

_SNIFF = 8192


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or a typed skip; NUL bytes mean binary."""
    if b"\x00" in data[:_SNIFF]:
        raise DocumentSkipped(SkipReason.BINARY, "contains NUL bytes; not a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentSkipped(
            SkipReason.NOT_UTF8, f"not valid UTF-8 (byte {exc.start}); convert it to UTF-8"
        ) from exc
    if not text.strip():
        raise DocumentSkipped(SkipReason.EMPTY, "no text")
    return text


def load_text(data: bytes, source: str, stem: str) -> LoadedDocument:
    text = tidy(decode_text(data))
    first = text.split("\n", 1)[0].strip()
    title = first if 0 < len(first) <= 120 else stem
    return LoadedDocument(
        source=source,
        title=title,
        format="text",
        sections=(Section(text=text),),
        content_hash=content_hash(data),
    )
