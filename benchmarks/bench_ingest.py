"""Ingest throughput as a fraction of the raw embedding model's throughput.

Builds a corpus by copying the sample knowledge base N times with each copy's text
varied (so nothing is de-duplicated), measures the raw model on exactly the chunk texts
ingestion embeds, then alternates full ``ingest`` runs (each into a fresh SQLite store)
with raw-model runs (``--rounds``: raw, ingest, raw, ingest, raw), then a second,
unchanged ``ingest`` (which must embed nothing). Each ingest is compared with the mean of
the two raw runs around it, and all of them with all raw runs, in wall time and in process
CPU time (the machine's load moves wall times between phases; CPU time it moves far less).

    .venv/bin/python benchmarks/bench_ingest.py --copies 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from frontdesk.knowledge.chunking import chunk_document, embedding_text
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import discover, ingest
from frontdesk.knowledge.loaders import load_file
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore

SAMPLE_KB = Path(__file__).resolve().parent.parent / "sample_kb"
TEXT_SUFFIXES = {".md", ".txt", ".html", ".csv"}


def build_corpus(root: Path, copies: int) -> None:
    for n in range(copies):
        target = root / f"copy{n}"
        shutil.copytree(SAMPLE_KB, target, ignore=shutil.ignore_patterns("_authoring"))
        for file in target.rglob("*"):
            if file.suffix in TEXT_SUFFIXES:  # vary text so chunks differ between copies
                file.write_text(
                    file.read_text(encoding="utf-8").replace("Northwind", f"Northwind{n}"),
                    encoding="utf-8",
                )


async def main_async(copies: int, threads: int | None, rounds: int) -> None:
    embedder = LocalEmbedder.load(threads=threads)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp) / "corpus"
        build_corpus(root, copies)
        files = discover([root])
        texts = []
        for item in files:
            document = load_file(item.path, source=item.source)
            for draft in chunk_document(document, embedder):
                texts.append(embedding_text(document.title, draft.section, draft.text))
        embedder.embed_sync(texts[:32])  # warm-up

        def raw_run() -> tuple[float, float]:
            start, start_cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(texts), 128):
                embedder.embed_sync(texts[i : i + 128])
            return time.perf_counter() - start, time.process_time() - start_cpu

        raw: list[tuple[float, float]] = []
        runs: list[tuple[float, float]] = []
        summary = None
        for round_ in range(rounds):  # raw, ingest, raw, ingest, ..., raw: side by side
            raw.append(raw_run())
            store = SqliteKnowledgeStore.open(Path(tmp) / f"kb{round_}.db")
            start, start_cpu = time.perf_counter(), time.process_time()
            summary = await ingest([root], store=store, embedder=embedder, collection="bench")
            runs.append((time.perf_counter() - start, time.process_time() - start_cpu))
            if round_ < rounds - 1:
                store.close()
        raw.append(raw_run())
        assert summary is not None
        start = time.perf_counter()
        again = await ingest([root], store=store, embedder=embedder, collection="bench")
        rerun = time.perf_counter() - start
        store.close()
    tokens = sum(embedder.count_tokens(t) for t in texts) / max(len(texts), 1)
    print(f"# bench_ingest on {os.cpu_count()} CPUs, onnxruntime threads={threads or 'default'}")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{len(files)} documents, {len(texts)} chunks, {tokens:.0f} tokens per chunk on average")
    print(
        "| round | raw before: chunks/s wall, per CPU-s | ingest: chunks/s wall, per CPU-s | "
        "ingest / mean of the raw runs around it: wall, CPU |"
    )
    print("|---|---:|---:|---:|")
    for i, (wall, cpu) in enumerate(runs):
        around_wall = (raw[i][0] + raw[i + 1][0]) / 2
        around_cpu = (raw[i][1] + raw[i + 1][1]) / 2
        print(
            f"| {i + 1} | {len(texts) / raw[i][0]:.1f}, {len(texts) / raw[i][1]:.1f} | "
            f"{summary.chunks / wall:.1f}, {summary.chunks / cpu:.1f} | "
            f"{(summary.chunks / wall) / (len(texts) / around_wall):.0%}, "
            f"{(summary.chunks / cpu) / (len(texts) / around_cpu):.0%} |"
        )
    raw_wall = len(texts) * len(raw) / sum(r[0] for r in raw)
    raw_cpu = len(texts) * len(raw) / sum(r[1] for r in raw)
    rate = summary.chunks * len(runs) / sum(r[0] for r in runs)
    rate_cpu = summary.chunks * len(runs) / sum(r[1] for r in runs)
    print(
        f"raw model ({len(raw)} runs): {raw_wall:.1f} chunks/s wall, {raw_cpu:.1f} per CPU-s; "
        f"last run after the final ingest {len(texts) / raw[-1][0]:.1f} chunks/s wall"
    )
    print(
        f"ingest ({len(runs)} runs): {rate:.1f} chunks/s wall = {rate / raw_wall:.0%} of raw; "
        f"{rate_cpu:.1f} per CPU-s = {rate_cpu / raw_cpu:.0%} of raw"
    )
    print(
        f"re-ingest unchanged: {rerun:.2f} s, {again.chunks_embedded} chunks embedded, "
        f"{again.unchanged} documents unchanged"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--rounds", type=int, default=2, help="ingest runs, each between two raw-model runs"
    )
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    asyncio.run(main_async(args.copies, args.threads, args.rounds))


if __name__ == "__main__":
    main()
