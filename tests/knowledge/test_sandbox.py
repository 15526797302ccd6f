"""The parser worker process: limits, recycling, and the CLI ingest path using it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from frontdesk.knowledge.documents import DocumentSkipped, SkipReason
from frontdesk.knowledge.embedding import HashEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.loaders.limits import MIB, ParseLimits
from frontdesk.knowledge.sandbox import ParserWorker
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from tests.api.test_uploads import docx_bomb, valid_docx
from tests.knowledge.pdfs import page_tree_bomb, text_pdf


def test_a_timed_out_worker_is_killed_and_replaced() -> None:
    async def run() -> None:
        async with ParserWorker(ParseLimits(timeout_seconds=0.3)) as worker:
            with pytest.raises(DocumentSkipped) as caught:
                await worker.parse(page_tree_bomb(honest_count=False), "liar.pdf")
            assert caught.value.reason is SkipReason.TOO_LARGE
            assert "took longer than 0.3 s" in caught.value.detail
            document = await worker.parse(text_pdf(), "refunds.pdf")
            assert "14 days" in document.text
            assert worker.started == 2

    asyncio.run(run())


def test_the_memory_limit_stops_a_bomb_the_size_checks_let_through() -> None:
    unchecked = ParseLimits(
        memory_bytes=256 * MIB, max_ratio=1e12, max_expanded_bytes=10**12, timeout_seconds=120
    )

    async def run() -> None:
        async with ParserWorker(unchecked) as worker:
            started = time.monotonic()
            with pytest.raises(DocumentSkipped):
                await worker.parse(docx_bomb(), "bomb.docx")
            assert time.monotonic() - started < 60
            document = await worker.parse(valid_docx(), "shipping.docx")
            assert "two business days" in document.text

    asyncio.run(run())


def test_one_worker_serves_a_batch_and_bombs_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "bomb.docx").write_bytes(docx_bomb())
    (folder / "liar.pdf").write_bytes(page_tree_bomb(honest_count=False))
    (folder / "pages.pdf").write_bytes(page_tree_bomb())
    (folder / "good.md").write_bytes(b"# Good\n\nA good document.\n")
    (folder / "refunds.pdf").write_bytes(text_pdf())

    async def run() -> None:
        store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
        try:
            summary = await ingest([folder], store=store, embedder=HashEmbedder())
        finally:
            store.close()
        assert summary.added == 2, summary.describe()
        skipped = {p.source.rsplit("/", 1)[-1]: p.reason for p in summary.skipped}
        assert skipped == {
            "bomb.docx": "too_large",
            "liar.pdf": "corrupt",
            "pages.pdf": "too_large",
        }
        assert summary.failed == []

    asyncio.run(run())
