"""The ingestion engine: load and chunk documents, embed only new chunk texts (batched
across documents), then store each document with all its chunks in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from frontdesk.knowledge.chunking import (
    ChunkDraft,
    ChunkingOptions,
    chunk_document,
    embedding_text,
)
from frontdesk.knowledge.documents import DocumentSkipped, LoadedDocument
from frontdesk.knowledge.embedding import EmbeddingProvider, HashEmbedder, TokenCounter
from frontdesk.knowledge.ingest_types import (
    DocumentStatus,
    IngestProgress,
    IngestSummary,
    Problem,
    ProgressCallback,
    SourceFile,
    chunk_id,
    new_document_id,
)
from frontdesk.knowledge.loaders import DEFAULT_MAX_BYTES, read_file
from frontdesk.knowledge.loaders.limits import ParseLimits
from frontdesk.knowledge.sandbox import ParserWorker
from frontdesk.knowledge.stores.base import KnowledgeStore
from frontdesk.knowledge.types import SearchFilter, StoredChunk, StoredDocument, Vector


def _counter(embedder: EmbeddingProvider) -> TokenCounter:
    if isinstance(embedder, TokenCounter):
        return embedder
    return HashEmbedder()  # word count: close enough for embedders without a tokenizer


@dataclass
class _Prepared:
    """A changed document waiting for its missing vectors."""

    document: LoadedDocument
    doc_id: str
    status: DocumentStatus
    drafts: list[ChunkDraft]
    texts: list[str]
    vectors: Vector
    missing: list[int]


class Ingestor:
    """Ingests documents into one (tenant, collection) of a store."""

    def __init__(
        self,
        store: KnowledgeStore,
        embedder: EmbeddingProvider,
        *,
        collection: str,
        tenant: str = "default",
        options: ChunkingOptions | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        batch_chunks: int = 128,
        limits: ParseLimits | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.where = SearchFilter(tenant, collection)
        self.options = options or ChunkingOptions()
        self.max_bytes = max_bytes
        self.batch_chunks = batch_chunks
        self.counter = _counter(embedder)
        self.limits = limits or ParseLimits()
        """Files are parsed in a worker process under these limits (one per run)."""

    async def prepare(self, *, reembed: bool = False) -> None:
        """Create tables; register the embedder (``reembed`` drops the collection first)."""
        await asyncio.to_thread(self.store.create_schema)
        tenant, collection = self.where.tenant, self.where.collection
        if reembed:
            await asyncio.to_thread(self.store.drop_collection, tenant, collection)
        await asyncio.to_thread(
            self.store.ensure_collection,
            tenant,
            collection,
            self.embedder.model_id,
            self.embedder.dimensions,
        )

    def _prepare_sync(self, document: LoadedDocument) -> _Prepared | None:
        """Chunk a document and find which chunk vectors can be reused; None if unchanged."""
        existing = self.store.find_document(self.where, document.source)
        if existing is not None and existing.content_hash == document.content_hash:
            return None
        doc_id = existing.id if existing is not None else new_document_id()
        drafts = chunk_document(document, self.counter, self.options)
        known = self.store.chunk_vectors(self.where, doc_id) if existing is not None else {}
        vectors = np.zeros((len(drafts), self.embedder.dimensions), dtype=np.float32)
        missing = []
        for i, draft in enumerate(drafts):
            if draft.content_hash in known:
                vectors[i] = known[draft.content_hash]
            else:
                missing.append(i)
        return _Prepared(
            document=document,
            doc_id=doc_id,
            status="added" if existing is None else "updated",
            drafts=drafts,
            texts=[embedding_text(document.title, d.section, d.text) for d in drafts],
            vectors=vectors,
            missing=missing,
        )

    def _store_sync(self, item: _Prepared) -> None:
        document = item.document
        chunks = [self._stored_chunk(document, item.doc_id, d) for d in item.drafts]
        stored = StoredDocument(
            id=item.doc_id,
            tenant=self.where.tenant,
            collection=self.where.collection,
            source=document.source,
            title=document.title,
            format=document.format,
            content_hash=document.content_hash,
            chunk_count=len(chunks),
            url=document.url,
        )
        self.store.replace_document(stored, document.text, chunks, item.vectors)

    def _stored_chunk(self, document: LoadedDocument, doc_id: str, d: ChunkDraft) -> StoredChunk:
        return StoredChunk(
            id=chunk_id(doc_id, d),
            tenant=self.where.tenant,
            collection=self.where.collection,
            document_id=doc_id,
            ordinal=d.ordinal,
            text=d.text,
            title=document.title,
            section=d.section,
            source=document.source,
            content_hash=d.content_hash,
            url=document.url,
            page=d.page,
            anchor=d.anchor,
            token_count=d.token_count,
        )

    async def ingest_documents(
        self,
        items: Sequence[SourceFile | LoadedDocument],
        *,
        prune: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        seen: set[str] = set()
        async with ParserWorker(self.limits) as parser:
            run = _Run(self, len(items), progress, parser)
            for item in items:
                seen.add(item.source)
                await run.add(item)
        await run.flush()
        if prune:
            stale = [
                d.id
                for d in await asyncio.to_thread(self.store.list_documents, self.where)
                if d.source not in seen
            ]
            if stale:
                run.summary.removed = await asyncio.to_thread(
                    self.store.delete_documents, self.where, stale
                )
        refresh = getattr(self.store, "refresh_index", None)
        if callable(refresh):
            await asyncio.to_thread(refresh, self.where.tenant, self.where.collection)
        return run.summary


class _Run:
    """One ingest run: collects changed documents and embeds their new chunks in batches."""

    def __init__(
        self,
        ingestor: Ingestor,
        total: int,
        progress: ProgressCallback | None,
        parser: ParserWorker,
    ) -> None:
        self.ingestor = ingestor
        self.parser = parser
        self.total = total
        self.progress = progress
        self.summary = IngestSummary()
        self.done = 0
        self.pending: list[_Prepared] = []

    def _report(self, source: str, status: DocumentStatus, chunks: int = 0) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(IngestProgress(self.done, self.total, source, status, chunks))

    def _problem(self, source: str, status: DocumentStatus, reason: str, detail: str) -> None:
        target = self.summary.skipped if status == "skipped" else self.summary.failed
        target.append(Problem(source, reason, detail))
        self._report(source, status)

    async def add(self, item: SourceFile | LoadedDocument) -> None:
        ing = self.ingestor
        try:
            if isinstance(item, SourceFile):
                data = await asyncio.to_thread(read_file, item.path, max_bytes=ing.max_bytes)
                document = await self.parser.parse(data, item.path.name, item.source)
            else:
                document = item
            prepared = await asyncio.to_thread(ing._prepare_sync, document)
        except DocumentSkipped as skip:
            self._problem(item.source, "skipped", skip.reason.value, skip.detail)
            return
        except Exception as exc:  # one bad document must not stop the others
            self._problem(item.source, "failed", type(exc).__name__, str(exc))
            return
        if prepared is None:
            self.summary.unchanged += 1
            self._report(item.source, "unchanged")
            return
        self.pending.append(prepared)
        if sum(len(p.missing) for p in self.pending) >= ing.batch_chunks:
            await self.flush()

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        texts = [p.texts[i] for p in pending for i in p.missing]
        try:
            fresh = (
                await self.ingestor.embedder.embed(texts, "document")
                if texts
                else np.zeros((0, self.ingestor.embedder.dimensions), np.float32)
            )
        except Exception as exc:
            for p in pending:
                self._problem(p.document.source, "failed", type(exc).__name__, str(exc))
            return
        offset = 0
        for p in pending:
            n = len(p.missing)
            if n:
                p.vectors[p.missing] = fresh[offset : offset + n]
            offset += n
            await self._store(p)

    async def _store(self, p: _Prepared) -> None:
        try:
            await asyncio.to_thread(self.ingestor._store_sync, p)
        except Exception as exc:
            self._problem(p.document.source, "failed", type(exc).__name__, str(exc))
            return
        s = self.summary
        s.added += p.status == "added"
        s.updated += p.status == "updated"
        s.chunks += len(p.drafts)
        s.chunks_embedded += len(p.missing)
        s.chunks_reused += len(p.drafts) - len(p.missing)
        self._report(p.document.source, p.status, len(p.drafts))
