from __future__ import annotations

import io
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from rich.console import Console

from frontdesk.errors import ClientError
from frontdesk.knowledge.embedding import EmbedKind, HashEmbedder, Vectors
from frontdesk.knowledge.errors import EmbeddingMismatch
from frontdesk.knowledge.ingest import IngestProgress, discover, ingest, ingest_bytes
from frontdesk.knowledge.progress import rich_ingest_progress
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import SearchFilter
from tests.knowledge.conftest import SAMPLE_KB


class CountingEmbedder(HashEmbedder):
    """HashEmbedder that records how many texts it embedded."""

    def __init__(self, dimensions: int = 64, model_id: str | None = None) -> None:
        super().__init__(dimensions, model_id)
        self.embedded = 0

    async def embed(self, texts: Sequence[str], kind: EmbedKind) -> Vectors:
        self.embedded += len(texts)
        return await super().embed(texts, kind)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteKnowledgeStore]:
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    yield store
    store.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    shutil.copytree(SAMPLE_KB, root)
    return root


async def test_reingesting_unchanged_docs_embeds_nothing(
    store: SqliteKnowledgeStore, docs: Path
) -> None:
    embedder = CountingEmbedder()
    events: list[IngestProgress] = []
    first = await ingest(
        [docs], store=store, embedder=embedder, collection="kb", progress=events.append
    )
    assert first.added >= 25 and not first.failed and not first.skipped
    assert first.chunks == embedder.embedded == store.count(SearchFilter("default", "kb"))
    assert [e.done for e in events] == list(range(1, len(events) + 1))
    assert {e.status for e in events} == {"added"} and events[-1].total == len(events)

    embedder.embedded = 0
    second = await ingest([docs], store=store, embedder=embedder, collection="kb")
    assert embedder.embedded == 0
    assert (second.unchanged, second.added, second.updated, second.chunks) == (first.added, 0, 0, 0)


async def test_changed_document_replaces_its_chunks_and_reuses_vectors(
    store: SqliteKnowledgeStore, docs: Path
) -> None:
    embedder = CountingEmbedder()
    await ingest([docs], store=store, embedder=embedder, collection="kb")
    where = SearchFilter("default", "kb")
    before = store.count(where)
    page = docs / "billing" / "refund-policy.md"
    page.write_text(page.read_text() + "\n## Gift cards\n\nGift cards are never refunded.\n")
    embedder.embedded = 0
    summary = await ingest([docs], store=store, embedder=embedder, collection="kb")
    assert summary.updated == 1 and summary.added == 0
    assert summary.chunks_embedded == embedder.embedded == 1  # only the new section
    assert summary.chunks_reused >= 3
    assert store.count(where) == before + 1
    hits = store.search_lexical("gift cards", where, 3)
    assert hits[0].chunk.section == "Gift cards" and hits[0].chunk.anchor == "gift-cards"


async def test_prune_removes_vanished_documents(store: SqliteKnowledgeStore, docs: Path) -> None:
    embedder = HashEmbedder()
    first = await ingest([docs], store=store, embedder=embedder, collection="kb")
    (docs / "api" / "rate-limits.md").unlink()
    kept = await ingest([docs], store=store, embedder=embedder, collection="kb")
    assert kept.removed == 0
    where = SearchFilter("default", "kb")
    assert len(store.list_documents(where)) == first.added
    with pytest.raises(ClientError, match="refusing to prune"):
        await ingest(
            [docs / "nothing-here"], store=store, embedder=embedder, collection="kb", prune=True
        )
    pruned = await ingest([docs], store=store, embedder=embedder, collection="kb", prune=True)
    assert pruned.removed == 1
    assert len(store.list_documents(where)) == first.added - 1
    hits = store.search_lexical("Retry-After X-RateLimit", where, 50)
    assert not any(h.chunk.source.endswith("rate-limits.md") for h in hits)


