"""Corpus-adapted vectors, title lists and document expansion for issue 10 (none shipped).

Works on the cache of ``retrieval_variants.py`` (the product's chunks, chunk vectors, query
and segment vectors, BM25F hits), plus MiniLM vectors of every document title and every
chunk's "title — section" heading, embedded once with the product's embedder and kept in
``--extra FILE.npz``.

The scorer is the shipped fusion at document level, computed exhaustively in numpy:
``w * lex / max(lex) + (1 - w) * vec / max(vec) [+ wt * title / max(title)]`` where ``lex`` is a
document's best BM25F chunk (top 100), ``vec = sum_j max(0, best sim_j(d) - floor)`` over the
whole query (its top 100 chunks) and each segment (its top 10 chunks). With the identity space
and w 0.7 / floor 0.3 it ranks as ``fusion.fuse`` does.

Variants change only what is label-free and fitted on the corpus (at ingest):

* a linear map ``x -> A x`` of every vector (queries, segments, chunks), then L2-normalised and
  its cosines rescaled to the identity space's chunk-to-chunk mean and spread (so one floor grid
  fits every space):
  ``abtt``: "all but the top" (remove the corpus mean and the top D principal directions);
  ``disc``: in the corpus's principal basis, scale each direction by (between-document share of
  its variance) ** alpha (down-weights what varies inside a document: formatting, list-ness);
  ``lda``: regularised within-document whitening ``(S_w + lam * mean(diag S_t) I) ** -1/2``;
  ``ridge``: a map of short texts (titles, headings) onto their chunks,
  ``argmin_A sum ||A t - c||^2 + lam ||A - I||^2``, applied to the query side only;
* ``title``: a third list, each query vector against one vector per document title;
* ``expand``: document expansion in vector space, ``c + gamma * mean(title vectors of the
  document's k nearest documents)``.

Every parameter is fitted by grid on one fold and scored on the other (folds by query,
``--folds`` x ``--repeats``); "paired" is the held-out recall@10 minus the shipped fusion's
on the same folds, with its sd over folds.

    nice -n 10 .venv/bin/python -m benchmarks.adapt_variants --cache /tmp/rv.pkl \
        --extra /tmp/rv-extra.npz            # the variant table (``--only TEXT`` for some)
    ... --analyse                            # where the 24 hardest queries' documents rank
    ... --timing                             # CPU cost of fitting and applying each map

Measured 2026-12-03 (2 folds x 5; CV recall@10, paired delta vs shipped): every label-free
variant is below the shipped fusion (-0.011 to -0.023; refitting the shipped grid alone
-0.006). Corpus maps also lower vector-only recall@10 (identity 0.256; contrastive 400
steps 0.236, all-but-the-top 0.204). Diagnostics that use the judgments by document id
(not general): a fold-fitted popularity prior +0.030 (0.370), a first-page-of-family prior
+0.004. None adopted; see BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import pickle
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.retrieval_variants import Bench
from frontdesk.knowledge.analysis import Analyzer, segments
from frontdesk.knowledge.chunking import embedding_text
from frontdesk.knowledge.eval import score_run
from frontdesk.knowledge.fusion import FusionParams
from frontdesk.knowledge.lexical_index import Bm25Index, IndexRow

Params = dict[str, Any]
Run = dict[str, list[str]]
Arr = Any


def embed_extra(b: Bench, path: Path) -> dict[str, Arr]:
    """Title vectors (per document) and heading vectors (per chunk), embedded once."""
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    from frontdesk.knowledge.embedding import LocalEmbedder

    embedder = LocalEmbedder.load()
    docs = sorted(b.doc_chunks)
    first = {d: b.chunks[min(b.doc_chunks[d], key=lambda c: b.chunks[c].ordinal)] for d in docs}
    titles = [first[d].title for d in docs]
    heads = [embedding_text(b.chunks[c].title, b.chunks[c].section, "") for c in b.cids]
    t0 = time.process_time()
    tv = asyncio.run(embedder.embed(titles, "document"))
    hv = asyncio.run(embedder.embed(heads, "document"))
    print(
        f"# embedded {len(titles)} titles + {len(heads)} headings: "
        f"{time.process_time() - t0:.1f} CPU s"
    )
    out = {"titles": np.asarray(tv), "heads": np.asarray(hv)}
    np.savez(path, titles=out["titles"], heads=out["heads"])
    return out


def _unit(x: Arr) -> Arr:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


class Adapt:
    def __init__(self, b: Bench, extra: dict[str, Arr]) -> None:
        self.b = b
        self.docs = sorted(b.doc_chunks)
        self.di = {d: i for i, d in enumerate(self.docs)}
        self.cids = b.cids
        self.chunk_doc = np.array([self.di[b.chunks[c].source] for c in self.cids])
        self.M = np.asarray(b.matrix, dtype=np.float64)
        self.T = np.asarray(extra["titles"], dtype=np.float64)
        self.H = np.asarray(extra["heads"], dtype=np.float64)
        self.qids = b.qids
        self.Q = {q: np.asarray(b.qs[q]["qvec"], dtype=np.float64) for q in self.qids}
        self.lex = {}
        for q in self.qids:
            v = np.zeros(len(self.docs))
            for c, s in b.qs[q]["lex"]:
                i = self.di[b.chunks[c].source]
                v[i] = max(v[i], s)
            self.lex[q] = v
        self.ref = self._cc_stats(self.M)
        self.first = np.array([d.endswith("_001") for d in self.docs], float)
        self.analyzer = Analyzer()
        self.rows = [
            IndexRow(
                i, b.chunks[c].source, b.chunks[c].title, b.chunks[c].section, b.chunks[c].text
            )
            for i, c in enumerate(self.cids)
        ]
        self.indexes: dict[Any, Bm25Index] = {(): Bm25Index.build(self.rows, self.analyzer)}
        self.lexcache: dict[Any, Arr] = {}
        self.boiler_cache: dict[float, dict[str, Arr]] = {}
        # corpus statistics for the maps
        self.mu = self.M.mean(0)
        xc = self.M - self.mu
        self.St = xc.T @ xc / len(xc)
        dm = np.zeros((len(self.docs), self.M.shape[1]))
        np.add.at(dm, self.chunk_doc, self.M)
        dm /= np.bincount(self.chunk_doc)[:, None]
        xw = self.M - dm[self.chunk_doc]
        self.Sw = xw.T @ xw / len(xw)
        self.evals, self.evecs = np.linalg.eigh(self.St)
        self.spaces: dict[Any, tuple[Arr, Arr, Arr, tuple[float, float]]] = {}
        self.sims: dict[Any, dict[str, Arr]] = {}

    def _cc_stats(self, m: Arr) -> tuple[float, float]:
        rng = np.random.default_rng(0)
        i = rng.choice(len(m), size=min(800, len(m)), replace=False)
        s = m[i] @ m[i].T
        off = s[~np.eye(len(i), dtype=bool)]
        return float(off.mean()), float(off.std())

    # --- the linear maps ---------------------------------------------------------------------

    def space(self, kind: str, a: float, k: int = 0) -> tuple[Arr, Arr, Arr, tuple[float, float]]:
        """(query map, chunk map, title map as functions' matrices, cosine calibration)."""
        key = (kind, a, k)
        if key in self.spaces:
            return self.spaces[key]
        dim = self.M.shape[1]
        eye = np.eye(dim)
        shift = np.zeros(dim)
        qa = ca = eye
        if kind == "abtt":  # remove the mean and top-k principal directions
            top = self.evecs[:, ::-1][:, : int(a)]
            ca = qa = eye - top @ top.T
            shift = self.mu
        elif kind == "disc":
            u = self.evecs
            tvar = np.maximum(np.einsum("ij,jk,ki->i", u.T, self.St, u), 1e-12)
            wvar = np.einsum("ij,jk,ki->i", u.T, self.Sw, u)
            share = np.clip(1 - wvar / tvar, 1e-3, 1)
            ca = qa = u @ np.diag(share**a) @ u.T
        elif kind == "lda":
            s = self.Sw + a * float(np.mean(np.diag(self.St))) * eye
            e, v = np.linalg.eigh(s)
            ca = qa = v @ np.diag(e**-0.5) @ v.T
        elif kind == "ridge":  # short text (title / heading) -> its chunk, query side only
            src = self.H
            tgt = self.M
            xtx = src.T @ src
            lam = a * float(np.trace(xtx)) / dim
            qa = np.linalg.solve(xtx + lam * eye, src.T @ tgt + lam * eye).T
        elif kind == "nce":  # bilinear x' B y, contrastive on corpus pairs, B = A^T A
            e, v = np.linalg.eigh(self.nce(int(a)))
            ca = qa = v @ np.diag(np.sqrt(np.clip(e, 1e-6, None))) @ v.T
        out = (qa, ca, shift, (0.0, 1.0))
        mc = _unit((self.M - shift) @ ca.T)
        m, s = self._cc_stats(mc)
        out = (qa, ca, shift, (m, s))
        self.spaces[key] = out
        return out

    def nce(self, steps: int, tau: float = 0.05, lr: float = 0.5, seed: int = 0) -> Arr:
        """InfoNCE with in-batch negatives on (heading, its chunk) and (chunk, another chunk
        of its document) pairs; full-batch gradient steps on B = I + delta."""
        key = ("nce", steps)
        if key in self.spaces:
            b_mat: Arr = self.spaces[key]
            return b_mat
        rng = np.random.default_rng(seed)
        sib = np.arange(len(self.M))
        for i in range(len(self.M)):
            same = np.flatnonzero(self.chunk_doc == self.chunk_doc[i])
            others = same[same != i]
            sib[i] = rng.choice(others) if len(others) else i
        x = np.vstack([_unit(self.H), self.M])
        y = np.vstack([self.M, self.M[sib]])
        b_mat = np.eye(self.M.shape[1])
        n = len(x)
        for _ in range(steps):
            idx = rng.choice(n, size=min(1024, n), replace=False)
            xb, yb = x[idx], y[idx]
            logits = xb @ b_mat @ yb.T / tau
            logits -= logits.max(1, keepdims=True)
            pr = np.exp(logits)
            pr /= pr.sum(1, keepdims=True)
            pr[np.arange(len(idx)), np.arange(len(idx))] -= 1.0
            grad = xb.T @ pr @ yb / (tau * len(idx))
            b_mat -= lr * (grad + grad.T) / 2
        self.spaces[key] = b_mat
        return b_mat

    def chunk_matrix(self, p: Params) -> Arr:
        kind = str(p.get("kind", "id"))
        _, ca, shift, _ = self.space(kind, p.get("a", 0.0))
        mc = (self.M - shift) @ ca.T
        g = p.get("gamma", 0.0)
        if g:
            mc = _unit(mc)
            tv = _unit((self.T - shift) @ ca.T)
            k = int(p.get("nn", 3))
            dv = _unit(np.stack([mc[self.chunk_doc == i].mean(0) for i in range(len(self.docs))]))
            dd = dv @ dv.T
            np.fill_diagonal(dd, -np.inf)
            nn = np.argsort(-dd, axis=1)[:, :k]
            mc = mc + g * tv[nn].mean(1)[self.chunk_doc]
        return _unit(mc)

    def query_sims(self, q: str, p: Params) -> Arr:
        """(query vectors x chunks) cosines, calibrated to the identity space's spread."""
        kind = str(p.get("kind", "id"))
        key = (kind, p.get("a", 0.0), p.get("gamma", 0.0), p.get("nn", 3))
        cache = self.sims.setdefault(key, {})
        if q not in cache:
            if "_m" not in cache:
                cache["_m"] = self.chunk_matrix(p)
                mc = cache["_m"]
                m, s = self._cc_stats(mc)
                cache["_cal"] = (m, s)
            qa, _, shift, _ = self.space(kind, p.get("a", 0.0))
            qv = _unit((self.Q[q] - shift) @ qa.T)
            s = qv @ cache["_m"].T
            m, sd = cache["_cal"]
            if kind != "id":
                s = self.ref[0] + (s - m) * self.ref[1] / sd
            cache[q] = s
        sims: Arr = cache[q]
        return sims

    def title_sims(self, q: str) -> Arr:
        key = ("title", q)
        if key not in self.spaces:
            self.spaces[key] = self.Q[q] @ _unit(self.T).T
        out: Arr = self.spaces[key]
        return out

    # --- lexical side: document expansion, boilerplate segments --------------------------------

    def nn_docs(self, k: int) -> Arr:
        dv = _unit(np.stack([self.M[self.chunk_doc == i].mean(0) for i in range(len(self.docs))]))
        dd = dv @ dv.T
        np.fill_diagonal(dd, -np.inf)
        return np.argsort(-dd, axis=1)[:, :k]

    def index(self, expand: int) -> Bm25Index:
        """The chunk index, each chunk's text followed by the titles of its document's
        ``expand`` nearest documents (mean chunk vectors)."""
        if expand not in self.indexes:
            nn = self.nn_docs(expand)
            titles = [self.b.chunks[self.b.doc_chunks[d][0]].title for d in self.docs]
            rows = [
                IndexRow(
                    r.label,
                    r.document_id,
                    r.title,
                    r.section,
                    r.text + "\n" + " ; ".join(titles[j] for j in nn[self.chunk_doc[i]]),
                )
                for i, r in enumerate(self.rows)
            ]
            self.indexes[expand] = Bm25Index.build(rows, self.analyzer)
        return self.indexes[expand]

    def title_vocabulary(self) -> set[str]:
        if not hasattr(self, "_tvoc"):
            heads = {(self.b.chunks[c].title, self.b.chunks[c].section) for c in self.cids}
            self._tvoc = {t for h in heads for t in self.analyzer.terms(" \n ".join(h))}
        return self._tvoc

    def boiler(self, q: str, cut: float) -> Arr:
        """Per segment: how many other queries say nearly the same (cosine >= ``cut``)."""
        if cut not in self.boiler_cache:
            out = {}
            for q1 in self.qids:
                s1 = _unit(self.Q[q1][1:])
                cnt = np.zeros(len(s1))
                for q2 in self.qids:
                    if q2 != q1 and len(s1) and len(self.Q[q2]) > 1:
                        cnt += (s1 @ _unit(self.Q[q2][1:]).T).max(1) >= cut
                out[q1] = cnt
            self.boiler_cache[cut] = out
        return self.boiler_cache[cut][q]

    def lexical(self, q: str, p: Params) -> Arr:
        expand, mq = int(p.get("lexpand", 0)), int(p.get("boiler", 0))
        depth = int(p.get("lexdepth", 100))
        tvoc = float(p.get("tvocab", 0.0))
        if not expand and not mq and depth == 100 and not tvoc:
            return self.lex[q]
        key = (q, expand, mq, depth, tvoc)
        if key not in self.lexcache:
            text = str(self.b.qs[q]["text"])
            if mq:
                subs = segments(text)[: len(self.Q[q]) - 1]
                qf = self.boiler(q, 0.9)
                kept = [s for s, n in zip(subs, qf, strict=False) if n < mq]
                text = "\n".join(kept) if kept else text
            weights = self.analyzer.query_weights(text)
            if tvoc:  # project the query on the titles' and headings' vocabulary
                voc = self.title_vocabulary()
                weights = {t: x * (1.0 if t in voc else 1.0 - tvoc) for t, x in weights.items()}
            s = self.index(expand).scores(weights)
            out = np.zeros(len(self.docs))
            top = np.argsort(-s, kind="stable")[:depth]
            top = top[s[top] > 0]
            np.maximum.at(out, self.chunk_doc[top], s[top])
            self.lexcache[key] = out
        v: Arr = self.lexcache[key]
        return v

    # --- the scorer ----------------------------------------------------------------------------

    def vec(
        self, s: Arr, floor: float, depth: int = 10, whole: int = 100, power: float = 1.0
    ) -> Arr:
        out = np.zeros(len(self.docs))
        for j in range(s.shape[0]):
            k = whole if j == 0 else depth
            top = np.argpartition(-s[j], k)[:k]
            row = np.full(len(self.docs), -1.0)
            np.maximum.at(row, self.chunk_doc[top], s[j][top])
            out += np.maximum(0.0, row - floor) ** power
        return out

    def seg_rank(self, s: Arr, floor: float, r: int, kk: float) -> Arr:
        """Per segment, its top ``r`` documents (above the floor) get 1 / (kk + rank)."""
        out = np.zeros(len(self.docs))
        for j in range(1, s.shape[0]):
            top = np.argpartition(-s[j], 30)[:30]
            row = np.full(len(self.docs), -1.0)
            np.maximum.at(row, self.chunk_doc[top], s[j][top])
            order = np.argsort(-row)[:r]
            for rank, i in enumerate(order):
                if row[i] > floor:
                    out[i] += 1.0 / (kk + rank)
        return out

    def rank(self, q: str, p: Params) -> list[str]:
        w, floor = p["w"], p["floor"]
        sims = self.query_sims(q, p)
        mq = int(p.get("boiler", 0))
        if mq and sims.shape[0] > 1:
            keep = np.r_[True, self.boiler(q, 0.9) < mq]
            sims = sims[keep] if keep.sum() > 1 else sims
        v = self.vec(sims, floor, int(p.get("depth", 10)), power=p.get("vpow", 1.0))
        lx = self.lexical(q, p)
        score = w * lx / (lx.max() or 1.0) + (1 - w) * v / (v.max() or 1.0)
        cand = (v > 0) | (lx > 0)
        wr = p.get("wr", 0.0)
        if wr:
            sr = self.seg_rank(sims, floor, int(p.get("rr", 3)), p.get("rrk", 1.0))
            score = score + wr * sr / (sr.max() or 1.0)
        wt = p.get("wt", 0.0)
        if wt:
            ts = self.title_sims(q)
            tf = p.get("tfloor", 0.4)
            tdepth = int(p.get("tdepth", 10))
            tv = np.zeros(len(self.docs))
            for j in range(ts.shape[0]):
                top = np.argpartition(-ts[j], tdepth)[:tdepth]
                tv[top] += np.maximum(0.0, ts[j][top] - tf)
            score = score + wt * tv / (tv.max() or 1.0)
            cand |= tv > 0
        first = p.get("first", 0.0)
        if first:  # diagnostic only: the first page of each id family (``..._001``)
            score = score + first * self.first * cand
        pop = p.get("pop", 0.0)
        if pop:  # diagnostic only: judged-relevant frequency in the training queries
            score = score + pop * self.prior * cand
        order = np.lexsort((np.arange(len(self.docs)), -score))
        return [self.docs[i] for i in order if cand[i]]

    def set_prior(self, train: list[str]) -> None:
        c = np.zeros(len(self.docs))
        for q in train:
            for d in self.b.qrels[q]:
                if d in self.di:
                    c[self.di[d]] += 1
        self.prior = c / max(len(train), 1)

    def evaluate(self, run: Run, ids: list[str]) -> dict[str, float]:
        return score_run({q: run[q] for q in ids}, {q: self.b.qrels[q] for q in ids})


def timing(a: Adapt) -> None:
    """CPU cost: fitting each map on the corpus (ingest) and applying it to one query."""
    for kind, val in [("abtt", 2), ("disc", 1), ("lda", 0.3), ("ridge", 1), ("nce", 100)]:
        a.spaces.clear()
        t0 = time.process_time()
        qa, ca, shift, _ = a.space(kind, val)
        fit = time.process_time() - t0
        t0 = time.process_time()
        mc = _unit((a.M - shift) @ ca.T)
        per_chunk = (time.process_time() - t0) / len(a.M) * 1e3
        qs = a.qids
        t0 = time.process_time()
        for q in qs:
            _unit((a.Q[q] - shift) @ qa.T) @ mc.T
        per_q = (time.process_time() - t0) / len(qs) * 1e3
        print(
            f"# {kind} {val}: fit {fit:.2f} CPU s; map {per_chunk:.4f} ms/chunk; "
            f"query vectors mapped + scored {per_q:.2f} ms/query (~33 vectors)"
        )
    t0 = time.process_time()
    for q in a.qids:
        a.Q[q] @ a.M.T
    print(f"# identity: scored {(time.process_time() - t0) / len(a.qids) * 1e3:.2f} ms/query")


def analyse(a: Adapt, base: Run, worst: int = 24) -> None:
    """Where the judged documents of the hardest queries are, and what kind they are."""
    b = a.b
    rec = {q: len(set(base[q][:10]) & set(b.qrels[q])) / len(b.qrels[q]) for q in a.qids}
    hard = sorted(a.qids, key=lambda q: rec[q])[:worst]
    kinds: dict[str, list[int]] = defaultdict(list)
    for q in hard:
        ranks = {d: i for i, d in enumerate(base[q])}
        s = a.query_sims(q, {"kind": "id"})
        seg_best = np.full(len(a.docs), 10**6)
        for j in range(s.shape[0]):
            order = np.argsort(-s[j])
            r = np.empty(len(order), int)
            r[order] = np.arange(len(order))
            dr = np.full(len(a.docs), 10**6)
            np.minimum.at(dr, a.chunk_doc, r)
            seg_best = np.minimum(seg_best, dr)
        lx = a.lex[q]
        lrank = {a.docs[i]: k for k, i in enumerate(np.argsort(-lx)) if lx[i] > 0}
        missed = []
        for d in b.qrels[q]:
            title = b.chunks[b.doc_chunks[d][0]].title
            kind = "internal" if "internal" in title.lower() else "customer-facing"
            rk = ranks.get(d, 999)
            kinds[kind].append(rk)
            if rk >= 10:
                missed.append(
                    f"{title[:48]} (fused {rk}, best segment chunk-rank "
                    f"{int(seg_best[a.di[d]])}, lexical {lrank.get(d, '-')})"
                )
        print(f"## {q} recall@10 {rec[q]:.2f}, {len(b.qrels[q])} judged; missed:")
        for m in missed:
            print("   -", m)
    for k, rs in kinds.items():
        arr = np.array(rs)
        print(
            f"# {k}: {len(arr)} judgments in the {worst} hardest queries, in top 10 "
            f"{(arr < 10).mean():.2f}, top 30 {(arr < 30).mean():.2f}, top 100 "
            f"{(arr < 100).mean():.2f}, median rank {np.median(arr):.0f}"
        )


def grid(space: dict[str, list[Any]]) -> list[Params]:
    keys = list(space)
    return [dict(zip(keys, v, strict=True)) for v in itertools.product(*space.values())]


def cv(
    a: Adapt, space: dict[str, list[Any]], folds: int, repeats: int, base: Run
) -> dict[str, Any]:
    params = grid(space)
    qids = a.qids
    per_fold = "pop" in space  # the prior is fitted on the training queries

    def metrics(ids: list[str]) -> list[dict[str, dict[str, float]]]:
        runs = [{q: a.rank(q, p) for q in ids} for p in params]
        return [{q: a.evaluate(r, [q]) for q in ids} for r in runs]

    per = [] if per_fold else metrics(qids)
    bper = {q: a.evaluate(base, [q]) for q in qids}

    def mean(table: list[dict[str, dict[str, float]]], k: int, ids: list[str], m: str) -> float:
        return statistics.mean(table[k][q][m] for q in ids)

    def best_of(table: list[dict[str, dict[str, float]]], ids: list[str]) -> int:
        return max(
            range(len(params)),
            key=lambda k: mean(table, k, ids, "recall@10") + mean(table, k, ids, "ndcg@10"),
        )

    held_r, held_n, diffs, chosen = [], [], [], []
    for r in range(repeats):
        order = qids[:]
        random.Random(r).shuffle(order)
        parts = [order[i::folds] for i in range(folds)]
        for i, test in enumerate(parts):
            train = [q for j, part in enumerate(parts) if j != i for q in part]
            if per_fold:
                a.set_prior(train)
                per = metrics(qids)
            best = best_of(per, train)
            chosen.append(params[best])
            held_r.append(mean(per, best, test, "recall@10"))
            held_n.append(mean(per, best, test, "ndcg@10"))
            diffs.append(held_r[-1] - statistics.mean(bper[q]["recall@10"] for q in test))
    if per_fold:
        a.set_prior(qids)
        per = metrics(qids)
    fb = best_of(per, qids)
    runs_fb = {q: a.rank(q, params[fb]) for q in qids}
    return {
        "recall": statistics.mean(held_r),
        "ndcg": statistics.mean(held_n),
        "sd": statistics.pstdev(held_r),
        "diff": statistics.mean(diffs),
        "diff_sd": statistics.pstdev(diffs),
        "full": (mean(per, fb, qids, "recall@10"), mean(per, fb, qids, "ndcg@10")),
        "full_params": params[fb],
        "chosen": chosen,
        "cand100": statistics.mean(
            len(set(runs_fb[q][:100]) & set(a.b.qrels[q])) / len(a.b.qrels[q]) for q in qids
        ),
    }


W = [0.5, 0.6, 0.7, 0.8, 0.9]
F = [0.2, 0.3, 0.4]


def variants() -> dict[str, dict[str, list[Any]]]:
    base = {"w": W, "floor": F}
    return {
        "doc scorer = shipped, refit": {**base, "kind": ["id"]},
        "all-but-the-top D 1/2/5/10": {**base, "kind": ["abtt"], "a": [1, 2, 5, 10]},
        "between-document share ** alpha 0.5/1/2": {**base, "kind": ["disc"], "a": [0.5, 1, 2]},
        "within-document whitening lam 0.1/0.3/1": {**base, "kind": ["lda"], "a": [0.1, 0.3, 1]},
        "heading->chunk ridge map on queries lam 0.3/1/3": {
            **base,
            "kind": ["ridge"],
            "a": [0.3, 1, 3],
        },
        "contrastive bilinear map (heading/sibling pairs), 25/100/400 steps": {
            **base,
            "kind": ["nce"],
            "a": [25, 100, 400],
        },
        "+ title list (wt 0.1-0.5, floor 0.3/0.4)": {
            **base,
            "kind": ["id"],
            "wt": [0.1, 0.2, 0.3, 0.5],
            "tfloor": [0.3, 0.4],
        },
        "vector doc expansion (3 NN titles, gamma 0.1/0.2/0.4)": {
            **base,
            "kind": ["id"],
            "gamma": [0.1, 0.2, 0.4],
        },
        "lexical doc expansion (titles of 1/3 NN documents)": {
            **base,
            "kind": ["id"],
            "lexpand": [1, 3],
        },
        "drop segments that >= 2/4/8 other queries also say (cos >= 0.9)": {
            **base,
            "kind": ["id"],
            "boiler": [2, 4, 8],
        },
        "+ segment top-r documents, 1/(k + rank) (r 1/3/5, k 1/3, weight 0.1-0.4)": {
            **base,
            "kind": ["id"],
            "wr": [0.1, 0.2, 0.4],
            "rr": [1, 3, 5],
            "rrk": [1, 3],
        },
        "lexical evidence from every chunk (not the top 100) / top 300": {
            **base,
            "kind": ["id"],
            "lexdepth": [300, 100000],
        },
        "lexical query projected on title/heading vocabulary (others x 0.5 / x 0)": {
            **base,
            "kind": ["id"],
            "tvocab": [0.5, 1.0],
        },
        "vector gains ** 0.5 / 2": {**base, "kind": ["id"], "vpow": [0.5, 2]},
        "diagnostic, not general: first page of each id family prior": {
            **base,
            "kind": ["id"],
            "first": [0.05, 0.1, 0.2, 0.3],
        },
        "diagnostic, not general: popularity prior by document id (fold-fitted)": {
            **base,
            "kind": ["id"],
            "pop": [0.1, 0.2, 0.4, 0.8],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--extra", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="")
    parser.add_argument("--timing", action="store_true", help="CPU cost of the maps")
    parser.add_argument("--analyse", action="store_true", help="the 24 hardest queries")
    args = parser.parse_args()
    with args.cache.open("rb") as fh:
        data = pickle.load(fh)
    b = Bench(data)
    extra = embed_extra(b, args.extra)
    a = Adapt(b, extra)
    base = {q: b.ranked(q, FusionParams()) for q in b.qids}
    m = a.evaluate(base, b.qids)
    d = a.evaluate({q: a.rank(q, {"w": 0.7, "floor": 0.3}) for q in b.qids}, b.qids)
    print(
        f"# shipped fuse {m['recall@10']:.3f} / {m['ndcg@10']:.3f}; document scorer at 0.7/0.3 "
        f"{d['recall@10']:.3f} / {d['ndcg@10']:.3f}; {args.folds} folds x {args.repeats}"
    )
    if args.timing:
        timing(a)
        return
    if args.analyse:
        analyse(a, base)
        return
    print(
        "| variant | CV recall@10 | CV nDCG@10 | sd | paired Δ (sd) | fitted on all "
        "| cand recall@100 | chosen |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    vs = variants()
    for name, space in vs.items():
        if args.only and args.only not in name:
            continue
        t0 = time.process_time()
        r = cv(a, space, args.folds, args.repeats, base)
        ch: dict[str, list[Any]] = defaultdict(list)
        for p in r["chosen"]:
            for k, v in p.items():
                ch[k].append(v)
        chs = " ".join(f"{k}={sorted(set(v))}" for k, v in ch.items() if len(space[k]) > 1)
        print(
            f"| {name} | {r['recall']:.3f} | {r['ndcg']:.3f} | {r['sd']:.3f} | "
            f"{r['diff']:+.3f} ({r['diff_sd']:.3f}) | {r['full'][0]:.3f} / {r['full'][1]:.3f} "
            f"| {r['cand100']:.3f} | {chs} | {time.process_time() - t0:.0f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
