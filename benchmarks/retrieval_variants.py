"""Retrieval-quality variants of issue 10, cross-validated on a BEIR folder (none shipped).

Every candidate list a variant needs is retrieved once with the product's store, embedder and
``Retriever.sub_queries``: the whole query's vector hits (100), each segment's vector hits
(30) and BM25F hits (30), the whole query's BM25F hits (100), and every chunk's vector. A
variant then only re-ranks. ``--cache FILE`` keeps them between runs (ingest and ~1,600
query embeddings take 10-20 minutes on a loaded machine).

Variants: the shipped fusion (``fusion.fuse``) with its grid, document-level aggregation
(CombSUM / top-2 / CombMNZ of chunk hits instead of the best chunk), segment weighting by how
distinctive a segment's hits are, a Rocchio vector list, and a learned document re-ranker
(pointwise logistic regression or listwise softmax over 18 general features: fused score and
rank, lexical max / sum / count, share of segments hitting the document in their top 10 / top 3,
per-segment BM25 hits, whole-query cosine to the document and its best chunk, title overlap,
code-like identifiers, share of list lines, length, chunk count, centrality). Parameters and
weights are fitted on one fold and scored on the other (``--folds`` x ``--repeats``, folds by
query); "paired" is the held-out difference to the shipped default on the same folds.

    nice -n 10 .venv/bin/python benchmarks/retrieval_variants.py ../shared/datasets/support_kb \
        --cache /tmp/support_kb.pkl
"""

from __future__ import annotations

import argparse
import asyncio
import math
import pickle
import random
import re
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.eval import _corpus_documents, load_beir, score_run
from frontdesk.knowledge.fusion import FusionParams, fuse
from frontdesk.knowledge.ingest import Ingestor
from frontdesk.knowledge.retrieval import Retriever
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import ScoredChunk

WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9)
FLOORS = (0.0, 0.2, 0.3, 0.4)
CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+){2,}\b")
ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-•+*])\s+", re.MULTILINE)
WORD = re.compile(r"[a-z0-9]+")
Run = dict[str, list[str]]


async def build(directory: Path) -> dict[str, Any]:
    dataset = load_beir(directory)
    embedder = LocalEmbedder.load()
    with tempfile.TemporaryDirectory(prefix="retrieval-variants-") as tmp:
        store = SqliteKnowledgeStore.open(Path(tmp) / "v.db")
        ingestor = Ingestor(store, embedder, collection="v", tenant="v")
        await ingestor.prepare(reembed=True)
        await ingestor.ingest_documents(_corpus_documents(dataset))
        r = Retriever(store, embedder, collection="v", tenant="v")
        chunks, by_hash = {}, {}
        for d in store.list_documents(r.where):
            for c in store.document_chunks(r.where, d.id):
                chunks[c.id] = c
            by_hash.update(store.chunk_vectors(r.where, d.id))
        qs = {}
        for qid, text in dataset.queries.items():
            subs = r.sub_queries(text)
            vectors = await embedder.embed([text, *subs], "query")

            def pairs(hits: list[ScoredChunk]) -> list[tuple[str, float]]:
                return [(h.chunk.id, h.score) for h in hits]

            seg = store.search_vectors(np.asarray(vectors[1:]), r.where, 30) if subs else []
            qs[qid] = {
                "text": text,
                "qvec": np.asarray(vectors),
                "whole": pairs(store.search_vector(vectors[0], r.where, 100)),
                "seg": [pairs(h) for h in seg],
                "lex": pairs(store.search_lexical(text, r.where, 100)),
                "seglex": [pairs(store.search_lexical(s, r.where, 30)) for s in subs],
            }
        store.close()
    cvec = {cid: by_hash[c.content_hash] for cid, c in chunks.items()}
    return {"dataset": dataset, "chunks": chunks, "cvec": cvec, "qs": qs}


