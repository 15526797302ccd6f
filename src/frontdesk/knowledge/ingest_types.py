"""Types shared by the ingestion entry points and the engine."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from frontdesk.knowledge.chunking import ChunkDraft

DocumentStatus = Literal["added", "updated", "unchanged", "skipped", "failed", "removed"]


@dataclass(frozen=True, slots=True)
class IngestProgress:
    done: int
    total: int
    source: str
    status: DocumentStatus
    chunks: int = 0


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    reason: str
    detail: str


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # chunks written for added/updated documents
    chunks_embedded: int = 0
    chunks_reused: int = 0
    skipped: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)

    @property
    def documents(self) -> int:
        """Documents now stored from this run (added + updated + unchanged)."""
        return self.added + self.updated + self.unchanged

    def describe(self) -> str:
        text = (
            f"{self.documents} documents ({self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed), {self.chunks} chunks written "
            f"({self.chunks_embedded} embedded, {self.chunks_reused} reused), "
            f"{len(self.skipped)} skipped, {len(self.failed)} failed"
        )
        problems = [*self.skipped, *self.failed]
        return text + "".join(f"\n  {p.source}: {p.reason}: {p.detail}" for p in problems)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    source: str  # stable identity within the collection


def new_document_id() -> str:
    """A random document id (128 bits). Never derived from the tenant, collection or file
    name: an id is not a secret to rely on, but it must not be guessable either."""
    return secrets.token_hex(16)


def chunk_id(doc_id: str, draft: ChunkDraft) -> str:
    return hashlib.sha256(f"{doc_id}:{draft.ordinal}:{draft.content_hash}".encode()).hexdigest()[
        :32
    ]
