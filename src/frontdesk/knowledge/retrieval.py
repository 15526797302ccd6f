"""Hybrid retrieval: lexical and vector candidates fused by reciprocal rank fusion."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from frontdesk.domain import Citation
from frontdesk.knowledge.embedding import EmbeddingProvider
from frontdesk.knowledge.errors import EmbeddingMismatch
from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.types import ScoredChunk, SearchFilter, StoredChunk

Mode = Literal["hybrid", "vector", "lexical"]


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    top_k: int = 5
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 60
    #: A query whose best vector similarity is below this finds nothing ("no answer").
    #: Hits known to be below it are dropped too. 0.3 suits all-MiniLM-L6-v2.
    min_similarity: float = 0.3
    snippet_chars: int = 300


@dataclass(frozen=True, slots=True)
class RetrievedChunk:
    chunk: StoredChunk
    score: float  # fused score (RRF), or the single retriever's score
    vector_score: float | None
    lexical_score: float | None

    @property
    def document_id(self) -> str:
        return self.chunk.document_id

    def snippet(self, limit: int = 300) -> str:
        return make_snippet(self.chunk.text, limit)

    def citation(self, index: int, snippet_chars: int = 300) -> Citation:
        return Citation(
            index=index,
            chunk_id=self.chunk.id,
            document_id=self.chunk.document_id,
            title=self.chunk.title,
            section=self.chunk.section,
            snippet=self.snippet(snippet_chars),
            url=self.chunk.link,
        )


def make_snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def rrf_fuse(rankings: list[list[ScoredChunk]], k: int = 60) -> list[tuple[StoredChunk, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank)."""
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + 1.0 / (k + rank)
            chunks[hit.chunk.id] = hit.chunk
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(chunks[cid], score) for cid, score in ordered]


class Retriever:
    """What the chat pipeline calls: ``await retriever.retrieve(query)``."""

    def __init__(
        self,
        store: KnowledgeStore,
        embedder: EmbeddingProvider,
        *,
        collection: str = "default",
        tenant: str = "default",
        options: RetrievalOptions | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.where = SearchFilter(tenant, collection)
        self.options = options or RetrievalOptions()

    def _check_model(self) -> bool:
        info = self.store.collection_info(self.where.tenant, self.where.collection)
        if info is None:
            return False
        current = (self.embedder.model_id, self.embedder.dimensions)
        if (info.model_id, info.dimensions) != current:
            raise EmbeddingMismatch(
                tenant=info.tenant,
                collection=info.collection,
                stored=(info.model_id, info.dimensions),
                current=current,
            )
        return True

    async def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: Mode = "hybrid",
        where: SearchFilter | None = None,
        apply_threshold: bool = True,
    ) -> list[RetrievedChunk]:
        """Top-k chunks above the relevance threshold; [] means "nothing relevant"."""
        where = where or self.where
        k = k or self.options.top_k
        if not query.strip() or not await asyncio.to_thread(self._check_model):
            return []
        n = max(self.options.candidates, k)
        vector_hits: list[ScoredChunk] = []
        lexical_hits: list[ScoredChunk] = []
        if mode in ("hybrid", "vector"):
            vector = (await self.embedder.embed([query], "query"))[0]
            vector_hits = await asyncio.to_thread(self.store.search_vector, vector, where, n)
        if mode in ("hybrid", "lexical"):
            lexical_hits = await asyncio.to_thread(self.store.search_lexical, query, where, n)
        return self._combine(mode, vector_hits, lexical_hits, k, apply_threshold)

    def _combine(
        self,
        mode: Mode,
        vector_hits: list[ScoredChunk],
        lexical_hits: list[ScoredChunk],
        k: int,
        apply_threshold: bool,
    ) -> list[RetrievedChunk]:
        threshold = self.options.min_similarity
        vec = {h.chunk.id: h.score for h in vector_hits}
        lex = {h.chunk.id: h.score for h in lexical_hits}
        weak = not vector_hits or vector_hits[0].score < threshold
        if apply_threshold and mode != "lexical" and weak:
            return []
        if mode == "vector":
            fused = [(h.chunk, h.score) for h in vector_hits]
        elif mode == "lexical":
            fused = [(h.chunk, h.score) for h in lexical_hits]
        else:
            fused = rrf_fuse([vector_hits, lexical_hits], self.options.rrf_k)
        out: list[RetrievedChunk] = []
        for chunk, score in fused:
            similarity = vec.get(chunk.id)
            if apply_threshold and similarity is not None and similarity < threshold:
                continue
            out.append(RetrievedChunk(chunk, score, similarity, lex.get(chunk.id)))
            if len(out) == k:
                break
        return out

    def citations(self, hits: list[RetrievedChunk]) -> list[Citation]:
        """Numbered citations [1..n] in the order the sources go into the prompt."""
        return [h.citation(i, self.options.snippet_chars) for i, h in enumerate(hits, start=1)]
