"""A turn records how long each retrieval stage took (turn record and span attributes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.config import KnowledgeConfig
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.retrieval import Retriever
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore

SAMPLE_KB = Path(__file__).resolve().parents[2] / "sample_kb"


async def test_grounding_carries_the_stage_timings(tmp_path: Path) -> None:
    embedder = LocalEmbedder.load()
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    try:
        await ingest([SAMPLE_KB / "billing" / "refund-policy.md"], store=store, embedder=embedder)
        kb = KnowledgeBase(Retriever(store, embedder), KnowledgeConfig())
        assert await kb.refresh()
        grounding = await kb.ground("Can I get a refund on my annual plan?")
        assert grounding.found
        assert {"embed", "vector", "lexical", "fuse", "total"} <= set(grounding.timings_ms)
        assert all(ms >= 0 for ms in grounding.timings_ms.values())
    finally:
        store.close()


class AsyncOnly:
    """The local embedder seen as a remote one (no ``embed_sync``)."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self._inner = inner
        self.dimensions = inner.dimensions
        self.model_id = inner.model_id

    async def embed(self, texts, kind):  # type: ignore[no-untyped-def]
        return await self._inner.embed(texts, kind)


async def test_grounding_is_one_thread_hand_off_with_the_same_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the local embedder, retrieval (model check, embedding, both searches, fusion)
    and the passage screen run in one worker thread: one hand-off, not five. A remote
    embedder keeps the concurrent stages; both find the same passages."""
    embedder = LocalEmbedder.load()
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    try:
        await ingest([SAMPLE_KB / "billing"], store=store, embedder=embedder)
        local = KnowledgeBase(Retriever(store, embedder), KnowledgeConfig())
        remote = KnowledgeBase(Retriever(store, AsyncOnly(embedder)), KnowledgeConfig())
        for kb in (local, remote):
            assert await kb.refresh()
        handoffs: list[str] = []
        original = asyncio.to_thread

        async def counted(func, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            handoffs.append(getattr(func, "__name__", "?"))
            return await original(func, *args, **kwargs)

        monkeypatch.setattr(asyncio, "to_thread", counted)
        for question in ("Can I get a refund on my annual plan?", "How do I pay by invoice?"):
            handoffs.clear()
            near = await local.ground(question)
            assert handoffs == ["_ground_sync"]
            far = await remote.ground(question)
            assert len(handoffs) > 2
            assert near.found and near.chunk_ids() == far.chunk_ids()
            assert [h.score for h in near.hits] == [h.score for h in far.hits]
            assert {"embed", "vector", "lexical", "fuse", "total"} <= set(near.timings_ms)
    finally:
        store.close()
