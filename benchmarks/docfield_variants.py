"""Document-level fields, query term selection and another embedder for issue 10.

Works on the cache of ``retrieval_variants.py`` (the product's chunks, chunk vectors, query
and segment vectors). Everything is scored exhaustively over all documents, so a variant is
a few numpy operations per query:

* ``lex``: the shipped lexical evidence, a document's best chunk BM25F (top 100 chunks);
* ``vec``: the shipped vector evidence, ``sum_j max(0, best sim_j(d) - floor)`` over the
  whole query (top 100 chunks) and its segments (top 10 chunks each);
* ``dlex``: BM25F over whole documents (title, every heading, all text) as one row each;
* ``tlex``: BM25F over a document's title and headings only;
* ``dvec`` / ``fvec``: the vector evidence against one vector per document (the mean of its
  chunk vectors / its first chunk, which carries the title and first passage);
* query term selection for the lexical side: keep the ``n`` query terms with the highest
  ``idf * weight`` (``--keep``), or drop terms whose idf is below a quantile.

``score = sum_f w_f * f / max(f)``; the weights are fitted by grid on one fold and scored on
the other (folds by query, ``--folds`` x ``--repeats``); "paired" is the held-out recall@10
minus the shipped-equivalent scorer's on the same folds.

    nice -n 10 .venv/bin/python -m benchmarks.docfield_variants --cache /tmp/ret-rv.pkl
"""

from __future__ import annotations

import argparse
import itertools
import math
import pickle
import random
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.knowledge.analysis import LONG_QUERY_STOPWORDS, Analyzer, segments
from frontdesk.knowledge.eval import score_run
from frontdesk.knowledge.lexical_index import Bm25Index, Bm25Params, IndexRow

Params = dict[str, float]
Run = dict[str, list[str]]


