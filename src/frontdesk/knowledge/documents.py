"""What loaders produce: a document split into structural sections, or a typed skip."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from urllib.parse import quote

SectionKind = Literal["text", "qa"]


class SkipReason(StrEnum):
    """Why a file was not ingested; the rest of an ingest carries on."""

    UNSUPPORTED = "unsupported_format"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    BINARY = "binary"
    NOT_UTF8 = "not_utf8"
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    UNREADABLE = "unreadable"


class DocumentSkipped(Exception):
    """Raised by a loader for bad input; carries a typed reason and a human detail."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path (or one page, or one FAQ row)."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    anchor: str | None = None
    kind: SectionKind = "text"


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    source: str
    title: str
    format: str
    sections: tuple[Section, ...]
    content_hash: str
    url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SLUG_DROP = re.compile(r"[^\w\- ]+", re.UNICODE)


def slugify(heading: str) -> str:
    """GitHub-style heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    return _SLUG_DROP.sub("", text).replace(" ", "-")


_WS = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines; keep paragraph breaks."""
    lines = [_WS.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def citation_url(document_id: str, anchor: str, conversation_id: str) -> str:
    """Where a customer opens a cited passage: the viewer checks that an assistant message
    of ``conversation_id`` cites ``document_id`` and shows the cited passages."""
    return (
        f"/kb/documents/{quote(document_id, safe='')}"
        f"?conversation={quote(conversation_id, safe='')}#{anchor}"
    )
