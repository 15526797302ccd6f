"""Candidate-generation variants of issue 10 on the cached lists of ``retrieval_variants.py``.

Document-level scorer: ``w * lexical + (1 - w) * vector + beta * prior``, where lexical is a
document's best BM25F chunk (max-normalised), vector is ``sum_j max(0, maxsim_j(d) - floor)``
over the whole query and its segments (max-normalised), with ``maxsim_j(d)`` taken over a
document's chunks within the query vector's top ``depth`` (``depth=0``: over all chunks, the
exhaustive multi-vector max-sim), and prior a document-genre feature (no document ids):
``code`` = the text holds tool-style identifiers (``open_bank_account_4821``). Every
parameter is fitted by grid on one fold and scored on the other (folds by query).

    nice -n 10 .venv/bin/python -m benchmarks.candidate_variants --cache /tmp/rv-support_kb.pkl

Measured 2026-12-02 (CV recall@10 / nDCG@10, paired delta vs shipped): shipped-equivalent
0.338 / 0.423; segment depth 20-50 0.322 / 0.411 (-0.017); exhaustive max-sim 0.333 / 0.422
(-0.007); identifier prior 0.335 / 0.412 (-0.005), from candidate chunks 0.342 / 0.419
(+0.002), exhaustive + prior 0.335 / 0.416 (-0.004). None adopted.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import random
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.retrieval_variants import Bench
from frontdesk.knowledge.eval import score_run
from frontdesk.knowledge.fusion import FusionParams

CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+){2,}\b")


class Cand:
    def __init__(self, b: Bench) -> None:
        self.b = b
        self.docs = sorted(b.doc_chunks)
        self.di = {d: i for i, d in enumerate(self.docs)}
        self.chunk_doc = np.array([self.di[b.chunks[c].source] for c in b.cids])
        self.chunk_code = np.array([bool(CODE.search(b.chunks[c].text)) for c in b.cids])
        self.cpos = {c: i for i, c in enumerate(b.cids)}
        self.prior = {}
        for d in self.docs:
            text = "\n".join(b.chunks[c].text for c in b.doc_chunks[d])
            self.prior[d] = 1.0 if CODE.search(text) else 0.0
        self.sims: dict[str, Any] = {}

    def doc_maxsim(self, q: str) -> Any:
        """(query vectors x documents) best chunk cosine, exhaustive."""
        if q not in self.sims:
            s = self.b.qs[q]["qvec"] @ self.b.matrix.T  # (nq, chunks)
            out = np.full((s.shape[0], len(self.docs)), -1.0)
            for j in range(s.shape[0]):
                np.maximum.at(out[j], self.chunk_doc, s[j])
            self.sims[q] = (s, out)
        return self.sims[q]

    def rank(self, q: str, p: dict[str, float]) -> list[str]:
        b, qd = self.b, self.b.qs[q]
        w, floor, beta = p["w"], p["floor"], p["beta"]
        depth, wdepth = int(p["depth"]), int(p["whole_depth"])
        s, ds = self.doc_maxsim(q)
        vec = np.zeros(len(self.docs))
        seen = np.zeros(len(self.docs), bool)  # a candidate chunk with identifiers
        for c, _ in qd["lex"][: int(p.get("lex_depth", 100))]:
            i = self.cpos[c]
            seen[self.chunk_doc[i]] |= self.chunk_code[i]
        for j in range(s.shape[0]):
            k = wdepth if j == 0 else depth
            if k <= 0:
                row = ds[j]
                seen |= np.array([self.prior[d] > 0 for d in self.docs])
            else:
                top = np.argpartition(-s[j], k)[:k]
                np.logical_or.at(seen, self.chunk_doc[top], self.chunk_code[top])
                row = np.full(len(self.docs), -1.0)
                np.maximum.at(row, self.chunk_doc[top], s[j][top])
            gain = np.maximum(0.0, row - floor)
            vec += p.get("wseg", 1.0) * gain if j else gain
        lex = np.zeros(len(self.docs))
        for c, sc in qd["lex"][: int(p.get("lex_depth", 100))]:
            i = self.di[b.chunks[c].source]
            lex[i] = max(lex[i], sc)
        cand = (vec > 0) | (lex > 0)
        nv = vec / vec.max() if vec.max() > 0 else vec
        nl = lex / lex.max() if lex.max() > 0 else lex
        pri = np.array([self.prior[d] for d in self.docs])
        if p.get("prior_src", 0):
            pri = seen.astype(float)
        score = w * nl + (1 - w) * nv + beta * pri * (cand if p.get("prior_cand", 1) else 1)
        order = np.lexsort((np.arange(len(self.docs)), -score))
        return [self.docs[i] for i in order if cand[i] or p.get("prior_cand", 1) == 0]

    def evaluate(self, run: dict[str, list[str]], ids: list[str]) -> dict[str, float]:
        return score_run({q: run[q] for q in ids}, {q: self.b.qrels[q] for q in ids})

    def cand_recall(self, run: dict[str, list[str]], k: int) -> float:
        vals = []
        for q, ranked in run.items():
            rel = self.b.qrels[q]
            vals.append(len(set(ranked[:k]) & set(rel)) / len(rel))
        return statistics.mean(vals)


def grid(space: dict[str, list[float]]) -> list[dict[str, float]]:
    keys = list(space)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*space.values())]


def cv(c: Cand, space: dict[str, list[float]], folds: int, repeats: int) -> tuple[Any, ...]:
    params = grid(space)
    qids = c.b.qids
    runs = [{q: c.rank(q, p) for q in qids} for p in params]
    base = {q: c.b.ranked(q, FusionParams()) for q in qids}
    held, diffs, chosen = [], [], []
    for r in range(repeats):
        order = qids[:]
        random.Random(r).shuffle(order)
        parts = [order[i::folds] for i in range(folds)]
        for i, test in enumerate(parts):
            train = [q for j, part in enumerate(parts) if j != i for q in part]

            def obj(k: int, train: list[str] = train) -> float:
                m = c.evaluate(runs[k], train)
                return m["recall@10"] + m["ndcg@10"]

            best = max(range(len(params)), key=obj)
            chosen.append(params[best])
            m = c.evaluate(runs[best], test)
            held.append(m)
            diffs.append(m["recall@10"] - c.evaluate(base, test)["recall@10"])
    mean = {k: statistics.mean(h[k] for h in held) for k in held[0]}
    full_best = max(
        range(len(params)),
        key=lambda k: c.evaluate(runs[k], qids)["recall@10"] + c.evaluate(runs[k], qids)["ndcg@10"],
    )
    full = c.evaluate(runs[full_best], qids)
    sd = statistics.pstdev(h["recall@10"] for h in held)
    cand100 = c.cand_recall(runs[full_best], 100)
    return mean, sd, statistics.mean(diffs), full, params[full_best], cand100, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    with args.cache.open("rb") as fh:
        data = pickle.load(fh)
    b = Bench(data)
    c = Cand(b)
    base = {q: b.ranked(q, FusionParams()) for q in b.qids}
    m = c.evaluate(base, b.qids)
    print(
        f"shipped fuse: recall@10 {m['recall@10']:.3f} nDCG@10 {m['ndcg@10']:.3f} "
        f"candidates recall@100 {c.cand_recall(base, 100):.3f}"
    )
    W, F = [0.5, 0.6, 0.7, 0.8, 0.9], [0.2, 0.3, 0.4]
    variants: dict[str, dict[str, list[float]]] = {
        "doc scorer = shipped (seg depth 10)": {
            "w": W,
            "floor": F,
            "beta": [0],
            "depth": [10],
            "whole_depth": [100],
        },
        "seg depth 20/30/50": {
            "w": W,
            "floor": F,
            "beta": [0],
            "depth": [20, 30, 50],
            "whole_depth": [100],
        },
        "exhaustive max-sim per doc": {
            "w": W,
            "floor": [0.3, 0.4, 0.45, 0.5],
            "beta": [0],
            "depth": [0],
            "whole_depth": [0],
        },
        "seg depth 10 + code prior": {
            "w": W,
            "floor": F,
            "beta": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
            "depth": [10],
            "whole_depth": [100],
        },
        "seg depth 10/30 + code prior": {
            "w": W,
            "floor": F,
            "beta": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
            "depth": [10, 30],
            "whole_depth": [100],
        },
        "seg depth 10 + code prior from candidate chunks": {
            "w": W,
            "floor": F,
            "beta": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
            "depth": [10],
            "whole_depth": [100],
            "prior_src": [1],
        },
        "exhaustive + code prior (all docs)": {
            "w": W,
            "floor": [0.3, 0.4, 0.5],
            "beta": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
            "depth": [0],
            "whole_depth": [0],
            "prior_cand": [0],
        },
        "seg depth 10 + code prior (all docs)": {
            "w": W,
            "floor": F,
            "beta": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
            "depth": [10],
            "whole_depth": [100],
            "prior_cand": [0],
        },
    }
    print(
        "| variant | CV recall@10 | CV nDCG@10 | sd | paired Δ | fitted on all "
        "| cand recall@100 | chosen |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, space in variants.items():
        if args.only and args.only not in name:
            continue
        mean, sd, diff, full, _, c100, chosen = cv(c, space, args.folds, args.repeats)
        ch = defaultdict(list)
        for p in chosen:
            for k, v in p.items():
                ch[k].append(v)
        chs = " ".join(f"{k}={sorted(set(v))}" for k, v in ch.items() if len(space[k]) > 1)
        print(
            f"| {name} | {mean['recall@10']:.3f} | {mean['ndcg@10']:.3f} | {sd:.3f} | {diff:+.3f} "
            f"| {full['recall@10']:.3f} / {full['ndcg@10']:.3f} | {c100:.3f} | {chs} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