async def test_bad_files_are_skipped_and_the_rest_continues(
    store: SqliteKnowledgeStore, tmp_path: Path
) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "good.md").write_text("# Good\n\nUseful text about refunds.\n")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (root / "latin.txt").write_bytes("r\u00e9sum\u00e9".encode("latin-1"))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (root / "broken.docx").write_bytes(b"PK\x03\x04 not a real archive")
    (root / "empty.md").write_text("")
    (root / "big.txt").write_text("x" * 2000)
    (root / ".hidden.md").write_text("# Hidden\n\nsecret")
    (root / "image.png").write_bytes(b"\x89PNG")
    summary = await ingest(
        [root], store=store, embedder=HashEmbedder(), collection="kb", max_bytes=1000
    )
    assert summary.added == 1 and not summary.failed
    reasons = {p.source.rsplit("/", 1)[-1]: p.reason for p in summary.skipped}
    assert reasons == {
        "binary.txt": "binary",
        "latin.txt": "not_utf8",
        "broken.pdf": "corrupt",
        "broken.docx": "corrupt",
        "empty.md": "empty",
        "big.txt": "too_large",
    }
    assert "skipped" in summary.describe() and "too_large" in summary.describe()
    assert [d.title for d in store.list_documents(SearchFilter("default", "kb"))] == ["Good"]


async def test_collections_and_tenants_are_separate(
    store: SqliteKnowledgeStore, docs: Path
) -> None:
    embedder = HashEmbedder()
    await ingest([docs / "billing"], store=store, embedder=embedder, collection="billing")
    await ingest([docs / "api"], store=store, embedder=embedder, collection="api", tenant="acme")
    billing = store.list_documents(SearchFilter("default", "billing"))
    api = store.list_documents(SearchFilter("acme", "api"))
    assert {d.source.split("/")[0] for d in billing} == {"billing"}
    assert {d.source for d in api} == {"api/authentication.md", "api/rate-limits.md"}
    assert store.list_documents(SearchFilter("default", "api")) == []


async def test_a_different_embedder_is_refused_until_reembedded(
    store: SqliteKnowledgeStore, docs: Path
) -> None:
    await ingest([docs / "api"], store=store, embedder=HashEmbedder(64), collection="kb")
    with pytest.raises(EmbeddingMismatch, match="--reembed"):
        await ingest([docs / "api"], store=store, embedder=HashEmbedder(32), collection="kb")
    summary = await ingest(
        [docs / "api"], store=store, embedder=HashEmbedder(32), collection="kb", reembed=True
    )
    assert summary.added == 2
    info = store.collection_info("default", "kb")
    assert info is not None and (info.model_id, info.dimensions) == ("hash-32", 32)


async def test_ingest_uploaded_bytes(store: SqliteKnowledgeStore) -> None:
    data = (SAMPLE_KB / "security" / "gdpr-and-dpa.pdf").read_bytes()
    summary = await ingest_bytes(
        data, "gdpr.pdf", store=store, embedder=HashEmbedder(), collection="kb"
    )
    assert summary.added == 1 and summary.chunks == 3
    where = SearchFilter("default", "kb")
    hit = store.search_lexical("subprocessors", where, 1)[0].chunk
    assert (hit.page, hit.anchor, hit.source) == (2, "page=2", "gdpr.pdf")
    doc = store.list_documents(where)[0]
    assert "Standard Contractual Clauses" in (store.document_text(where, doc.id) or "")
    bad = await ingest_bytes(
        b"\x00\x00", "x.txt", store=store, embedder=HashEmbedder(), collection="kb"
    )
    assert [p.reason for p in bad.skipped] == ["binary"]


def test_discover_files_folders_and_globs(docs: Path) -> None:
    by_folder = discover([docs])
    assert all(s.source.startswith("docs/") for s in by_folder)
    assert len(by_folder) == len({s.source for s in by_folder})
    by_file = discover([docs / "billing" / "refund-policy.md"])
    assert [s.source for s in by_file] == ["refund-policy.md"]
    by_glob = discover([str(docs / "**" / "*.pdf")])
    assert len(by_glob) == 3 and all(s.path.suffix == ".pdf" for s in by_glob)
    assert discover([docs, docs / "api"]) == by_folder  # de-duplicated
    (docs / "api" / "refund-policy.md").write_text("# Other\n\ntext")
    clash = discover([docs / "billing" / "refund-policy.md", docs / "api" / "refund-policy.md"])
    assert len({s.source for s in clash}) == 2


async def test_rich_progress_bar_reports_counts(store: SqliteKnowledgeStore, docs: Path) -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    with rich_ingest_progress(console) as progress:
        summary = await ingest(
            [docs / "api"], store=store, embedder=HashEmbedder(), collection="kb", progress=progress
        )
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2/2" in output and f"{summary.chunks} chunks" in output
