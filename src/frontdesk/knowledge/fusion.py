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


def fuse(
    vector_lists: Sequence[Sequence[ScoredChunk]],
    lexical: Sequence[ScoredChunk],
    params: FusionParams,
) -> list[FusedChunk]:
    """Chunks of every list, best first, scored as the module docstring says.

    On the search hot path (every turn): plain loops over dicts, no per-hit function
    calls, each score normalised where it is used."""
    floor = params.floor
    chunks: dict[str, StoredChunk] = {}
    best_sim: dict[str, float] = {}
    chunk_vec: dict[str, float] = {}
    doc_vec: dict[str, float] = {}
    for hits in vector_lists:
        per_doc: dict[str, float] = {}
        for hit in hits:
            chunk = hit.chunk
            cid, score = chunk.id, hit.score
            gain = score - floor
            if gain <= 0.0:
                gain = 0.0
            if cid in best_sim:
                if score > best_sim[cid]:
                    best_sim[cid] = score
                chunk_vec[cid] += gain
            else:
                best_sim[cid] = score if score > -1.0 else -1.0
                chunk_vec[cid] = gain
            chunks[cid] = chunk
            doc = chunk.document_id
            if gain > per_doc.get(doc, 0.0):
                per_doc[doc] = gain
            elif doc not in per_doc:
                per_doc[doc] = 0.0
        for doc, gain in per_doc.items():
            doc_vec[doc] = doc_vec.get(doc, 0.0) + gain
    chunk_lex: dict[str, float] = {}
    doc_lex: dict[str, float] = {}
    for hit in lexical:
        chunk = hit.chunk
        cid, score = chunk.id, hit.score
        chunks[cid] = chunk
        if score > chunk_lex.get(cid, 0.0):
            chunk_lex[cid] = score
        elif cid not in chunk_lex:
            chunk_lex[cid] = 0.0
        doc = chunk.document_id
        if score > doc_lex.get(doc, 0.0):
            doc_lex[doc] = score
        elif doc not in doc_lex:
            doc_lex[doc] = 0.0

    w = params.lexical_weight
    top_cv = max(chunk_vec.values(), default=0.0)
    top_cl = max(chunk_lex.values(), default=0.0)
    top_dv = max(doc_vec.values(), default=0.0)
    top_dl = max(doc_lex.values(), default=0.0)
    chunk_score: dict[str, float] = {}
    doc_score: dict[str, float] = {}
    lead: dict[str, str] = {}  # document -> its best chunk
    for cid, chunk in chunks.items():
        lex = chunk_lex.get(cid)
        vec = chunk_vec.get(cid)
        n_lex = (lex / top_cl if top_cl > 0 else 0.0) if lex is not None else 0.0
        n_vec = (vec / top_cv if top_cv > 0 else 0.0) if vec is not None else 0.0
        mine = chunk_score[cid] = w * n_lex + (1 - w) * n_vec
        doc = chunk.document_id
        current = lead.get(doc)
        if current is None:
            lead[doc] = cid
            dl, dv = doc_lex.get(doc), doc_vec.get(doc)
            n_dl = (dl / top_dl if top_dl > 0 else 0.0) if dl is not None else 0.0
            n_dv = (dv / top_dv if top_dv > 0 else 0.0) if dv is not None else 0.0
            doc_score[doc] = w * n_dl + (1 - w) * n_dv
        else:
            theirs = chunk_score[current]
            if mine > theirs or (mine == theirs and current > cid):
                lead[doc] = cid
    scored = []
    for cid, chunk in chunks.items():
        doc = chunk.document_id
        best = chunk_score[lead[doc]]
        share = chunk_score[cid] / best if best > 0 else 0.0
        scored.append(
            FusedChunk(chunk, doc_score[doc] * share, best_sim.get(cid), chunk_lex.get(cid))
        )
    # Ties (e.g. every chunk below the similarity floor) go to the closer, then the id.
    scored.sort(key=_order)
    return scored


def _order(f: FusedChunk) -> tuple[float, float, str]:
    return (-f.score, -(f.similarity or -1.0), f.chunk.id)
