"""Best-matching source sentences for a claim, by content-word overlap and the embedder.

The sources are split into sentences (list items and table rows are their own
sentences); each keeps the names of the sentences before it in its paragraph, so
"It includes 5 active pipelines" is known to be about the Starter plan.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from frontdesk.guard.claims import (
    Features,
    Mismatch,
    clean,
    compare,
    content_stems,
    features,
    instance_names,
    names,
)
from frontdesk.guard.injection_model import SyncEmbedder

_FALLBACK = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n")
#: a source sentence counts as a candidate when its alignment is within this of the best
MARGIN = 0.08
TOP_K = 3
#: ... and covers nearly as many of the claim's words as the best one
COVERAGE_MARGIN = 0.0
LEXICAL_WEIGHT = 0.5
#: a name in at least this share of the sources (and in two or more) is generic: the company
GENERIC_SHARE = 0.6


_ITEM = re.compile(r"^\s*(?:[-*•|#]|\d{1,2}[.)]\s|[A-Z]:\s)")
_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|[A-Z]:)\s+")


def _blocks(text: str) -> list[tuple[int, str]]:
    """Runs of lines to segment: a list item, table row or heading is a run of its own;
    other lines are joined (hard-wrapped PDF text), the newline becoming a space."""
    blocks: list[tuple[int, str]] = []
    offset = 0
    current: list[str] = []
    start = 0
    for line in text.splitlines(keepends=True):
        if not line.strip() or _ITEM.match(line):
            if current:
                blocks.append((start, "".join(current)))
                current = []
            if line.strip():
                blocks.append((offset, line))
        else:
            if not current:
                start = offset
            current.append(line)
        offset += len(line)
    if current:
        blocks.append((start, "".join(current)))
    return blocks


def segment(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``; list items and table rows are their own sentences."""
    spans: list[tuple[int, int]] = []
    for offset, raw in _blocks(text):
        body = raw.replace("\r", " ").replace("\n", " ")
        marker = _MARKER.match(body)
        if marker:  # "- " / "3. " / "A: " blanked out, so the item's own sentences split
            body = " " * marker.end() + body[marker.end() :]
        if body.strip():
            pieces = _split(body)
            for a, b in pieces:
                while a < b and body[a].isspace():
                    a += 1
                while b > a and body[b - 1].isspace():
                    b -= 1
                if b > a:
                    spans.append((offset + a, offset + b))
    return spans


def _split(text: str) -> list[tuple[int, int]]:
    """The library-based segmenter of ``frontdesk.text.sentences`` (never splits inside
    numbers, e-mails, URLs) when it is installed, else a conservative regex."""
    try:
        module = importlib.import_module("frontdesk.text.sentences")
    except ModuleNotFoundError:
        return _fallback_split(text)
    spans: list[tuple[int, int]] = module.split_sentences(text)
    return spans