class Bench:
    def __init__(self, data: dict[str, Any]) -> None:
        self.chunks = data["chunks"]
        vectors = data["cvec"]  # by chunk id, or (an older cache) by content hash
        self.cvec = {
            cid: vectors.get(cid, vectors.get(c.content_hash)) for cid, c in self.chunks.items()
        }
        self.qs = data["qs"]
        self.qrels = data["dataset"].qrels
        self.qids = sorted(self.qs)
        self.doc_chunks: dict[str, list[str]] = defaultdict(list)
        for cid, c in self.chunks.items():
            self.doc_chunks[c.source].append(cid)
        docs = sorted(self.doc_chunks)
        dv = np.stack([np.mean([self.cvec[c] for c in self.doc_chunks[d]], axis=0) for d in docs])
        dv /= np.linalg.norm(dv, axis=1, keepdims=True)
        self.dvec = dict(zip(docs, dv, strict=True))
        centrality = dict(zip(docs, (dv @ dv.T).mean(axis=1), strict=True))
        self.genre: dict[str, list[float]] = {}
        self.title: dict[str, set[str]] = {}
        for d in docs:
            ordered = sorted(self.doc_chunks[d], key=lambda c: self.chunks[c].ordinal)
            text = "\n".join(self.chunks[c].text for c in ordered)
            lines = [line for line in text.split("\n") if line.strip()]
            self.genre[d] = [
                1.0 if CODE.search(text) else 0.0,
                len(ITEM.findall(text)) / max(len(lines), 1),
                math.log(len(text) + 1) / 10,
                math.log(len(ordered) + 1),
                float(centrality[d]),
            ]
            self.title[d] = set(WORD.findall(self.chunks[ordered[0]].title.lower()))
        self.cids = list(self.chunks)
        self.matrix = np.stack([self.cvec[c] for c in self.cids])
        self.cache: dict[Any, Any] = {}

    def sc(self, pairs: list[tuple[str, float]], n: int | None = None) -> list[ScoredChunk]:
        return [ScoredChunk(self.chunks[c], s) for c, s in pairs[:n]]

    def evaluate(self, run: Run, ids: list[str]) -> dict[str, float]:
        return score_run({q: run[q] for q in ids}, {q: self.qrels[q] for q in ids})

    # --- the shipped fusion, optionally with a Rocchio vector list -----------------------

    def rocchio(self, q: str, k: int = 5, beta: float = 1.0) -> list[ScoredChunk]:
        key = ("rocchio", q, k, beta)
        if key not in self.cache:
            top: list[str] = []
            for f in self.fused(q, FusionParams()):
                if f.chunk.id not in top:
                    top.append(f.chunk.id)
                if len(top) == k:
                    break
            v = self.qs[q]["qvec"][0] + beta * np.mean([self.cvec[c] for c in top], axis=0)
            s = self.matrix @ (v / np.linalg.norm(v))
            idx = np.argsort(-s)[:100]
            self.cache[key] = [ScoredChunk(self.chunks[self.cids[i]], float(s[i])) for i in idx]
        hits: list[ScoredChunk] = self.cache[key]
        return hits

    def fused(self, q: str, p: FusionParams, rocchio: bool = False) -> list[Any]:
        qd = self.qs[q]
        lists = [self.sc(qd["whole"])]
        if rocchio:
            lists.append(self.rocchio(q))
        lists += [self.sc(h, 10) for h in qd["seg"]]
        return fuse(lists, self.sc(qd["lex"]), p)

    def ranked(self, q: str, p: FusionParams, rocchio: bool = False) -> list[str]:
        return list(dict.fromkeys(f.chunk.source for f in self.fused(q, p, rocchio)))

    # --- document-level aggregation variants ---------------------------------------------

    def docfuse(
        self,
        q: str,
        p: FusionParams,
        lexagg: str = "max",
        vecagg: str = "max",
        segw: str = "none",
        seg_n: int = 10,
    ) -> list[str]:
        qd = self.qs[q]
        dv: dict[str, float] = defaultdict(float)
        for hits in [qd["whole"]] + [h[:seg_n] for h in qd["seg"]]:
            per: dict[str, list[float]] = defaultdict(list)
            for c, s in hits:
                per[self.chunks[c].source].append(max(0.0, s - p.floor))
            sims = [s for _, s in hits]
            weight = 1.0
            if segw == "gap" and sims:
                weight = max(sims[0] - float(np.mean(sims)), 0.0) * 10
            elif segw == "spread" and hits:
                weight = len({self.chunks[c].source for c, _ in hits}) / len(hits)
            for d, gains in per.items():
                g = sorted(gains, reverse=True)
                dv[d] += weight * (g[0] if vecagg == "max" else sum(g[:2]))
        dl: dict[str, list[float]] = defaultdict(list)
        for c, s in qd["lex"]:
            dl[self.chunks[c].source].append(s)
        lex = {}
        for d, scores in dl.items():
            g = sorted(scores, reverse=True)
            lex[d] = {
                "max": g[0],
                "sum": sum(g),
                "top2": sum(g[:2]),
                "mnz": g[0] * (1 + math.log(len(g))),
            }[lexagg]
        mv = max(dv.values(), default=1.0) or 1.0
        ml = max(lex.values(), default=1.0) or 1.0
        w = p.lexical_weight
        score = {
            d: w * lex.get(d, 0.0) / ml + (1 - w) * dv.get(d, 0.0) / mv for d in set(dv) | set(lex)
        }
        return sorted(score, key=lambda d: (-score[d], d))

    # --- learned re-ranker -----------------------------------------------------------------

    def features(self, q: str, n: int, rocchio: bool = False) -> tuple[list[str], Any, list[str]]:
        key = ("features", q, n, rocchio)
        if key in self.cache:
            cached: tuple[list[str], Any, list[str]] = self.cache[key]
            return cached
        qd = self.qs[q]
        dscore: dict[str, float] = {}
        for f in self.fused(q, FusionParams(), rocchio):
            dscore.setdefault(f.chunk.source, f.score)
        ranked = list(dscore)
        cand = ranked[:n]
        top = dscore[cand[0]] or 1.0
        lexmax: dict[str, float] = defaultdict(float)
        lexsum: dict[str, float] = defaultdict(float)
        lexcnt: dict[str, int] = defaultdict(int)
        best = qd["lex"][0][1] if qd["lex"] else 1.0
        for c, s in qd["lex"]:
            d = self.chunks[c].source
            lexmax[d] = max(lexmax[d], s / best)
            lexsum[d] += s / best
            lexcnt[d] += 1
        nseg = max(len(qd["seg"]), 1)
        hit10: dict[str, int] = defaultdict(int)
        hit3: dict[str, int] = defaultdict(int)
        gain: dict[str, float] = defaultdict(float)
        for hits in qd["seg"]:
            seen: set[str] = set()
            for rank, (c, s) in enumerate(hits[:10]):
                d = self.chunks[c].source
                if d not in seen:
                    seen.add(d)
                    hit10[d] += 1
                    hit3[d] += rank < 3
                    gain[d] += max(0.0, s - 0.3)
        lexhit: dict[str, int] = defaultdict(int)
        lexshare: dict[str, float] = defaultdict(float)
        for hits in qd["seglex"]:
            seen = set()
            for c, s in hits[:10]:
                d = self.chunks[c].source
                if d not in seen:
                    seen.add(d)
                    lexhit[d] += 1
                    lexshare[d] += s / hits[0][1]
        nsl = max(len(qd["seglex"]), 1)
        qv = qd["qvec"][0]
        words = set(WORD.findall(qd["text"].lower()))
        rows = []
        for r, d in enumerate(cand):
            rows.append(
                [
                    dscore[d] / top,
                    1 / math.log2(r + 2),
                    lexmax[d],
                    math.log1p(lexsum[d]),
                    math.log1p(lexcnt[d]),
                    hit10[d] / nseg,
                    hit3[d] / nseg,
                    gain[d] / nseg * 10,
                    lexhit[d] / nsl,
                    lexshare[d] / nsl,
                    float(self.dvec[d] @ qv),
                    max(float(self.cvec[c] @ qv) for c in self.doc_chunks[d]),
                    len(self.title[d] & words) / max(len(self.title[d]), 1),
                    *self.genre[d],
                ]
            )
        out = (cand, np.array(rows), ranked)
        self.cache[key] = out
        return out

    def fit_linear(self, train: list[str], n: int, l2: float, listwise: bool, rocchio: bool) -> Any:
        data = [self.features(q, n, rocchio) for q in train]
        x_all = np.vstack([x for _, x, _ in data])
        mu, sd = x_all.mean(0), x_all.std(0) + 1e-9
        w = np.zeros(x_all.shape[1] + 1)
        if listwise:
            groups = []
            for q, (cand, x, _) in zip(train, data, strict=True):
                y = np.array([self.qrels[q].get(d, 0) for d in cand], float)
                if y.sum() > 0:
                    groups.append((np.hstack([(x - mu) / sd, np.ones((len(x), 1))]), y / y.sum()))
            for _ in range(400):
                g = l2 * w
                for z, y in groups:
                    s = z @ w
                    e = np.exp(s - s.max())
                    g = g + z.T @ (e / e.sum() - y)
                w -= 0.1 * g / len(groups)
            return mu, sd, w, n, rocchio
        labels = [
            [1.0 if d in self.qrels[q] else 0.0 for d in cand]
            for q, (cand, _, _) in zip(train, data, strict=True)
        ]
        y = np.concatenate(labels)
        z = np.hstack([(x_all - mu) / sd, np.ones((len(x_all), 1))])
        penalty = l2 * np.r_[np.ones(len(w) - 1), 0.0]
        for _ in range(100):  # Newton steps of L2-regularised logistic regression
            p = 1 / (1 + np.exp(-z @ w))
            hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
            step = np.linalg.solve(hess, z.T @ (p - y) + penalty * w)
            w -= step
            if np.abs(step).max() < 1e-6:
                break
        return mu, sd, w, n, rocchio

    def apply_linear(self, model: Any, ids: list[str]) -> Run:
        mu, sd, w, n, rocchio = model
        run = {}
        for q in ids:
            cand, x, ranked = self.features(q, n, rocchio)
            s = np.hstack([(x - mu) / sd, np.ones((len(x), 1))]) @ w
            run[q] = [cand[i] for i in np.argsort(-s, kind="stable")] + ranked[n:]
        return run

    # --- cross-validation ------------------------------------------------------------------

    def grid_fit(self, rank: Callable[[str, FusionParams], list[str]]) -> Callable[..., Any]:
        def fit(train: list[str]) -> FusionParams:
            def objective(p: FusionParams) -> float:
                m = self.evaluate({q: rank(q, p) for q in train}, train)
                return m["recall@10"] + m["ndcg@10"]

            return max((FusionParams(w, f) for w in WEIGHTS for f in FLOORS), key=objective)

        return fit

    def cv(
        self,
        fit: Callable[[list[str]], Any],
        apply: Callable[[Any, list[str]], Run],
        folds: int,
        repeats: int,
    ) -> tuple[dict[str, float], float, float]:
        held, diffs = [], []
        default = {q: self.ranked(q, FusionParams()) for q in self.qids}
        for repeat in range(repeats):
            order = self.qids[:]
            random.Random(repeat).shuffle(order)
            parts = [order[i::folds] for i in range(folds)]
            for i, test in enumerate(parts):
                train = [q for j, part in enumerate(parts) if j != i for q in part]
                m = self.evaluate(apply(fit(train), test), test)
                base = self.evaluate(default, test)
                held.append(m)
                diffs.append(m["recall@10"] - base["recall@10"])
        mean = {k: statistics.mean(h[k] for h in held) for k in held[0]}
        return mean, statistics.pstdev(h["recall@10"] for h in held), statistics.mean(diffs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        with args.cache.open("rb") as fh:
            data = pickle.load(fh)
    else:
        data = asyncio.run(build(args.directory))
        if args.cache:
            with args.cache.open("wb") as fh:
                pickle.dump(data, fh)
    b = Bench(data)
    print(f"# {args.directory}: {len(b.qids)} queries, {args.folds} folds x {args.repeats}")
    print("| variant | CV recall@10 | CV nDCG@10 | sd | paired Δrecall@10 | fitted on all |")
    print("|---|---:|---:|---:|---:|---:|")

    def row(
        name: str, fit: Callable[[list[str]], Any], apply: Callable[[Any, list[str]], Run]
    ) -> None:
        mean, sd, diff = b.cv(fit, apply, args.folds, args.repeats)
        full = b.evaluate(apply(fit(b.qids), b.qids), b.qids)
        print(
            f"| {name} | {mean['recall@10']:.3f} | {mean['ndcg@10']:.3f} | {sd:.3f} | "
            f"{diff:+.3f} | {full['recall@10']:.3f} / {full['ndcg@10']:.3f} |",
            flush=True,
        )

    def fused_variant(rocchio: bool) -> tuple[Callable[..., Any], Callable[..., Run]]:
        def rank(q: str, p: FusionParams) -> list[str]:
            return b.ranked(q, p, rocchio)

        return b.grid_fit(rank), lambda p, ids: {q: rank(q, p) for q in ids}

    def agg_variant(**kw: Any) -> tuple[Callable[..., Any], Callable[..., Run]]:
        def rank(q: str, p: FusionParams) -> list[str]:
            return b.docfuse(q, p, **kw)

        return b.grid_fit(rank), lambda p, ids: {q: rank(q, p) for q in ids}

    row("shipped fusion, grid refit", *fused_variant(False))
    row("+ Rocchio vector list (top 5 chunks, β 1)", *fused_variant(True))
    for name, kw in [
        ("lexical CombSUM of chunks", {"lexagg": "sum"}),
        ("lexical top-2 chunks", {"lexagg": "top2"}),
        ("lexical CombMNZ", {"lexagg": "mnz"}),
        ("vector top-2 chunks per query vector", {"vecagg": "top2"}),
        ("segments weighted by top-1 minus mean of top 10", {"segw": "gap"}),
        ("segments weighted by distinct documents in their hits", {"segw": "spread"}),
        ("5 hits per segment", {"seg_n": 5}),
        ("20 hits per segment", {"seg_n": 20}),
    ]:
        row(name, *agg_variant(**kw))
    for n, l2, listwise, rocchio in [
        (20, 1.0, False, False),
        (30, 1.0, False, False),
        (30, 10.0, False, False),
        (30, 100.0, False, False),
        (50, 100.0, False, False),
        (30, 0.1, True, False),
        (30, 100.0, False, True),
    ]:
        kind = "listwise softmax" if listwise else "logistic"
        name = f"re-ranker {kind}, top {n}, L2 {l2:g}" + (" + Rocchio" if rocchio else "")
        row(
            name,
            lambda tr, n=n, l2=l2, lw=listwise, ro=rocchio: b.fit_linear(tr, n, l2, lw, ro),
            b.apply_linear,
        )


if __name__ == "__main__":
    main()
