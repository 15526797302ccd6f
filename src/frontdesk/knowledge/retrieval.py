"""Hybrid retrieval: BM25F and vector candidates, score-normalised fusion at document level.

A long message is also split into sentence-sized segments (sub-queries): each is embedded
(one embedding call for the whole query and its segments) and searched, and the fusion sums
what each segment finds (``fusion``). ``retrieve_report`` returns the hits with the time each
stage took, for the turn record and traces.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from frontdesk.domain import Citation
from frontdesk.knowledge.analysis import LONG_QUERY_WORDS, segments
from frontdesk.knowledge.embedding import EmbeddingProvider, SyncEmbeddingProvider
from frontdesk.knowledge.errors import EmbeddingMismatch
from frontdesk.knowledge.fusion import FusedChunk, FusionParams, fuse
from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.types import ScoredChunk, SearchFilter, StoredChunk

Mode = Literal["hybrid", "vector", "lexical"]


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    top_k: int = 5
    candidates: int = 30  # per retriever, before fusion
    #: A query whose best vector similarity is below this finds nothing ("no answer").
    #: Hits known to be below it are dropped too. 0.3 suits all-MiniLM-L6-v2.
    min_similarity: float = 0.3
    #: Below ``min_similarity`` a hit still stays when its lexical score is at least this
    #: share of the best lexical score (the words match though the meaning vector is far).
    lexical_keep: float = 0.7
    snippet_chars: int = 300
    #: Fusion (fitted on the support_kb development queries, see BENCHMARKS.md).
    lexical_weight: float = 0.7
    similarity_floor: float = 0.3
    #: Messages of at least this many words are also searched segment by segment.
    long_query_words: int = LONG_QUERY_WORDS
    max_segments: int = 32
    segment_candidates: int = 10

    @property
    def fusion(self) -> FusionParams:
        return FusionParams(self.lexical_weight, self.similarity_floor)


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


@dataclass(frozen=True, slots=True)
class RetrievalReport:
    """Hits plus what it took: milliseconds per stage and how many sub-queries."""

    hits: list[RetrievedChunk]
    timings_ms: dict[str, float] = field(default_factory=dict)
    segments: int = 0


class _Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}

    def since(self, name: str, t0: float) -> None:
        self.marks[name] = round((time.perf_counter() - t0) * 1000, 3)

    def done(self) -> dict[str, float]:
        self.since("total", self.start)
        return self.marks


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

    def sub_queries(self, query: str) -> list[str]:
        """The segments a long query is also searched by ([] for a short one)."""
        if len(query.split()) < self.options.long_query_words:
            return []
        return segments(query)[: self.options.max_segments]

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
        report = await self.retrieve_report(
            query, k=k, mode=mode, where=where, apply_threshold=apply_threshold
        )
        return report.hits

    @property
    def embeds_in_thread(self) -> bool:
        """Whether the embedder embeds in the calling thread (the local model, the test
        embedder): the whole retrieval then runs in one worker thread."""
        return isinstance(self.embedder, SyncEmbeddingProvider)

    async def retrieve_report(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: Mode = "hybrid",
        where: SearchFilter | None = None,
        apply_threshold: bool = True,
    ) -> RetrievalReport:
        """``retrieve`` with the milliseconds of each stage (embed, vector, lexical, fuse)."""
        if self.embeds_in_thread:  # one hand-off to a thread, not one per stage
            return await asyncio.to_thread(
                self.retrieve_report_sync,
                query,
                k=k,
                mode=mode,
                where=where,
                apply_threshold=apply_threshold,
            )
        where, k, n = self._sizes(where, k)
        clock = _Clock()
        if not query.strip() or not await asyncio.to_thread(self._check_model):
            return RetrievalReport([], clock.done())
        subs = self.sub_queries(query) if mode != "lexical" else []
        vector_lists: list[list[ScoredChunk]] = []
        lexical_hits: list[ScoredChunk] = []

        async def vector_side() -> None:
            t0 = time.perf_counter()
            vectors = await self.embedder.embed([query, *subs], "query")
            clock.since("embed", t0)
            t1 = time.perf_counter()
            vector_lists.extend(await asyncio.to_thread(self._search_vectors, vectors, where, n))
            clock.since("vector", t1)

        async def lexical_side() -> None:
            t0 = time.perf_counter()
            lexical_hits.extend(await asyncio.to_thread(self.store.search_lexical, query, where, n))
            clock.since("lexical", t0)

        sides = []
        if mode in ("hybrid", "vector"):
            sides.append(vector_side())
        if mode in ("hybrid", "lexical"):
            sides.append(lexical_side())
        await asyncio.gather(*sides)
        t0 = time.perf_counter()
        hits = self._combine(mode, vector_lists, lexical_hits, k, apply_threshold)
        clock.since("fuse", t0)
        return RetrievalReport(hits, clock.done(), len(subs))

    def retrieve_report_sync(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: Mode = "hybrid",
        where: SearchFilter | None = None,
        apply_threshold: bool = True,
    ) -> RetrievalReport:
        """:meth:`retrieve_report` in the calling thread (the embedder must have
        ``embed_sync``): the same stages one after the other, for a caller already in a
        worker thread."""
        embedder = self.embedder
        if not isinstance(embedder, SyncEmbeddingProvider):
            raise TypeError(f"{type(embedder).__name__} does not embed synchronously")
        where, k, n = self._sizes(where, k)
        clock = _Clock()
        if not query.strip() or not self._check_model():
            return RetrievalReport([], clock.done())
        subs = self.sub_queries(query) if mode != "lexical" else []
        vector_lists: list[list[ScoredChunk]] = []
        lexical_hits: list[ScoredChunk] = []
        if mode in ("hybrid", "vector"):
            t0 = time.perf_counter()
            vectors = embedder.embed_sync([query, *subs], "query")
            clock.since("embed", t0)
            t1 = time.perf_counter()
            vector_lists = self._search_vectors(vectors, where, n)
            clock.since("vector", t1)
        if mode in ("hybrid", "lexical"):
            t0 = time.perf_counter()
            lexical_hits = self.store.search_lexical(query, where, n)
            clock.since("lexical", t0)
        t0 = time.perf_counter()
        hits = self._combine(mode, vector_lists, lexical_hits, k, apply_threshold)
        clock.since("fuse", t0)
        return RetrievalReport(hits, clock.done(), len(subs))

    def _sizes(self, where: SearchFilter | None, k: int | None) -> tuple[SearchFilter, int, int]:
        """The filter, the hits to return and the candidates to fetch from each list."""
        k = k or self.options.top_k
        return where or self.where, k, max(self.options.candidates, k)

    def _search_vectors(
        self, vectors: npt.NDArray[np.float32], where: SearchFilter, n: int
    ) -> list[list[ScoredChunk]]:
        """The whole query's ``n`` nearest chunks, then each sub-query's (``vectors[1:]``)."""
        found = [self.store.search_vector(vectors[0], where, n)]
        if len(vectors) > 1:
            m = max(self.options.segment_candidates, 1)
            found.extend(self.store.search_vectors(np.asarray(vectors[1:]), where, m))
        return found

    def _combine(
        self,
        mode: Mode,
        vector_lists: list[list[ScoredChunk]],
        lexical_hits: list[ScoredChunk],
        k: int,
        apply_threshold: bool,
    ) -> list[RetrievedChunk]:
        threshold = self.options.min_similarity
        best = max((h.score for hits in vector_lists for h in hits[:1]), default=None)
        weak = best is None or best < threshold
        if apply_threshold and mode != "lexical" and weak:
            return []
        if mode == "lexical":
            fused = [FusedChunk(h.chunk, h.score, None, h.score) for h in lexical_hits]
        else:
            fused = fuse(
                vector_lists, lexical_hits if mode == "hybrid" else [], self.options.fusion
            )
        out: list[RetrievedChunk] = []
        best_lexical = max((h.lexical for h in fused if h.lexical is not None), default=0.0)
        for hit in fused:
            # the IP list inside a paragraph about connection timeouts: far by meaning, but
            # it holds the question's words
            lexical_match = (
                hit.lexical is not None
                and best_lexical > 0
                and hit.lexical >= self.options.lexical_keep * best_lexical
            )
            if (
                apply_threshold
                and hit.similarity is not None
                and hit.similarity < threshold
                and not lexical_match
            ):
                continue
            out.append(RetrievedChunk(hit.chunk, hit.score, hit.similarity, hit.lexical))
            if len(out) == k:
                break
        return out

    def citations(self, hits: list[RetrievedChunk]) -> list[Citation]:
        """Numbered citations [1..n] in the order the sources go into the prompt."""
        return [h.citation(i, self.options.snippet_chars) for i, h in enumerate(hits, start=1)]
