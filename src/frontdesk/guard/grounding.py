"""Groundedness without an LLM call.

Each sentence of an answer (a claim) is scored for support by the retrieved sources: lexical
overlap of content words, plus (when an embedder is given) the cosine similarity to its
best-matching source sentence (``guard.alignment``). A claim under ``sentence_threshold``
is ``unsupported``; a claim whose polarity, quantities (values with units), plan or product
names, or conditions differ from every close source sentence (``guard.claims``) is
unsupported too, with that ``reason``. The answer's score is the share of its scorable
characters that are supported. Uncertainty markers and too-short answers are low confidence.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from frontdesk.guard.alignment import (
    SourceIndex,
    SourceSentences,
    build_index,
    index_sources,
    segment,
    verify,
)
from frontdesk.guard.claims import clean, features
from frontdesk.guard.injection_model import SyncEmbedder
from frontdesk.text.stopwords import STOPWORDS

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9][\wÀ-ÿ'’-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")
_STOP = STOPWORDS
UNCERTAINTY_MARKERS: tuple[str, ...] = (
    "i am not sure",
    "i'm not sure",
    "i am not certain",
    "i'm not certain",
    "i believe",
    "i think",
    "i am guessing",
    "i'm guessing",
    "i guess",
    "probably",
    "i don't know",
    "i do not know",
    "might be",
    "as far as i know",
)


#: sentence reasons that mean the answer says something else than its source
CONTRADICTIONS = frozenset({"polarity", "quantity", "name", "condition"})


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    start: int
    end: int
    lexical: float
    semantic: float | None
    missing: tuple[str, ...]
    """numbers and names not found in any source (the values, from the bot's own answer)"""
    supported: bool
    reason: str | None = None
    """why unsupported: ``polarity``, ``quantity``, ``name``, ``condition`` (the claim
    differs from its best-matching source sentence) or ``unsupported`` (no source sentence
    is close enough); None when supported"""
    detail: str = ""
    """a short human-readable explanation of ``reason``"""
    evidence: tuple[int, int, int] | None = None
    """the best-matching source sentence: (source index, start, end), 0-based"""


@dataclass(frozen=True, slots=True)
class GroundingReport:
    score: float
    sentences: tuple[SentenceSupport, ...]
    low_confidence: tuple[str, ...]
    """reasons: ``uncertain``, ``too_short``, ``ungrounded``, ``no_sources``, ``contradicted``
    (a sentence differs from its source in polarity, a quantity, a name or a condition)"""

    def to_record(self) -> dict[str, object]:
        return {
            "score": round(self.score, 4),
            "low_confidence": list(self.low_confidence),
            "unsupported_sentences": sum(not s.supported for s in self.sentences),
            "reasons": [s.reason for s in self.sentences if s.reason],
            "sentences": len(self.sentences),
        }


_STEP = re.compile(r"^\s*\d{1,2}[.)]\s+\S")
MAX_STEPS = 8


def _numbered_steps(source: str) -> list[str]:
    """The numbered list of a passage ("1. Go to ...", "2. ..."), at most MAX_STEPS lines."""
    return [line.strip() for line in source.splitlines() if _STEP.match(line)][:MAX_STEPS]


def split_sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 1}


@dataclass(frozen=True, slots=True)
class _Sources:
    """What grounding needs of one set of sources, whatever the answer."""

    indexed: SourceSentences
    words: frozenset[str]
    lower: str


SOURCE_CACHE = 256
"""Sets of sources whose sentence index a :class:`Grounder` keeps (the same passages are
retrieved for question after question; indexing five of them is ~4 ms of a turn's CPU)."""