class Harness:
    def __init__(
        self, data: dict[str, Any], extra_vectors: Path | None = None, both: bool = False
    ) -> None:
        self.chunks = data["chunks"]
        vectors = data["cvec"]
        self.cids = sorted(
            self.chunks, key=lambda c: (self.chunks[c].source, self.chunks[c].ordinal)
        )
        self.qs = data["qs"]
        self.qrels = data["dataset"].qrels
        self.qids = sorted(self.qs)
        self.docs = sorted({c.source for c in self.chunks.values()})
        self.di = {d: i for i, d in enumerate(self.docs)}
        self.chunk_doc = np.array([self.di[self.chunks[c].source] for c in self.cids])
        self.cpos = {c: i for i, c in enumerate(self.cids)}
        cvec = {
            cid: vectors.get(cid, vectors.get(c.content_hash)) for cid, c in self.chunks.items()
        }
        self.matrix = np.stack([cvec[c] for c in self.cids]).astype(np.float32)
        self.qvecs = {q: np.asarray(self.qs[q]["qvec"], np.float32) for q in self.qids}
        self.matrix2: np.ndarray | None = None
        if extra_vectors is not None:  # another embedder: same chunks and query texts
            with extra_vectors.open("rb") as fh:
                other = pickle.load(fh)
            self.matrix2 = np.stack([other["chunks"][c] for c in self.cids]).astype(np.float32)
            self.qvecs2 = {q: np.asarray(other["queries"][q], np.float32) for q in self.qids}
            if not both:
                self.matrix, self.qvecs = self.matrix2, self.qvecs2
        self.analyzer = Analyzer()
        rows = [
            IndexRow(
                i,
                self.chunks[c].source,
                self.chunks[c].title,
                self.chunks[c].section,
                self.chunks[c].text,
            )
            for i, c in enumerate(self.cids)
        ]
        self.chunk_rows = rows
        self.chunk_index = Bm25Index.build(rows, self.analyzer)
        self._indexes: dict[tuple[float, ...], Bm25Index] = {}
        by_doc: dict[str, list[str]] = defaultdict(list)
        for c in self.cids:
            by_doc[self.chunks[c].source].append(c)
        self.doc_rows = []
        self.title_rows = []
        dmean, dfirst = [], []
        for i, d in enumerate(self.docs):
            parts = [self.chunks[c] for c in by_doc[d]]
            headings = list(dict.fromkeys(p.section for p in parts if p.section))
            text = "\n".join(p.text for p in parts)
            self.doc_rows.append(IndexRow(i, d, parts[0].title, " ; ".join(headings), text))
            self.title_rows.append(IndexRow(i, d, parts[0].title, " ; ".join(headings), ""))
            v = np.mean([self.matrix[self.cpos[c]] for c in by_doc[d]], axis=0)
            dmean.append(v / np.linalg.norm(v))
            dfirst.append(self.matrix[self.cpos[by_doc[d][0]]])
        self.doc_index = Bm25Index.build(self.doc_rows, self.analyzer)
        # product families: documents whose titles share the part before ":" / " — "
        fam: dict[str, int] = {}
        self.family = np.array(
            [
                fam.setdefault(
                    re.split(r":| — | - ", r.title, maxsplit=1)[0].strip().lower(), len(fam)
                )
                for r in self.doc_rows
            ]
        )
        self.family_size = np.bincount(self.family)[self.family]
        self.title_index = Bm25Index.build(
            self.title_rows, self.analyzer, Bm25Params(title_weight=1.0, section_weight=1.0)
        )
        self.dmean = np.stack(dmean)
        self.dfirst = np.stack(dfirst)
        n = len(self.chunk_index)
        df = np.diff(self.chunk_index.offsets).astype(np.float64)
        self.idf = {
            t: float(np.log1p((n - df[i] + 0.5) / (df[i] + 0.5)))
            for t, i in self.chunk_index.vocabulary.items()
        }
        self._feat: dict[Any, np.ndarray] = {}

    # --- query side -----------------------------------------------------------------------

    def selected_text(self, q: str, tau: float, soft: bool = False) -> str | dict[str, float]:
        """The query's segments whose best chunk similarity reaches ``tau`` (the rest match
        nothing in the knowledge base: persona, instructions to the role-player...).
        ``soft``: term weights summed over segments, each weighted by ``best - tau``."""
        text = str(self.qs[q]["text"])
        subs = segments(text)
        best = self.sims(q)[1:].max(axis=1)
        if not len(best):
            return text
        kept = [s for s, b in zip(subs, best, strict=False) if b >= tau]
        kept += subs[len(best) :]
        if not soft:
            return "\n".join(kept) if kept else text
        weights: dict[str, float] = defaultdict(float)
        for seg, b in zip(subs, best, strict=False):
            if b < tau:
                continue
            for t in set(self.analyzer.terms(seg, LONG_QUERY_STOPWORDS)):
                weights[t] += float(b - tau)
        for seg in subs[len(best) :]:
            for t in set(self.analyzer.terms(seg, LONG_QUERY_STOPWORDS)):
                weights[t] += 0.1
        return dict(weights)

    def weights(
        self, q: str, keep: int = 0, idf_min: float = 0.0, tau: float = 0.0, soft: bool = False
    ) -> dict[str, float]:
        if tau > 0:
            sel = self.selected_text(q, tau, soft)
            if isinstance(sel, dict):
                return sel
            counts = Counter(self.analyzer.terms(sel, LONG_QUERY_STOPWORDS))
            return {t: 1.0 + math.log(n) for t, n in counts.items()}
        w = self.analyzer.query_weights(self.qs[q]["text"])
        if idf_min > 0:
            w = {t: x for t, x in w.items() if self.idf.get(t, 99.0) >= idf_min}
        if keep > 0 and len(w) > keep:
            top = sorted(w, key=lambda t: -(self.idf.get(t, 0.0) * w[t]))[:keep]
            w = {t: w[t] for t in top}
        return w

    # --- document features (each max-normalised, cached) ----------------------------------

    def _norm(self, x: np.ndarray) -> np.ndarray:
        top = float(x.max()) if x.size else 0.0
        return x / top if top > 0 else x

    def index(self, bm25: tuple[float, ...]) -> Bm25Index:
        """The chunk index with other BM25F parameters (k1, b, title weight, section weight)."""
        if not bm25:
            return self.chunk_index
        if bm25 not in self._indexes:
            self._indexes[bm25] = Bm25Index.build(self.chunk_rows, self.analyzer, Bm25Params(*bm25))
        return self._indexes[bm25]

    def lex(
        self,
        q: str,
        depth: int = 100,
        keep: int = 0,
        idf_min: float = 0.0,
        bm25: tuple[float, ...] = (),
        tau: float = 0.0,
        soft: bool = False,
    ) -> np.ndarray:
        key = ("lex", q, depth, keep, idf_min, bm25, tau, soft)
        if key not in self._feat:
            s = self.index(bm25).scores(self.weights(q, keep, idf_min, tau, soft))
            out = np.zeros(len(self.docs))
            top = np.argsort(-s, kind="stable")[:depth]
            top = top[s[top] > 0]
            np.maximum.at(out, self.chunk_doc[top], s[top])
            self._feat[key] = self._norm(out)
        return self._feat[key]

    def doclex(self, q: str, which: str, keep: int = 0, idf_min: float = 0.0) -> np.ndarray:
        key = (which, q, keep, idf_min)
        if key not in self._feat:
            index = self.doc_index if which == "dlex" else self.title_index
            s = index.scores(self.weights(q, keep, idf_min)).astype(np.float64)
            self._feat[key] = self._norm(s)
        return self._feat[key]

    def sims(self, q: str) -> np.ndarray:
        key = ("sims", q)
        if key not in self._feat:
            self._feat[key] = self.qvecs[q] @ self.matrix.T
        return self._feat[key]

    def vec(
        self, q: str, floor: float, depth: int = 10, whole: int = 100, second: bool = False
    ) -> np.ndarray:
        key = ("vec", q, floor, depth, whole, second)
        if key not in self._feat:
            if second:
                assert self.matrix2 is not None
                s = self.qvecs2[q] @ self.matrix2.T
            else:
                s = self.sims(q)
            out = np.zeros(len(self.docs))
            for j in range(s.shape[0]):
                k = whole if j == 0 else depth
                top = np.argpartition(-s[j], k)[:k]
                row = np.full(len(self.docs), -1.0)
                np.maximum.at(row, self.chunk_doc[top], s[j][top])
                out += np.maximum(0.0, row - floor)
            self._feat[key] = self._norm(out)
        return self._feat[key]

    def docvec(self, q: str, which: str, floor: float, depth: int = 0) -> np.ndarray:
        key = (which, q, floor, depth)
        if key not in self._feat:
            m = self.dmean if which == "dvec" else self.dfirst
            s = self.qvecs[q] @ m.T  # (query vectors, documents)
            if depth > 0:  # only each vector's top documents
                cut = -np.sort(-s, axis=1)[:, depth - 1 : depth]
                s = np.where(s >= cut, s, -1.0)
            self._feat[key] = self._norm(np.maximum(0.0, s - floor).sum(axis=0))
        return self._feat[key]

    # --- scoring -----------------------------------------------------------------------------

    def score(self, q: str, p: Params) -> np.ndarray:
        keep, idf_min = int(p.get("keep", 0)), p.get("idf_min", 0.0)
        w = p["w"]
        bm25: tuple[float, ...] = ()
        if "k1" in p:
            bm25 = (p["k1"], p["b"], p.get("tw", 2.0), p.get("sw", 1.5))
        tau, soft = p.get("tau", 0.0), bool(p.get("soft", 0))
        s = w * self.lex(q, 100, keep, idf_min, bm25, tau, soft) + (1 - w) * self.vec(q, p["floor"])
        if p.get("vec2", 0):
            s = s + p["vec2"] * self.vec(q, p["floor2"], second=True)
        if p.get("fam", 0):  # a document's family members' evidence (sum or max, not its own)
            g = np.zeros(self.family.max() + 1)
            if p.get("fam_max", 0):
                np.maximum.at(g, self.family, s)
                sib = g[self.family]
            else:
                np.add.at(g, self.family, s)
                sib = (g[self.family] - s) / np.maximum(self.family_size - 1, 1)
            s = s + p["fam"] * sib
        if p.get("dlex", 0):
            s = s + p["dlex"] * self.doclex(q, "dlex", keep, idf_min)
        if p.get("tlex", 0):
            s = s + p["tlex"] * self.doclex(q, "tlex", keep, idf_min)
        if p.get("dvec", 0):
            s = s + p["dvec"] * self.docvec(
                q, "dvec", p.get("dfloor", p["floor"]), int(p.get("ddepth", 0))
            )
        if p.get("fvec", 0):
            s = s + p["fvec"] * self.docvec(
                q, "fvec", p.get("dfloor", p["floor"]), int(p.get("ddepth", 0))
            )
        return s

    def rank(self, q: str, p: Params) -> list[str]:
        s = self.score(q, p)
        order = np.lexsort((np.arange(len(self.docs)), -s))
        return [self.docs[i] for i in order[:100]]

    def evaluate(self, run: Run, ids: list[str]) -> dict[str, float]:
        return score_run({q: run[q] for q in ids}, {q: self.qrels[q] for q in ids})

    def cand_recall(self, run: Run, k: int) -> float:
        return statistics.mean(
            len(set(run[q][:k]) & set(self.qrels[q])) / len(self.qrels[q]) for q in run
        )


