"""Ingestion entry points (what the CLI and the admin API call) and file discovery."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from frontdesk.errors import ClientError
from frontdesk.knowledge.chunking import ChunkingOptions
from frontdesk.knowledge.documents import DocumentSkipped
from frontdesk.knowledge.embedding import EmbeddingProvider
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
from frontdesk.knowledge.ingestor import Ingestor
from frontdesk.knowledge.loaders import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES
from frontdesk.knowledge.loaders.limits import ParseLimits
from frontdesk.knowledge.sandbox import ParserWorker
from frontdesk.knowledge.stores.base import KnowledgeStore

__all__ = [
    "DocumentStatus",
    "IngestProgress",
    "IngestSummary",
    "Ingestor",
    "Problem",
    "ProgressCallback",
    "SourceFile",
    "chunk_id",
    "discover",
    "ingest",
    "ingest_bytes",
    "new_document_id",
]


def discover(paths: Sequence[str | Path]) -> list[SourceFile]:
    """Files, folders (recursive; hidden entries ignored) and glob patterns, de-duplicated."""
    found: dict[Path, SourceFile] = {}

    used: set[str] = set()

    def add(path: Path, source: str) -> None:
        resolved = path.resolve()
        if resolved in found:
            return
        if source in used:  # two files would share an identity: use the full path
            source = resolved.as_posix()
        used.add(source)
        found[resolved] = SourceFile(path, source)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                hidden = any(p.startswith(".") for p in rel.parts)
                if file.is_file() and not hidden and file.suffix.lower() in SUPPORTED_SUFFIXES:
                    add(file, (Path(path.resolve().name) / rel).as_posix())
        elif path.is_file():
            add(path, path.name)
        else:
            for match in sorted(glob.glob(str(raw), recursive=True)):
                if Path(match).is_file():
                    add(Path(match), Path(match).as_posix())
    return sorted(found.values(), key=lambda s: s.source)


async def ingest(
    paths: Sequence[str | Path],
    *,
    store: KnowledgeStore,
    embedder: EmbeddingProvider,
    collection: str = "default",
    tenant: str = "default",
    prune: bool = False,
    reembed: bool = False,
    options: ChunkingOptions | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: ProgressCallback | None = None,
    limits: ParseLimits | None = None,
) -> IngestSummary:
    """Ingest files, folders and globs into ``tenant``/``collection`` (what the CLI calls).

    Files are parsed in one worker process for the batch, under ``limits`` (time, memory,
    decompressed size); a file over a limit is skipped and the worker replaced."""
    ingestor = Ingestor(
        store,
        embedder,
        collection=collection,
        tenant=tenant,
        options=options,
        max_bytes=max_bytes,
        limits=limits,
    )
    files = discover(paths)
    if prune and not files:
        raise ClientError(
            "no supported documents found at the given paths; refusing to prune everything"
        )
    await ingestor.prepare(reembed=reembed)
    return await ingestor.ingest_documents(files, prune=prune, progress=progress)


async def ingest_bytes(
    data: bytes,
    name: str,
    *,
    store: KnowledgeStore,
    embedder: EmbeddingProvider,
    collection: str = "default",
    tenant: str = "default",
    source: str | None = None,
    limits: ParseLimits | None = None,
) -> IngestSummary:
    """Ingest one uploaded file (what the admin upload endpoint calls), parsed in a worker
    process under ``limits``; cancelling the call kills the parse."""
    ingestor = Ingestor(store, embedder, collection=collection, tenant=tenant, limits=limits)
    await ingestor.prepare()
    summary = IngestSummary()
    try:
        async with ParserWorker(ingestor.limits) as parser:
            document = await parser.parse(data, name, source or name)
    except DocumentSkipped as skip:
        summary.skipped.append(Problem(source or name, skip.reason.value, skip.detail))
        return summary
    return await ingestor.ingest_documents([document])