def _fallback_split(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _FALLBACK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


@dataclass(frozen=True, slots=True)
class SourceSentence:
    source: int
    """index of the source passage (0-based)"""
    start: int
    end: int
    features: Features
    context_names: frozenset[str]
    context_text: str
    """this sentence and the one before it"""


@dataclass(frozen=True, slots=True)
class SourceSentences:
    """The part of a :class:`SourceIndex` that depends on the sources alone (no claim, no
    embedder): what :func:`build_index` would compute for the same sources, so a caller can
    build it once per set of sources (:func:`index_sources`) and reuse it turn after turn."""

    sentences: tuple[SourceSentence, ...]
    known_names: frozenset[str]
    all_names: frozenset[str]
    generic_names: frozenset[str]
    instances: frozenset[str]
    """plan and tier names (``claims.instance_names``)"""
    text: str
    """all the sources, cleaned of markup"""


@dataclass(frozen=True, slots=True)
class SourceIndex(SourceSentences):
    """The sources' sentences with the vectors of those a claim may match."""

    vectors: npt.NDArray[np.float32] | None


def known_names(sources: Sequence[str]) -> frozenset[str]:
    """Names seen mid-sentence in the sources (so "Growth costs ..." is a name at the start)."""
    return frozenset(n for src in sources for n in _source_names(src))


# The same passages come back turn after turn in different company: what depends on one
# passage alone is kept per passage text (bounded, thread-safe; a sentence's features are a
# few KB, so the sentence cache stays under ~30 MB).
PASSAGE_CACHE = 1024
SENTENCE_CACHE = 4096


@functools.lru_cache(maxsize=PASSAGE_CACHE)
def _source_names(src: str) -> frozenset[str]:
    return frozenset(names(clean(src)))


@functools.lru_cache(maxsize=PASSAGE_CACHE)
def _segments(src: str) -> tuple[tuple[int, int], ...]:
    return tuple(segment(src))


@functools.lru_cache(maxsize=SENTENCE_CACHE)
def _cached_features(text: str, known: frozenset[str], inherited: frozenset[str]) -> Features:
    return features(text, known, inherited)


def _source_features(text: str, known: frozenset[str], inherited: frozenset[str]) -> Features:
    """``features(text, known, inherited)``, cached: ``known`` only decides whether a
    capitalised word of the (cleaned) sentence is a name, so the known names the sentence
    does not contain are left out of the key."""
    cleaned = clean(text)
    return _cached_features(text, frozenset(k for k in known if k in cleaned), inherited)


def index_sources(sources: Sequence[str]) -> SourceSentences:
    """The sentences of ``sources`` with their features and the names across them."""
    known = known_names(sources)
    sentences: list[SourceSentence] = []
    per_source: list[set[str]] = []
    for i, src in enumerate(sources):
        found: set[str] = set()
        previous: frozenset[str] = frozenset()
        previous_text = ""
        inherited: frozenset[str] = frozenset()
        breaks = [m.start() for m in _PARAGRAPH.finditer(src)]
        paragraph = 0
        for a, b in _segments(src):
            if src[a:b].rstrip().endswith("?"):
                continue  # a question (an FAQ's) asserts nothing
            here = sum(end < a for end in breaks)
            if here != paragraph:  # a new paragraph: "It" no longer refers to the last name
                paragraph, previous, inherited = here, frozenset(), frozenset()
                previous_text = ""
            feats = _source_features(src[a:b], known, inherited)
            context = feats.names | previous | inherited
            sentences.append(
                SourceSentence(i, a, b, feats, context, f"{previous_text} {feats.text}")
            )
            previous_text = feats.text
            found |= feats.names
            if feats.names:
                inherited = feats.names
            previous = feats.names
        per_source.append(found)
    all_names = frozenset(n for s in per_source for n in s)
    need = max(2, math.ceil(GENERIC_SHARE * len(sources)))
    # a plan or tier ("Growth plan") is never generic, however many sources name it: a
    # claim that swaps it for another is the error to catch
    text = clean("\n".join(sources))
    instances = instance_names(text, all_names)
    generic = frozenset(
        n for n in all_names if sum(n in s for s in per_source) >= need and n not in instances
    )
    return SourceSentences(tuple(sentences), known, all_names, generic, instances, text)


def build_index(
    sources: Sequence[str],
    embedder: SyncEmbedder | None,
    *,
    extra_texts: Sequence[str] = (),
    indexed: SourceSentences | None = None,
) -> tuple[SourceIndex, npt.NDArray[np.float32] | None]:
    """The sentence index of ``sources``; with an embedder, also embeds ``extra_texts``
    (the claims) in the same batch and returns their vectors. ``indexed``: the sources'
    :func:`index_sources`, when the caller has it already."""
    base = indexed if indexed is not None else index_sources(sources)
    sentences = base.sentences
    vectors = claims_v = None
    if embedder is not None and sentences:
        # only sentences sharing a word with some claim can be its best match: embed those
        wanted = frozenset().union(*(content_stems(t) for t in extra_texts))
        rows = [j for j, s in enumerate(sentences) if s.features.stems & wanted]
        batch = embedder.embed_sync([*extra_texts, *(sentences[j].features.text for j in rows)])
        claims_v = batch[: len(extra_texts)]
        vectors = np.zeros((len(sentences), batch.shape[1]), dtype=np.float32)
        vectors[rows] = batch[len(extra_texts) :]
    index = SourceIndex(
        sentences,
        base.known_names,
        base.all_names,
        base.generic_names,
        base.instances,
        base.text,
        vectors,
    )
    return index, claims_v


@dataclass(frozen=True, slots=True)
class Alignment:
    sentence: SourceSentence
    score: float
    lexical: float
    semantic: float | None


def align(
    claim: Features, index: SourceIndex, vector: npt.NDArray[np.float32] | None
) -> list[Alignment]:
    """The best-matching source sentences, best first: at most :data:`TOP_K`, each within
    :data:`MARGIN` of the best."""
    if not index.sentences or not claim.stems:
        return []
    sims = index.vectors @ vector if vector is not None and index.vectors is not None else None
    scored = []
    for j, sentence in enumerate(index.sentences):
        lexical = len(claim.stems & sentence.features.stems) / len(claim.stems)
        if sims is None:
            scored.append(Alignment(sentence, lexical, lexical, None))
            continue
        sem = max(0.0, float(sims[j]))
        score = LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * sem
        scored.append(Alignment(sentence, score, lexical, sem))
    scored.sort(key=lambda a: -a.score)
    top = scored[0]
    return [top] + [
        a
        for a in scored[1:TOP_K]
        if a.score >= top.score - MARGIN and a.lexical >= top.lexical - COVERAGE_MARGIN
    ]


@dataclass(frozen=True, slots=True)
class Verification:
    """A claim checked against its best-matching source sentences."""

    mismatch: Mismatch | None
    """None when some candidate agrees on polarity, quantities, names and conditions"""
    evidence: SourceSentence | None
    """the agreeing sentence, else the best-matching one"""
    semantic: float | None
    """embedder similarity of the best-matching sentence"""
    candidates: int


def verify(
    claim: Features, index: SourceIndex, vector: npt.NDArray[np.float32] | None
) -> Verification:
    candidates = align(claim, index, vector)
    if not candidates:
        return Verification(None, None, 0.0 if vector is not None else None, 0)
    semantic = candidates[0].semantic
    first: Mismatch | None = None
    for candidate in candidates:
        mismatch = compare(
            claim,
            candidate.sentence.features,
            context_names=candidate.sentence.context_names,
            context_text=candidate.sentence.context_text,
            source_text=index.text,
            generic_names=index.generic_names,
            instances=index.instances,
        )
        if mismatch is None:
            return Verification(None, candidate.sentence, semantic, len(candidates))
        first = first or mismatch
    return Verification(first, candidates[0].sentence, semantic, len(candidates))
