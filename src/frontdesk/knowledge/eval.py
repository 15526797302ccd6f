"""Retrieval evaluation on a BEIR-format folder (document-level metrics).

``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/test.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header row).
"""

from __future__ import annotations

import csv
import json
import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from frontdesk.errors import ConfigError
from frontdesk.knowledge.documents import LoadedDocument, Section, content_hash, tidy
from frontdesk.knowledge.embedding import EmbeddingProvider
from frontdesk.knowledge.ingest import Ingestor
from frontdesk.knowledge.loaders.markdown import load_markdown
from frontdesk.knowledge.retrieval import Mode, RetrievalOptions, Retriever
from frontdesk.knowledge.stores.base import KnowledgeStore

MODES: tuple[Mode, ...] = ("lexical", "vector", "hybrid")
METRICS = ("recall@5", "recall@10", "recall@20", "mrr@10", "ndcg@10")


@dataclass(frozen=True, slots=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


@dataclass(frozen=True, slots=True)
class EvalReport:
    queries: int
    documents: int
    chunks: int
    metrics: dict[str, dict[str, float]]  # mode -> metric -> value

    def table(self) -> str:
        head = f"{'mode':<8}" + "".join(f"{m:>11}" for m in METRICS)
        rows = [
            f"{mode:<8}" + "".join(f"{values[m]:>11.3f}" for m in METRICS)
            for mode, values in self.metrics.items()
        ]
        summary = f"{self.queries} queries, {self.documents} documents, {self.chunks} chunks"
        return "\n".join([summary, head, *rows])


def _jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for needed in (directory / "corpus.jsonl", directory / "queries.jsonl", qrels_path):
        if not needed.is_file():
            raise ConfigError(f"not a BEIR folder: {needed} is missing")
    corpus = {
        str(r["_id"]): (str(r.get("title") or ""), str(r.get("text") or ""))
        for r in _jsonl(directory / "corpus.jsonl")
    }
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {
        str(r["_id"]): str(r["text"])
        for r in _jsonl(directory / "queries.jsonl")
        if str(r["_id"]) in qrels
    }
    return BeirDataset(corpus, queries, qrels)


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    dcg = sum(
        (2 ** relevant[d] - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def score_run(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    totals = dict.fromkeys(METRICS, 0.0)
    for qid, relevant in qrels.items():
        ranked = run.get(qid, [])
        totals["recall@5"] += recall_at(ranked, relevant, 5)
        totals["recall@10"] += recall_at(ranked, relevant, 10)
        totals["recall@20"] += recall_at(ranked, relevant, 20)
        totals["mrr@10"] += mrr_at(ranked, relevant, 10)
        totals["ndcg@10"] += ndcg_at(ranked, relevant, 10)
    n = max(len(qrels), 1)
    return {m: v / n for m, v in totals.items()}


_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)


def beir_document(doc_id: str, title: str, text: str) -> LoadedDocument:
    """A corpus entry as the loaders would see it: Markdown text keeps its section tree
    (so chunks carry their section path, as an ingested ``.md`` file's do)."""
    digest = content_hash(f"{title}\n{text}".encode())
    if _HEADING.search(text):
        doc = load_markdown(f"# {title or doc_id}\n\n{text}".encode(), doc_id, doc_id)
        return replace(doc, format="beir", content_hash=digest)
    return LoadedDocument(
        source=doc_id,
        title=title or doc_id,
        format="beir",
        sections=(Section(text=tidy(text) or title),),
        content_hash=digest,
    )


def _corpus_documents(dataset: BeirDataset) -> list[LoadedDocument]:
    return [beir_document(i, title, text) for i, (title, text) in dataset.corpus.items()]


async def evaluate_store(
    dataset: BeirDataset,
    store: KnowledgeStore,
    embedder: EmbeddingProvider,
    *,
    collection: str = "beir-eval",
    tenant: str = "eval",
    depth: int = 100,
) -> EvalReport:
    ingestor = Ingestor(store, embedder, collection=collection, tenant=tenant)
    await ingestor.prepare(reembed=True)
    summary = await ingestor.ingest_documents(_corpus_documents(dataset))
    retriever = Retriever(
        store,
        embedder,
        collection=collection,
        tenant=tenant,
        options=RetrievalOptions(candidates=depth),
    )
    metrics: dict[str, dict[str, float]] = {}
    for mode in MODES:
        run: dict[str, list[str]] = {}
        for qid, text in dataset.queries.items():
            hits = await retriever.retrieve(text, k=depth, mode=mode, apply_threshold=False)
            ranked = list(dict.fromkeys(h.chunk.source for h in hits))  # document level
            run[qid] = ranked
        metrics[mode] = score_run(run, {q: dataset.qrels[q] for q in dataset.queries})
    return EvalReport(len(dataset.queries), summary.documents, summary.chunks, metrics)


async def evaluate_beir(
    directory: Path | str,
    embedder: EmbeddingProvider,
    *,
    store: KnowledgeStore | None = None,
    split: str = "test",
) -> EvalReport:
    """What ``frontdesk eval retrieval DIR`` calls. Without a store, uses a temporary SQLite."""
    dataset = load_beir(Path(directory), split)
    if store is not None:
        return await evaluate_store(dataset, store, embedder)
    from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore

    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as tmp:
        temp_store = SqliteKnowledgeStore.open(Path(tmp) / "eval.db")
        try:
            return await evaluate_store(dataset, temp_store, embedder)
        finally:
            temp_store.close()
