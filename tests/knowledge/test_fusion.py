"""Score fusion (``knowledge.fusion.fuse``): the hot-path implementation against the plain
definition in the module docstring, written out here as the reference."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from frontdesk.knowledge.fusion import FusedChunk, FusionParams, fuse
from frontdesk.knowledge.types import ScoredChunk, StoredChunk


def _normalised(values: dict[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {key: (v / top if top > 0 else 0.0) for key, v in values.items()}


def reference_fuse(
    vector_lists: Sequence[Sequence[ScoredChunk]],
    lexical: Sequence[ScoredChunk],
    params: FusionParams,
) -> list[FusedChunk]:
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
    n_cv, n_cl = _normalised(chunk_vec), _normalised(chunk_lex)
    n_dv, n_dl = _normalised(doc_vec), _normalised(doc_lex)
    chunk_score = {c: w * n_cl.get(c, 0.0) + (1 - w) * n_cv.get(c, 0.0) for c in chunks}
    docs = {c.document_id for c in chunks.values()}
    doc_score = {d: w * n_dl.get(d, 0.0) + (1 - w) * n_dv.get(d, 0.0) for d in docs}
    lead: dict[str, str] = {}
    for cid, chunk in chunks.items():
        current = lead.get(chunk.document_id)
        if current is None or (chunk_score[cid], current) > (chunk_score[current], cid):
            lead[chunk.document_id] = cid
    scored = []
    for cid, chunk in chunks.items():
        best = chunk_score[lead[chunk.document_id]]
        share = chunk_score[cid] / best if best > 0 else 0.0
        scored.append(
            FusedChunk(
                chunk, doc_score[chunk.document_id] * share, best_sim.get(cid), chunk_lex.get(cid)
            )
        )
    scored.sort(key=lambda f: (-f.score, -(f.similarity or -1.0), f.chunk.id))
    return scored


def _chunk(i: int, documents: int) -> StoredChunk:
    return StoredChunk(
        id=f"c{i}",
        tenant="t",
        collection="kb",
        document_id=f"d{i % documents}",
        ordinal=i,
        text=f"text {i}",
        title="Title",
        section="",
        source="s.md",
        content_hash=f"h{i}",
    )


def _as_tuples(fused: list[FusedChunk]) -> list[tuple[str, float, float | None, float | None]]:
    return [(f.chunk.id, f.score, f.similarity, f.lexical) for f in fused]


@pytest.mark.parametrize("seed", range(40))
def test_fuse_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    ties = seed % 2 == 0  # rounded scores: ties at the cut, in documents and in the sort
    for _ in range(50):
        pool = [_chunk(i, rng.randint(1, 30)) for i in range(rng.randint(1, 60))]

        def score(scale: float) -> float:
            value = rng.uniform(-0.2, 1.0) * scale
            return round(value, 1) if ties else value

        vector_lists = [
            [ScoredChunk(c, score(1.0)) for c in rng.sample(pool, rng.randint(0, len(pool)))]
            for _ in range(rng.randint(0, 4))
        ]
        lexical = [
            ScoredChunk(c, abs(score(12.0))) for c in rng.sample(pool, rng.randint(0, len(pool)))
        ]
        params = FusionParams(rng.choice([0.0, 0.3, 0.7, 1.0]), rng.choice([0.0, 0.3, 0.9]))
        assert _as_tuples(fuse(vector_lists, lexical, params)) == _as_tuples(
            reference_fuse(vector_lists, lexical, params)
        )


def test_a_documents_weaker_chunk_ranks_below_the_next_document() -> None:
    a1, a2, b1 = _chunk(0, 2), _chunk(2, 2), _chunk(1, 2)  # a1, a2 in d0; b1 in d1
    fused = fuse(
        [[ScoredChunk(a1, 0.9), ScoredChunk(a2, 0.5), ScoredChunk(b1, 0.8)]],
        [ScoredChunk(a1, 5.0), ScoredChunk(b1, 4.0)],
        FusionParams(),
    )
    assert [f.chunk.id for f in fused] == ["c0", "c1", "c2"]
    assert fused[0].similarity == 0.9 and fused[0].lexical == 5.0
    assert fused[2].lexical is None


def test_empty_inputs() -> None:
    assert fuse([], [], FusionParams()) == []
    assert fuse([[]], [], FusionParams()) == []
