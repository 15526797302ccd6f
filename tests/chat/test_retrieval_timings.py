"""A turn records how long each retrieval stage took (turn record and span attributes)."""

from __future__ import annotations

from pathlib import Path

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
