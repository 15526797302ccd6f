"""Ingest throughput as a fraction of the raw embedding model's throughput.

Builds a corpus by copying the sample knowledge base N times with each copy's text
varied (so nothing is de-duplicated), measures the raw model on exactly the chunk texts
ingestion embeds, then times a full ``ingest`` into a fresh SQLite store, then the raw model
again, and a second, unchanged ``ingest`` (which must embed nothing). The ratio is taken
against the mean of the two raw runs around the ingest, in wall time and in process CPU
time (the machine's load moves wall times between phases; CPU time it moves far less).

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


async def main_async(copies: int, threads: int | None) -> None:
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

        before = raw_run()
        store = SqliteKnowledgeStore.open(Path(tmp) / "kb.db")
        start, start_cpu = time.perf_counter(), time.process_time()
        summary = await ingest([root], store=store, embedder=embedder, collection="bench")
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        after = raw_run()
        raw_wall = len(texts) / ((before[0] + after[0]) / 2)
        raw_cpu = len(texts) / ((before[1] + after[1]) / 2)
        rate, rate_cpu = summary.chunks / elapsed, summary.chunks / elapsed_cpu
        start = time.perf_counter()
        again = await ingest([root], store=store, embedder=embedder, collection="bench")
        rerun = time.perf_counter() - start
        store.close()
    tokens = sum(embedder.count_tokens(t) for t in texts) / max(len(texts), 1)
    print(f"# bench_ingest on {os.cpu_count()} CPUs, onnxruntime threads={threads or 'default'}")
    print(f"{len(files)} documents, {len(texts)} chunks, {tokens:.0f} tokens per chunk on average")
    print(
        f"raw model: {raw_wall:.1f} chunks/s wall (runs before/after the ingest "
        f"{len(texts) / before[0]:.1f} / {len(texts) / after[0]:.1f}), {raw_cpu:.1f} per CPU-s"
    )
    print(
        f"ingest:    {rate:.1f} chunks/s wall = {rate / raw_wall:.0%} of raw ({elapsed:.1f} s); "
        f"{rate_cpu:.1f} per CPU-s = {rate_cpu / raw_cpu:.0%} of raw ({elapsed_cpu:.1f} CPU-s)"
    )
    print(
        f"re-ingest unchanged: {rerun:.2f} s, {again.chunks_embedded} chunks embedded, "
        f"{again.unchanged} documents unchanged"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main_async(args.copies, args.threads))


if __name__ == "__main__":
    main()
