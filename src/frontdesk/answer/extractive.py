"""Extractive answers: quote the units of the retrieved passages that answer the question.

Each unit (sentence, list item, procedure, table row, FAQ answer — see :mod:`units`) is
scored against the question by the embedder (cosine of the question and the unit with its
section), content-word overlap with light stemming, and whether it carries the kind of content
the question expects (an amount, a duration, steps, a contact, a condition). The best unit is
quoted verbatim with its ``[n]`` citation, with a second one when it scores nearly as well and
says something else (two-part questions, a condition and its exception). Below a calibrated
score nothing answers: the result says so (``answered=False``) and carries the closest unit.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from frontdesk.answer import paraphrase
from frontdesk.answer.coverage import Coverage
from frontdesk.answer.question import AnswerType, answer_type, type_match
from frontdesk.answer.units import Segmenter, Unit, units_of
from frontdesk.chat.prompt import Source
from frontdesk.guard.injection_model import SyncEmbedder
from frontdesk.text.stopwords import STOPWORDS

_WORD = re.compile(r"[A-Za-z0-9$%][\w$%.'-]*[\w%]|[A-Za-z0-9]")
_STOP = STOPWORDS | {"thru", "tho", "pls", "plz", "u", "ur"}


@dataclass(frozen=True, slots=True)
class ComposedAnswer:
    text: str
    """Quoted units, each followed by its ``[n]`` citation."""
    answered: bool
    confidence: float
    units: tuple[Unit, ...]
    expected: AnswerType
    unknown: tuple[str, ...] | None = None
    """What the question names that the documents never mention (None: not checked)."""


@dataclass(frozen=True, slots=True)
class ComposerOptions:
    answer_threshold: float = 0.42
    """Below this best-unit score the passages don't answer the question."""
    second_ratio: float = 0.9
    """A second unit is quoted when it scores at least this share of the best one."""
    part_ratio: float = 0.6
    """A part of a two-part question whose best unit answers another part takes its next
    best when that scores at least this share of it."""
    semantic_weight: float = 0.55
    lexical_weight: float = 0.35
    type_weight: float = 0.15
    contrast_factor: float = 0.8
    """A unit that names only another alternative than the question's ("annual" for
    "monthly", "downgrade" for "upgrade") scores this share."""
    cache_size: int = 4096


