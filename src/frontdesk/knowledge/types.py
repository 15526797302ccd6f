"""Value types shared by stores, ingestion and retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Vector: TypeAlias = "npt.NDArray[np.float32]"
"""An embedding (a string alias: numpy is not imported with the types)."""
DuplicatePolicy = Literal["overwrite", "skip", "fail"]


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Every search and delete is scoped to one tenant and one collection."""

    tenant: str
    collection: str
    document_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.tenant or not self.collection:
            raise ValueError("a search filter needs a tenant and a collection")


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: str
    tenant: str
    collection: str
    document_id: str
    ordinal: int
    text: str
    title: str
    section: str
    source: str
    content_hash: str
    url: str | None = None
    page: int | None = None
    anchor: str | None = None
    token_count: int = 0

    @property
    def link(self) -> str:
        """Where a citation points: the document URL (or source) plus the anchor."""
        base = self.url or self.source
        return f"{base}#{self.anchor}" if self.anchor else base


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    chunk: StoredChunk
    score: float


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: str
    tenant: str
    collection: str
    source: str
    title: str
    format: str
    content_hash: str
    chunk_count: int = 0
    url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    tenant: str
    collection: str
    model_id: str
    dimensions: int
    generation: int