class Grounder:
    def __init__(
        self,
        *,
        embedder: SyncEmbedder | None = None,
        sentence_threshold: float = 0.6,
        min_answer_words: int = 4,
        cache_size: int = SOURCE_CACHE,
    ) -> None:
        self._embedder = embedder
        self._threshold = sentence_threshold
        self._min_words = min_answer_words
        self._cache: OrderedDict[tuple[str, ...], _Sources] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _sources(self, sources: Sequence[str]) -> _Sources:
        """The sources' sentence index and words, built once per set of sources (read-only
        once built, so turns share them)."""
        key = tuple(sources)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        source_text = clean("\n".join(sources))
        words = frozenset(content_words(source_text))
        built = _Sources(index_sources(sources), words, source_text.lower())
        with self._lock:
            self._cache[key] = built
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return built

    def score(self, answer: str, sources: Sequence[str]) -> GroundingReport:
        reasons: list[str] = []
        lowered = answer.lower()
        if any(marker in lowered for marker in UNCERTAINTY_MARKERS):
            reasons.append("uncertain")
        if len(_WORD.findall(answer)) < self._min_words:
            reasons.append("too_short")
        if not sources:
            return GroundingReport(0.0, (), (*reasons, "no_sources"))
        known = self._sources(sources)
        source_words, source_lower = known.words, known.lower
        spans = [s for s in segment(answer) if len(content_words(clean(answer[s[0] : s[1]]))) >= 2]
        claims = [clean(answer[a:b]) for a, b in spans]
        index, vectors = build_index(
            sources, self._embedder, extra_texts=claims, indexed=known.indexed
        )
        results = [
            self._support(
                span,
                claims[i],
                index,
                None if vectors is None else vectors[i],
                source_words,
                source_lower,
            )
            for i, span in enumerate(spans)
        ]
        total = sum(s.end - s.start for s in results)
        good = sum(s.end - s.start for s in results if s.supported)
        score = good / total if total else 0.0
        if total and score < self._threshold:
            reasons.append("ungrounded")
        if any(s.reason in CONTRADICTIONS for s in results):
            reasons.append("contradicted")  # one contradicted fact is enough to distrust it
        return GroundingReport(score, tuple(results), tuple(reasons))

    def _support(
        self,
        span: tuple[int, int],
        sentence: str,
        index: SourceIndex,
        vector: npt.NDArray[np.float32] | None,
        source_words: frozenset[str],
        source_lower: str,
    ) -> SentenceSupport:
        words = content_words(sentence)
        lexical = len(words & source_words) / len(words)
        check = verify(features(sentence, index.known_names), index, vector)
        sem = check.semantic
        support = lexical if sem is None else 0.5 * lexical + 0.5 * sem
        missing = tuple(
            token
            for token in _NUMBER.findall(sentence) + _NAME.findall(sentence)
            if token.lower() not in source_lower
        )
        ev = check.evidence
        evidence = None if ev is None else (ev.source, ev.start, ev.end)
        if support < self._threshold or not check.candidates:
            reason, detail = "unsupported", "no source sentence says this"
        elif check.mismatch is not None:
            reason, detail = check.mismatch.reason, check.mismatch.detail
        else:
            return SentenceSupport(*span, lexical, sem, missing, True, None, "", evidence)
        return SentenceSupport(*span, lexical, sem, missing, False, reason, detail, evidence)

    def extractive_answer(self, question: str, sources: Sequence[str], *, limit: int = 2) -> str:
        """The best-matching source sentences, each with a ``[n]`` citation of its source."""
        candidates = [
            (n, src[a:b]) for n, src in enumerate(sources, 1) for a, b in split_sentences(src)
        ]
        if not candidates:
            return ""
        q_words = content_words(question)
        scores = [len(q_words & content_words(s)) / (1 + len(q_words)) for _, s in candidates]
        if self._embedder is not None:
            vectors = self._embedder.embed_sync([question] + [s for _, s in candidates])
            sims = vectors[1:] @ vectors[0]
            scores = [0.5 * a + 0.5 * float(b) for a, b in zip(scores, sims, strict=True)]
        best = sorted(range(len(candidates)), key=lambda i: -scores[i])[:limit]
        top_source = candidates[best[0]][0]
        steps = _numbered_steps(sources[top_source - 1])
        if len(steps) >= 2:  # a procedure: quote its steps, not two stray sentences
            intro = candidates[best[0]][1]
            lead = "" if _STEP.match(intro) else intro + "\n\n"
            return f"{lead}" + "\n".join(steps) + f" [{top_source}]"
        return " ".join(f"{candidates[i][1]} [{candidates[i][0]}]" for i in sorted(best))
