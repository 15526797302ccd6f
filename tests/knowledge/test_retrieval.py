from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.knowledge.embedding import HashEmbedder, LocalEmbedder
from frontdesk.knowledge.errors import EmbeddingMismatch
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.retrieval import RetrievalOptions, Retriever, make_snippet, rrf_fuse
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import ScoredChunk, SearchFilter
from tests.contracts.store_contract import make_chunk
from tests.knowledge.conftest import SAMPLE_KB

PARTS = (
    "billing/refund-policy.md",
    "billing/plans-and-pricing.md",
    "billing/billing-faq.csv",
    "account/password-reset.md",
    "account/two-factor-authentication.md",
    "pipelines/troubleshooting-failed-runs.md",
    "security/service-level-agreement.pdf",
)


@pytest.fixture(scope="module")
def sample(
    tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder
) -> Iterator[tuple[SqliteKnowledgeStore, Retriever]]:
    """Part of the sample KB, ingested once with the real embedder (read-only for tests)."""
    store = SqliteKnowledgeStore.open(tmp_path_factory.mktemp("kb") / "kb.db")
    summary = asyncio.run(
        ingest(
            [SAMPLE_KB / part for part in PARTS],
            store=store,
            embedder=local_embedder,
            collection="kb",
        )
    )
    assert not summary.failed and not summary.skipped
    yield store, Retriever(store, local_embedder, collection="kb")
    store.close()


async def test_refund_question_finds_the_refund_policy_with_citation_data(
    sample: tuple[SqliteKnowledgeStore, Retriever],
) -> None:
    _, retriever = sample
    hits = await retriever.retrieve("Can I get my money back on a yearly subscription?")
    assert 0 < len(hits) <= 5
    top = hits[0]
    assert top.chunk.title == "Refund Policy"
    assert "full refund within 14 days" in top.chunk.text
    assert top.vector_score is not None and top.lexical_score is not None
    citation = retriever.citations(hits)[0]
    assert citation.index == 1 and citation.document_id == top.chunk.document_id
    assert citation.url == "https://docs.northwinddata.example/billing/refund-policy#annual-plans"
    assert citation.section == "Annual plans" and citation.snippet


async def test_unrelated_questions_find_nothing(
    sample: tuple[SqliteKnowledgeStore, Retriever],
) -> None:
    _, retriever = sample
    for question in ["What's the weather in Paris tomorrow?", "recipe for chocolate cake"]:
        assert await retriever.retrieve(question) == []
        assert len(await retriever.retrieve(question, apply_threshold=False)) == 5


async def test_modes_and_filters(sample: tuple[SqliteKnowledgeStore, Retriever]) -> None:
    store, retriever = sample
    lexical = await retriever.retrieve("NW-408", mode="lexical", k=3)
    assert lexical[0].chunk.section == "Connection timeouts (NW-408)"
    assert all(h.vector_score is None for h in lexical)
    vector = await retriever.retrieve("forgot my login credentials", mode="vector", k=3)
    assert vector[0].chunk.title == "Reset Your Password"
    pdf_doc = next(d for d in store.list_documents(retriever.where) if d.format == "pdf")
    only = SearchFilter("default", "kb", frozenset({pdf_doc.id}))
    scoped = await retriever.retrieve("refund", where=only, apply_threshold=False)
    assert scoped and {h.document_id for h in scoped} == {pdf_doc.id}
    other = Retriever(store, retriever.embedder, collection="kb", tenant="someone-else")
    assert await other.retrieve("refund policy") == []


async def test_model_mismatch_refuses_to_search(
    sample: tuple[SqliteKnowledgeStore, Retriever],
) -> None:
    store, _ = sample
    wrong = Retriever(store, HashEmbedder(384, model_id="other-model"), collection="kb")
    with pytest.raises(EmbeddingMismatch, match="re-embed"):
        await wrong.retrieve("refunds")


def test_rrf_rewards_agreement() -> None:
    a, b, c = (make_chunk(k) for k in ("refund", "password", "timeout"))
    fused = rrf_fuse(
        [[ScoredChunk(a, 0.9), ScoredChunk(b, 0.8)], [ScoredChunk(b, 5.0), ScoredChunk(c, 4.0)]],
        k=60,
    )
    assert [ch.anchor for ch, _ in fused] == ["password", "refund", "timeout"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_snippets_end_on_word_boundaries() -> None:
    assert make_snippet("short   text", 50) == "short text"
    snippet = make_snippet("alpha beta gamma delta", 13)
    assert snippet == "alpha beta…"


async def test_a_passage_that_holds_the_question_s_words_survives_the_similarity_floor(
    tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    """The US IP addresses sit in a paragraph about connection timeouts: far by meaning (below
    min_similarity) while a page about network policies is close; the floor must not drop the
    paragraph that holds the question's words."""
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    try:
        docs = ["pipelines/troubleshooting-failed-runs.md", "integrations/snowflake.html"]
        await ingest([SAMPLE_KB / d for d in docs], store=store, embedder=local_embedder)
        question = "Which IP addresses do you use for the US region?"
        strict = Retriever(store, local_embedder, options=RetrievalOptions(lexical_keep=1.01))
        kept = Retriever(store, local_embedder)
        assert not any("44.210.3.17" in h.chunk.text for h in await strict.retrieve(question))
        assert any("44.210.3.17" in h.chunk.text for h in await kept.retrieve(question))
    finally:
        store.close()