class ExtractiveComposer:
    """Implements :class:`frontdesk.chat.answering.Composer`."""

    def __init__(
        self,
        embedder: SyncEmbedder,
        segment: Segmenter,
        options: ComposerOptions | None = None,
        *,
        coverage: Coverage | None = None,
    ) -> None:
        self._embedder = embedder
        self._segment = segment
        self._coverage = coverage
        self._opt = options or ComposerOptions()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def compose(
        self, question: str, sources: Sequence[Source], *, history_hint: str | None = None
    ) -> ComposedAnswer:
        expected = answer_type(question)
        unknown = self._coverage.unknown(question) if self._coverage is not None else None
        found = tuple(unknown) if unknown is not None else None
        units = [
            u
            for s in sources
            for u in units_of(s.index, s.title, s.section, s.text, self._segment)
            if not _ABOUT_THE_PAGE.match(u.text)
        ]
        if not units:
            return ComposedAnswer("", False, 0.0, (), expected, found)
        scores = self._scores(question, history_hint, units, expected)
        order = sorted(range(len(units)), key=lambda i: -scores[i])
        best = order[0]
        chosen = [best]
        for i in order[1:4]:
            if scores[i] < self._opt.second_ratio * scores[best]:
                break
            if not self._redundant(units[i], [units[c] for c in chosen]):
                chosen.append(i)
                break
        parts = question_parts(question)
        if len(parts) > 1:  # a two-part question: an answer for each part
            self._answer_parts(parts, history_hint, units, chosen)
        for i in list(chosen):  # a sentence that goes on from a quoted one ("In that case …")
            nxt = _next_in_block(units, i)
            if nxt is not None and nxt not in chosen and _CONTINUES.match(units[nxt].text):
                chosen.append(nxt)
        picked = tuple(sorted((units[i] for i in chosen), key=lambda u: (u.source, u.position)))
        confidence = float(scores[best])
        text = render(picked)
        # "an SLA on the Growth plan?" answered by the Enterprise SLA: not an answer
        about = "\n".join([text, *(u.context for u in picked)])  # "It adds …" under "Enterprise"
        other = self._coverage.other_instance(question, about) if self._coverage else None
        return ComposedAnswer(
            text,
            confidence >= self._opt.answer_threshold and other is None,
            confidence,
            picked,
            expected,
            found,
        )

    def _answer_parts(
        self, parts: list[str], previous: str | None, units: list[Unit], chosen: list[int]
    ) -> None:
        """Each part gets its best unit that no other part took (when it scores well enough
        for that part), so "Is there a trial, and do I need a card?" answers both."""
        taken = set(chosen[:1])
        for part in parts:
            part_scores = self._scores(part, previous, units, answer_type(part))
            order = sorted(range(len(units)), key=lambda i: -part_scores[i])
            top = order[0]
            if top not in taken:
                pick: int | None = top
            else:  # the part's best is the answer to another part: its next best, if close
                pick = next(
                    (
                        i
                        for i in order[1:4]
                        if i not in taken
                        and part_scores[i] >= self._opt.part_ratio * part_scores[top]
                        and not self._redundant(units[i], [units[t] for t in taken])
                    ),
                    None,
                )
            if pick is None:
                continue
            taken.add(pick)
            if pick not in chosen and not self._redundant(units[pick], [units[c] for c in chosen]):
                chosen.append(pick)

    def _scores(
        self, question: str, previous: str | None, units: list[Unit], expected: AnswerType
    ) -> np.ndarray:
        query = f"{previous} {question}" if previous else question
        terms = paraphrase.search_terms(question)
        if terms:  # "get the rest back" is nearer "refunded" in the documents' words
            query = f"{query} ({', '.join(terms)})"
        vectors = self._embed([query] + [f"{u.context}: {u.text}" for u in units])
        semantic = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        # a concept asked in the customer's words ("get the rest back") counts like a
        # content word the unit shares when the unit states it in the documents' ("refund")
        q_words = _question_words(question)
        p_words = _question_words(previous) - q_words if previous else set()
        # an identifier (NW-422, v2, TLS 1.2) names exactly one thing: it counts twice
        q_ids = identifiers(question)
        weight = len(q_words) + len(q_ids) + 0.5 * len(p_words)
        opt = self._opt
        out = np.zeros(len(units), dtype=np.float32)
        for i, unit in enumerate(units):
            words = (
                content_words(unit.text)
                | content_words(unit.context)
                | _tagged(paraphrase.stated(unit.text))
            )
            shared = len(q_words & words) + len(q_ids & words) + 0.5 * len(p_words & words)
            lexical = shared / weight if weight else 0.0
            typed = type_match(expected, unit.text, unit.kind)
            out[i] = (
                opt.semantic_weight * semantic[i]
                + opt.lexical_weight * lexical
                + opt.type_weight * typed
            )
            if paraphrase.contradicts(question, unit.text, unit.context):
                out[i] *= opt.contrast_factor  # "monthly" asked, "annual plans …" stated
        return out

    def _redundant(self, unit: Unit, chosen: list[Unit]) -> bool:
        words = content_words(unit.text)
        for other in chosen:
            theirs = content_words(other.text)
            if words and len(words & theirs) / len(words) > 0.7:
                return True
        return False

    def _embed(self, texts: list[str]) -> np.ndarray:
        """One embedder call for the texts not cached (unit texts recur across turns)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._embedder.embed_sync(missing), strict=True):
                self._vectors[text] = vector
                if len(self._vectors) > self._opt.cache_size:
                    self._vectors.popitem(last=False)
        rows = []
        for text in texts:
            self._vectors.move_to_end(text)
            rows.append(self._vectors[text])
        return np.stack(rows)


_PART_SPLIT = re.compile(
    r"\?\s+(?=\S)|,?\s+and\s+(?=(?:do|does|did|is|are|can|could|how|what|which|will|when|"
    r"where|who|should|would)\b)",
    re.IGNORECASE,
)


_ABOUT_THE_PAGE = re.compile(
    r"^(?:this|the following|on this) (?:page|policy|guide|article|document|section|faq|"
    r"help article|agreement)s? (?:explains?|describes?|covers?|shows?|lists?|sets out|"
    r"outlines?|tells? you|walks you through)\b",
    re.IGNORECASE,
)
"""A sentence about the page itself ("This policy explains when …"): never an answer."""
_CONTINUES = re.compile(
    r"^(?:in (?:that|this|such a) case|if so|otherwise|then|except|unless|however|but|"
    r"this|that|these|those|it|they)\b",
    re.IGNORECASE,
)
"""Openers of a sentence that depends on the one before it."""


def _next_in_block(units: list[Unit], i: int) -> int | None:
    unit = units[i]
    if i + 1 < len(units):
        nxt = units[i + 1]
        if (nxt.source, nxt.block, nxt.kind) == (unit.source, unit.block, "sentence"):
            return i + 1
    return None


def question_parts(question: str) -> list[str]:
    """The sub-questions of a two-part question ("Is there a trial, and do I need a card?")."""
    parts = [p.strip(" ,?") for p in _PART_SPLIT.split(question)]
    return [p for p in parts if len(p.split()) >= 3]


def render(units: Sequence[Unit]) -> str:
    parts = []
    for unit in units:
        if unit.kind == "steps":
            parts.append(f"{unit.text} [{unit.source}]")
        elif unit.kind in ("item", "row"):
            parts.append(f"- {unit.text} [{unit.source}]")
        else:
            parts.append(f"{unit.text} [{unit.source}]")
    joined = ""
    for i, part in enumerate(parts):
        if i == 0:
            joined = part
        elif "\n" in part or "\n" in parts[i - 1] or part.startswith("- "):
            joined += "\n\n" + part
        else:
            joined += " " + part
    return joined


_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])[A-Za-z0-9][\w.-]*[A-Za-z0-9]")


def identifiers(text: str) -> set[str]:
    """Codes, versions and names with digits ("NW-422", "v2", "2FA"), as content words."""
    return {_stem(m.group(0).lower()) for m in _IDENTIFIER.finditer(text)}


def _question_words(text: str | None) -> set[str]:
    """Content words, with a phrase in the customer's words counted as its concept."""
    if not text:
        return set()
    rest, concepts = paraphrase.rephrased(text)
    return content_words(rest) | _tagged(concepts)


def _tagged(concepts: frozenset[str]) -> set[str]:
    """Concept names as pseudo-words that no real word can equal."""
    return {f"concept:{c}" for c in concepts}


def content_words(text: str | None) -> set[str]:
    if not text:
        return set()
    return {_stem(w.lower().strip(".")) for w in _WORD.findall(text) if w.lower() not in _STOP}


def _stem(word: str) -> str:
    for suffix in ("ing", "ly", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
