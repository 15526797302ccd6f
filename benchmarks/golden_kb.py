"""The sample knowledge base retrieved for each golden case, as the chat turn retrieves it.

Shared by the answer benchmarks (answerability.py, answer_composer.py): ingest ``sample_kb/``
into a temporary SQLite store, make each case's last question standalone from its earlier
turns, and retrieve the top passages for it (no relevance threshold).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.chat.followup import Question, standalone
from frontdesk.chat.prompt import Source
from frontdesk.domain import ChatMessage
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.retrieval import RetrievedChunk
from frontdesk.knowledge.types import SearchFilter

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RetrievedCase:
    case: dict[str, Any]
    question: Question
    hits: list[RetrievedChunk]

    @property
    def sources(self) -> list[Source]:
        return [
            Source(i, h.chunk.title, h.chunk.section, h.chunk.text)
            for i, h in enumerate(self.hits, 1)
        ]


async def retrieve_cases(
    cases: Sequence[dict[str, Any]], *, k: int = 4, texts: list[str] | None = None
) -> tuple[LocalEmbedder, list[RetrievedCase]]:
    """``texts``, when given, receives every ingested document's text (for a lexicon)."""
    from frontdesk.knowledge.ingest import ingest
    from frontdesk.knowledge.retrieval import RetrievalOptions, Retriever
    from frontdesk.knowledge.stores.factory import open_store

    embedder = LocalEmbedder.load()
    out: list[RetrievedCase] = []
    with tempfile.TemporaryDirectory() as home:
        store = open_store(f"sqlite:///{home}/kb.db")
        try:
            await ingest([str(ROOT / "sample_kb")], store=store, embedder=embedder)
            if texts is not None:
                where = SearchFilter("default", "default")
                for doc in store.list_documents(where):
                    texts.append(store.document_text(where, doc.id) or "")
            retriever = Retriever(store, embedder, options=RetrievalOptions(top_k=k))
            for case in cases:
                turns = [str(t) for t in case["turns"]]
                earlier = [ChatMessage("user", t) for t in turns[:-1]]
                question = standalone(turns[-1], earlier)
                hits = await retriever.retrieve(question.search_text, k=k, apply_threshold=False)
                out.append(RetrievedCase(case, question, hits))
        finally:
            store.close()
    return embedder, out


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    import json

    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
