"""Score fusion of lexical and vector hits, aggregated to documents.

* Vector evidence of a chunk is ``sum_j max(0, sim_j - floor)`` over the query's vectors
  (the whole query, or each segment of a long one): a chunk close to several things the
  customer said outranks one that is close to a single one, and a segment that matches
  nothing well (a greeting, an instruction) adds nothing.
* A document's vector evidence takes, for each query vector, its best chunk; its lexical
  evidence is its best chunk's BM25 score.
* Both are divided by their best value among the candidates (score-normalised, so BM25's
  unbounded scale and cosine's do not fight) and mixed with ``lexical_weight``.
* A document's best chunk ranks at the document's score; its other chunks at that score
  scaled by how they compare with the best one (chunk-level fused scores), so a document's
  weaker passages do not crowd out the next document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.knowledge.types import ScoredChunk, StoredChunk


@dataclass(frozen=True, slots=True)
class FusionParams:
    lexical_weight: float = 0.7
    floor: float = 0.3


@dataclass(frozen=True, slots=True)
class FusedChunk:
    chunk: StoredChunk
    score: float
    similarity: float | None  # best cosine over the query vectors, when known
    lexical: float | None  # BM25, when the chunk was a lexical candidate


def _max_normalised(values: dict[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {key: (v / top if top > 0 else 0.0) for key, v in values.items()}


def fuse(
    vector_lists: Sequence[Sequence[ScoredChunk]],
    lexical: Sequence[ScoredChunk],
    params: FusionParams,
) -> list[FusedChunk]:
    """Chunks of every list, best first, scored as the module docstring says."""
    chunks: dict[str, StoredChunk] = {}
    best_sim: dict[str, float] = {}
    chunk_vec: dict[str, float] = {}
    doc_vec: dict[str, float] = {}
    for hits in vector_lists:
        per_doc: dict[str, float] = {}
        for hit in hits:
            cid = hit.chunk.id
            chunks[cid] = hit.chunk
            best_sim[cid] = max(best_sim.get(cid, -1.0), hit.score)
            gain = max(0.0, hit.score - params.floor)
            chunk_vec[cid] = chunk_vec.get(cid, 0.0) + gain
            doc = hit.chunk.document_id
            per_doc[doc] = max(per_doc.get(doc, 0.0), gain)
        for doc, gain in per_doc.items():
            doc_vec[doc] = doc_vec.get(doc, 0.0) + gain
    chunk_lex: dict[str, float] = {}
    doc_lex: dict[str, float] = {}
    for hit in lexical:
        cid = hit.chunk.id
        chunks[cid] = hit.chunk
        chunk_lex[cid] = max(chunk_lex.get(cid, 0.0), hit.score)
        doc = hit.chunk.document_id
        doc_lex[doc] = max(doc_lex.get(doc, 0.0), hit.score)

    w = params.lexical_weight
    n_chunk_vec, n_chunk_lex = _max_normalised(chunk_vec), _max_normalised(chunk_lex)
    n_doc_vec, n_doc_lex = _max_normalised(doc_vec), _max_normalised(doc_lex)
    chunk_score = {
        cid: w * n_chunk_lex.get(cid, 0.0) + (1 - w) * n_chunk_vec.get(cid, 0.0) for cid in chunks
    }
    doc_score = {
        doc: w * n_doc_lex.get(doc, 0.0) + (1 - w) * n_doc_vec.get(doc, 0.0)
        for doc in {c.document_id for c in chunks.values()}
    }
    lead: dict[str, str] = {}  # document -> its best chunk
    for cid, chunk in chunks.items():
        current = lead.get(chunk.document_id)
        if current is None or (chunk_score[cid], current) > (chunk_score[current], cid):
            lead[chunk.document_id] = cid
    scored = []
    for cid, chunk in chunks.items():
        best = chunk_score[lead[chunk.document_id]]
        share = chunk_score[cid] / best if best > 0 else 0.0
        score = doc_score[chunk.document_id] * share
        scored.append(FusedChunk(chunk, score, best_sim.get(cid), chunk_lex.get(cid)))
    # Ties (e.g. every chunk below the similarity floor) go to the closer, then the id.
    scored.sort(key=lambda f: (-f.score, -(f.similarity or -1.0), f.chunk.id))
    return scored
