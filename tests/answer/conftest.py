"""Answer fixtures: the real MiniLM embedder, the real segmenter, part of the sample KB
ingested once with the real retriever (read-only for tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.answer.extractive import ExtractiveComposer
from frontdesk.answer.units import Segmenter, spacy_segmenter
from frontdesk.chat.prompt import Source
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.retrieval import RetrievalOptions, Retriever
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore

SAMPLE_KB = Path(__file__).resolve().parents[2] / "sample_kb"
PARTS = [
    "billing",
    "account/password-reset.md",
    "account/two-factor-authentication.md",
    "guides/contact-support.txt",
    "guides/general-faq.csv",
    "api/rate-limits.md",
    "security/service-level-agreement.pdf",
    "security/data-retention.txt",
]


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder.load()


@pytest.fixture(scope="session")
def segment() -> Segmenter:
    return spacy_segmenter()


@pytest.fixture(scope="session")
def retriever(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder
) -> Iterator[Retriever]:
    store = SqliteKnowledgeStore.open(tmp_path_factory.mktemp("kb") / "kb.db")
    summary = asyncio.run(
        ingest([SAMPLE_KB / p for p in PARTS], store=store, embedder=embedder, collection="kb")
    )
    assert not summary.failed and not summary.skipped
    yield Retriever(store, embedder, collection="kb", options=RetrievalOptions(top_k=4))
    store.close()


@pytest.fixture
def composer(embedder: LocalEmbedder, segment: Segmenter) -> ExtractiveComposer:
    return ExtractiveComposer(embedder, segment)


async def retrieve_sources(retriever: Retriever, question: str) -> list[Source]:
    hits = await retriever.retrieve(question, k=4, apply_threshold=False)
    return [Source(i, h.chunk.title, h.chunk.section, h.chunk.text) for i, h in enumerate(hits, 1)]
