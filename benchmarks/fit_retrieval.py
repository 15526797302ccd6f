"""Fit the fusion parameters of retrieval on a BEIR folder, with k-fold cross-validation.

Candidates (the whole query's and each segment's vector hits, and the BM25F hits) do not
depend on the fusion parameters, so they are retrieved once per query; the grid of
``lexical_weight`` x ``similarity_floor`` then only re-fuses. Each fold's parameters are
chosen on the other folds (maximising recall@10 + nDCG@10) and scored on the fold itself,
so the cross-validated numbers are never measured on the queries they were fitted on.

    .venv/bin/python benchmarks/fit_retrieval.py ../shared/datasets/support_kb --folds 2 --repeats 3
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.eval import _corpus_documents, load_beir, score_run
from frontdesk.knowledge.fusion import FusionParams, fuse
from frontdesk.knowledge.ingest import Ingestor
from frontdesk.knowledge.retrieval import Retriever
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import ScoredChunk

WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FLOORS = (0.0, 0.2, 0.3, 0.4)
DEPTH = 100


@dataclass
class Candidates:
    vectors: list[list[ScoredChunk]]
    lexical: list[ScoredChunk]


def ranking(c: Candidates, params: FusionParams) -> list[str]:
    return list(dict.fromkeys(f.chunk.source for f in fuse(c.vectors, c.lexical, params)))


def evaluate(
    cands: dict[str, Candidates], qrels: dict[str, dict[str, int]], qids: list[str], p: FusionParams
) -> dict[str, float]:
    return score_run({q: ranking(cands[q], p) for q in qids}, {q: qrels[q] for q in qids})


def fit(
    cands: dict[str, Candidates], qrels: dict[str, dict[str, int]], qids: list[str]
) -> FusionParams:
    def objective(p: FusionParams) -> float:
        m = evaluate(cands, qrels, qids, p)
        return m["recall@10"] + m["ndcg@10"]

    grid = [FusionParams(w, f) for w in WEIGHTS for f in FLOORS]
    return max(grid, key=lambda p: (objective(p), -abs(p.lexical_weight - 0.5)))


async def candidates(directory: Path, workdir: Path) -> tuple[dict[str, Candidates], object]:
    dataset = load_beir(directory)
    embedder = LocalEmbedder.load()
    store = SqliteKnowledgeStore.open(workdir / "fit.db")
    ingestor = Ingestor(store, embedder, collection="fit", tenant="fit")
    await ingestor.prepare(reembed=True)
    await ingestor.ingest_documents(_corpus_documents(dataset))
    retriever = Retriever(store, embedder, collection="fit", tenant="fit")
    out: dict[str, Candidates] = {}
    for qid, text in dataset.queries.items():
        subs = retriever.sub_queries(text)
        vectors = await embedder.embed([text, *subs], "query")
        lists = [store.search_vector(vectors[0], retriever.where, DEPTH)]
        if subs:
            lists += store.search_vectors(np.asarray(vectors[1:]), retriever.where, 10)
        out[qid] = Candidates(lists, store.search_lexical(text, retriever.where, DEPTH))
    store.close()
    return out, dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fit-retrieval-") as tmp:
        cands, dataset = asyncio.run(candidates(args.directory, Path(tmp)))
    qrels = dataset.qrels  # type: ignore[attr-defined]
    qids = sorted(cands)
    default = FusionParams()
    print(f"# {args.directory}: {len(qids)} queries")
    print(f"default {default}: {evaluate(cands, qrels, qids, default)}")
    best = fit(cands, qrels, qids)
    print(f"fitted on all (not a held-out number) {best}: {evaluate(cands, qrels, qids, best)}")
    held: list[dict[str, float]] = []
    for repeat in range(args.repeats):
        order = qids[:]
        random.Random(repeat).shuffle(order)
        folds = [order[i :: args.folds] for i in range(args.folds)]
        for i, test in enumerate(folds):
            train = [q for j, f in enumerate(folds) if j != i for q in f]
            params = fit(cands, qrels, train)
            m = evaluate(cands, qrels, test, params)
            held.append(m)
            print(
                f"repeat {repeat} fold {i}: fitted {params} -> held-out "
                f"recall@10 {m['recall@10']:.3f} nDCG@10 {m['ndcg@10']:.3f}"
            )
    for metric in ("recall@10", "ndcg@10", "recall@20", "mrr@10"):
        values = [m[metric] for m in held]
        mean, sd = statistics.mean(values), statistics.pstdev(values)
        print(f"cross-validated {metric}: {mean:.3f} (sd {sd:.3f})")


if __name__ == "__main__":
    main()