SHIPPED: Params = {"w": 0.7, "floor": 0.3}


def grid(space: dict[str, list[float]]) -> list[Params]:
    keys = list(space)
    return [dict(zip(keys, v, strict=True)) for v in itertools.product(*space.values())]


def cv(
    h: Harness, space: dict[str, list[float]], folds: int, repeats: int, base: Run | None = None
) -> dict[str, Any]:
    params = grid(space)
    runs = [{q: h.rank(q, p) for q in h.qids} for p in params]
    base = base or {q: h.rank(q, SHIPPED) for q in h.qids}
    held, diffs, chosen = [], [], []
    for r in range(repeats):
        order = h.qids[:]
        random.Random(r).shuffle(order)
        parts = [order[i::folds] for i in range(folds)]
        for i, test in enumerate(parts):
            train = [q for j, part in enumerate(parts) if j != i for q in part]

            def obj(k: int, train: list[str] = train) -> float:
                m = h.evaluate(runs[k], train)
                return m["recall@10"] + m["ndcg@10"]

            best = max(range(len(params)), key=obj)
            chosen.append(params[best])
            m = h.evaluate(runs[best], test)
            held.append(m)
            diffs.append(m["recall@10"] - h.evaluate(base, test)["recall@10"])

    def allobj(k: int) -> float:
        m = h.evaluate(runs[k], h.qids)
        return m["recall@10"] + m["ndcg@10"]

    full_best = max(range(len(params)), key=allobj)
    return {
        "recall": statistics.mean(x["recall@10"] for x in held),
        "ndcg": statistics.mean(x["ndcg@10"] for x in held),
        "sd": statistics.pstdev(x["recall@10"] for x in held),
        "sd_ndcg": statistics.pstdev(x["ndcg@10"] for x in held),
        "paired": statistics.mean(diffs),
        "full": h.evaluate(runs[full_best], h.qids),
        "full_params": params[full_best],
        "cand100": h.cand_recall(runs[full_best], 100),
        "chosen": chosen,
    }


