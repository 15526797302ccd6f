"""The knowledge stage of a turn: find sources for the question, number them for
the prompt, and resolve the answer's citations against them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from frontdesk.answer.lexicon import Lexicon
from frontdesk.chat.prompt import Source
from frontdesk.config import KnowledgeConfig
from frontdesk.domain import Citation, StoredMessage
from frontdesk.knowledge.documents import citation_url

if TYPE_CHECKING:  # retrieval (numpy) and the guard stack load only when configured
    from frontdesk.guard.injection_sources import Screened, SourceScreen
    from frontdesk.knowledge.retrieval import RetrievalReport, RetrievedChunk, Retriever
    from frontdesk.knowledge.stores.base import KnowledgeStore
    from frontdesk.knowledge.types import SearchFilter

SHORT_FOLLOW_UP_WORDS = 6
LEXICON_MAX_CHARS = 50_000_000
"""Collections larger than this (about 10,000 pages) are not read into a lexicon."""
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Grounding:
    """What retrieval found for one question."""

    hits: list[RetrievedChunk] = field(default_factory=list)
    dropped: tuple[str, ...] = ()
    """Ids of retrieved passages kept out: an injection rule matched them."""
    fenced: frozenset[str] = frozenset()
    """Ids of passages the document model flagged: given with a warning, as data only."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds of each retrieval stage (embed, vector, lexical, fuse, total)."""

    @property
    def found(self) -> bool:
        return bool(self.hits)

    def sources(self) -> list[Source]:
        return [
            Source(i, h.chunk.title, h.chunk.section, h.chunk.text, h.chunk.id in self.fenced)
            for i, h in enumerate(self.hits, start=1)
        ]

    def citations(self, conversation_id: str) -> dict[int, Citation]:
        """Numbered citations; each links to the citation viewer at the cited section (the
        viewer shows a customer only passages cited to their own conversation)."""
        cites = {}
        for i, hit in enumerate(self.hits, start=1):
            chunk = hit.chunk
            anchor = chunk.anchor or f"part-{chunk.ordinal}"
            url = citation_url(chunk.document_id, anchor, conversation_id)
            cites[i] = replace(hit.citation(i), url=url)
        return cites

    def chunk_ids(self) -> list[str]:
        return [h.chunk.id for h in self.hits]

    def texts(self) -> list[str]:
        return [h.chunk.text for h in self.hits]


class KnowledgeBase:
    """The bot's documents: a retriever over one tenant's collection."""

    def __init__(self, retriever: Retriever, config: KnowledgeConfig) -> None:
        self.retriever = retriever
        self.config = config
        self.ready = False
        """True once the collection holds documents (checked at start-up and after uploads)."""
        self.lexicon: Lexicon | None = None
        """The words of the whole collection (None: none yet, or too large to read)."""
        self._terms: dict[str, bool] = {}
        self.screen: SourceScreen | None = None
        """Drops passages that carry instructions aimed at the model (set by the guard)."""

    async def refresh(self) -> bool:
        self._terms.clear()
        self.ready = self.config.enabled and await self.has_documents()
        self.lexicon = await asyncio.to_thread(self._read_lexicon) if self.ready else None
        return self.ready

    def _read_lexicon(self) -> Lexicon | None:
        texts: list[str] = []
        size = 0
        for document in self.store.list_documents(self.where):
            text = self.store.document_text(self.where, document.id) or ""
            size += len(text)
            if size > LEXICON_MAX_CHARS:
                log.warning(
                    "collection over %d characters: near-miss questions are checked against "
                    "the retrieved passages only",
                    LEXICON_MAX_CHARS,
                )
                return None
            texts.append(text)
        return Lexicon.build(texts)

    @property
    def store(self) -> KnowledgeStore:
        return self.retriever.store

    @property
    def where(self) -> SearchFilter:
        return self.retriever.where

    def knows_term(self, word: str) -> bool:
        """Whether the documents use ``word`` (a plan or product name, not a person's)."""
        if not word.strip() or not self.ready:
            return False
        key = word.lower()
        known = self._terms.get(key)
        if known is None:
            known = bool(self.store.search_lexical(word, self.where, 1))
            if len(self._terms) >= 10_000:
                self._terms.clear()
            self._terms[key] = known
        return known

    async def has_documents(self) -> bool:
        return await asyncio.to_thread(self.store.count, self.where) > 0

    async def ground(self, question: str, earlier: Sequence[StoredMessage] = ()) -> Grounding:
        """Sources for ``question``; a short follow-up also uses the previous question."""
        query = question
        if len(question.split()) < SHORT_FOLLOW_UP_WORDS:
            previous = next((m.content for m in reversed(earlier) if m.role == "user"), None)
            if previous:
                query = f"{previous}\n{question}"
        if self.retriever.embeds_in_thread:  # retrieval and screen in one worker thread
            return await asyncio.to_thread(self._ground_sync, query)
        report = await self.retriever.retrieve_report(query, k=self.config.top_k)
        if self.screen is None or not report.hits:
            return Grounding(report.hits, timings_ms=report.timings_ms)
        screen = self.screen
        screened = await asyncio.to_thread(screen.screen, [h.chunk.text for h in report.hits])
        return _screened(report, screened)

    def _ground_sync(self, query: str) -> Grounding:
        report = self.retriever.retrieve_report_sync(query, k=self.config.top_k)
        if self.screen is None or not report.hits:
            return Grounding(report.hits, timings_ms=report.timings_ms)
        return _screened(report, self.screen.screen([h.chunk.text for h in report.hits]))


def _screened(report: RetrievalReport, screened: Screened) -> Grounding:
    """The hits without the passages an injection rule matched, and those the document
    model flagged fenced."""
    hits, timings = report.hits, report.timings_ms
    ruled = [bool(r) for r in screened.rules]
    dropped = tuple(h.chunk.id for h, r in zip(hits, ruled, strict=True) if r)
    fenced = frozenset(
        h.chunk.id for h, f, r in zip(hits, screened.flagged, ruled, strict=True) if f and not r
    )
    if dropped or fenced:
        log.warning(
            "retrieved passages with instructions: kept out %s, fenced %s",
            dropped,
            sorted(fenced),
        )
    kept = [h for h, r in zip(hits, ruled, strict=True) if not r]
    return Grounding(kept, dropped, fenced, timings)