W = [0.5, 0.6, 0.7, 0.8, 0.9]
F = [0.2, 0.3, 0.4]
B = [0.0, 0.1, 0.2, 0.3, 0.5]
F2 = [0.78, 0.8, 0.82]  # the second embedder's floors (e5's cosines are high; --floors2)


def variants() -> dict[str, dict[str, list[float]]]:
    return {
        "shipped-equivalent, grid refit": {"w": W, "floor": F},
        "vector side alone": {"w": [0.0], "floor": F},
        "hybrid, lexical weight 0.3-0.9": {"w": [0.3, 0.4, *W], "floor": F},
        "+ whole-document BM25F": {"w": W, "floor": F, "dlex": B},
        "+ title+headings BM25F": {"w": W, "floor": F, "tlex": B},
        "+ document mean vector": {"w": W, "floor": F, "dvec": B, "dfloor": F},
        "+ first-chunk vector": {"w": W, "floor": F, "fvec": B, "dfloor": F},
        "+ doc mean vector, top-10 docs per query vector": {
            "w": W,
            "floor": F,
            "dvec": B,
            "dfloor": F,
            "ddepth": [10],
        },
        "BM25F k1 1.2-3, b 0.75-1.0": {
            "w": W,
            "floor": F,
            "k1": [1.2, 1.5, 2.0, 3.0],
            "b": [0.75, 0.9, 1.0],
        },
        "BM25F title/section weight": {
            "w": W,
            "floor": F,
            "k1": [1.5],
            "b": [0.75],
            "tw": [1.0, 2.0, 4.0],
            "sw": [0.5, 1.5, 3.0],
        },
        "lexical query = segments with best sim ≥ τ": {
            "w": W,
            "floor": F,
            "tau": [0.3, 0.35, 0.4, 0.45, 0.5],
        },
        "lexical query terms weighted by segment best sim − τ": {
            "w": W,
            "floor": F,
            "tau": [0.2, 0.3, 0.4],
            "soft": [1],
        },
        "+ second embedder's vector evidence (--both)": {
            "w": W,
            "floor": F,
            "vec2": [0.0, 0.1, 0.2, 0.3, 0.5],
            "floor2": F2,
        },
        "+ title-family evidence (mean of siblings)": {
            "w": W,
            "floor": F,
            "fam": [0.0, 0.1, 0.2, 0.3, 0.5],
        },
        "+ title-family evidence (max of family)": {
            "w": W,
            "floor": F,
            "fam": [0.0, 0.1, 0.2, 0.3, 0.5],
            "fam_max": [1],
        },
        "query terms: keep top n by idf·w": {"w": W, "floor": F, "keep": [20, 40, 80, 160]},
        "query terms: idf ≥ t": {"w": W, "floor": F, "idf_min": [1.0, 1.5, 2.0, 2.5, 3.0]},
        "+ whole-document BM25F + doc mean vector": {
            "w": W,
            "floor": F,
            "dlex": [0.0, 0.1, 0.2, 0.3],
            "dvec": [0.0, 0.1, 0.2, 0.3],
            "dfloor": F[1:2],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--vectors", type=Path, help="another embedder's vectors (embed_variants)")
    parser.add_argument("--both", action="store_true", help="keep MiniLM, add --vectors as vec2")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--floors", type=float, nargs="+", help="vector floors to grid (default 0.2 0.3 0.4)"
    )
    parser.add_argument("--floors2", type=float, nargs="+", help="the --both embedder's floors")
    parser.add_argument(
        "--paired-vs-minilm",
        action="store_true",
        help="with --vectors alone: paired delta vs the shipped MiniLM run, not the same space's",
    )
    args = parser.parse_args()
    if args.floors2:
        F2[:] = args.floors2
    if args.floors:
        F[:] = args.floors
        SHIPPED["floor"] = args.floors[len(args.floors) // 2]
    with args.cache.open("rb") as fh:
        data = pickle.load(fh)
    h = Harness(data, args.vectors, args.both)
    base = {q: h.rank(q, SHIPPED) for q in h.qids}
    shipped: Run | None = None
    if args.paired_vs_minilm:
        m0 = Harness(data)
        shipped = {q: m0.rank(q, {"w": 0.7, "floor": 0.3}) for q in m0.qids}
        m = m0.evaluate(shipped, m0.qids)
        print(f"MiniLM shipped (w 0.7, floor 0.3): {m['recall@10']:.3f} / {m['ndcg@10']:.3f}")
    m = h.evaluate(base, h.qids)
    print(
        f"shipped-equivalent (w 0.7, floor {SHIPPED['floor']}): recall@10 {m['recall@10']:.3f} "
        f"nDCG@10 {m['ndcg@10']:.3f}, candidate recall@100 {h.cand_recall(base, 100):.3f}"
    )
    print(
        "| variant | CV recall@10 (sd) | CV nDCG@10 (sd) | paired Δ | fitted on all 48 "
        "| cand recall@100 | folds chose |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, space in variants().items():
        if args.only and args.only not in name:
            continue
        if "vec2" in space and h.matrix2 is None:
            continue
        r = cv(h, space, args.folds, args.repeats, shipped)
        ch: dict[str, set[float]] = defaultdict(set)
        for p in r["chosen"]:
            for k, v in p.items():
                ch[k].add(v)
        chs = " ".join(f"{k}={sorted(v)}" for k, v in ch.items() if len(space[k]) > 1)
        full = r["full"]
        print(
            f"| {name} | {r['recall']:.3f} ({r['sd']:.3f}) | {r['ndcg']:.3f} ({r['sd_ndcg']:.3f}) "
            f"| {r['paired']:+.3f} | {full['recall@10']:.3f} / {full['ndcg@10']:.3f} "
            f"| {r['cand100']:.3f} | {chs} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
