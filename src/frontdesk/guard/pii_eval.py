"""Span-level evaluation of the PII detectors on presidio-research style data.

Coverage matching (the default, what matters for redaction): a gold span is found when at
least ``min_overlap`` of its characters are covered by predictions of the same (mapped) type,
and a prediction is correct when at least ``min_overlap`` of its characters are covered by gold
spans of that type. Recall counts gold spans, precision counts predictions. ``exact=True``
instead demands identical boundaries (reported alongside, for comparison).
Only gold types we detect are scored (others are ignored, and so are predictions of types
the data does not label).

Fitting and reporting: :func:`split_by_template` cuts the data into two halves by sentence
template (presidio-research generates each sentence from a template, so a template's
sentences are near copies): rules are fitted on the ``fit`` half, numbers reported on the
``report`` half, whose templates the rules never saw.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from frontdesk.guard.pii_patterns import Span

#: dataset entity type -> our placeholder kind
TYPE_MAP: dict[str, str] = {
    "CREDIT_CARD": "CARD",
    "US_SSN": "SSN",
    "IBAN_CODE": "IBAN",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "IP_ADDRESS": "IP",
}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    spans: tuple[tuple[str, int, int], ...]
    template: str = ""
    """The generator's template id (sentences of one template are near copies)."""


@dataclass(slots=True)
class Counts:
    tp: int = 0
    """gold spans found"""
    fp: int = 0
    """predictions not supported by gold"""
    fn: int = 0
    """gold spans missed"""
    tp_pred: int | None = None
    """predictions supported by gold (coverage mode; ``None`` means equal to ``tp``)"""

    def precision(self) -> float:
        good = self.tp if self.tp_pred is None else self.tp_pred
        return good / (good + self.fp) if good + self.fp else 1.0

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def f_beta(self, beta: float = 2.0) -> float:
        p, r = self.precision(), self.recall()
        b2 = beta * beta
        return (1 + b2) * p * r / (b2 * p + r) if p + r else 0.0


@dataclass(slots=True)
class Report:
    per_type: dict[str, Counts] = field(default_factory=dict)

    def overall(self) -> Counts:
        total = Counts()
        for c in self.per_type.values():
            total.tp += c.tp
            if c.tp_pred is not None:
                total.tp_pred = (total.tp_pred or 0) + c.tp_pred
            total.fp += c.fp
            total.fn += c.fn
        return total

    def rows(self) -> list[tuple[str, int, float, float, float]]:
        out = []
        for kind, c in sorted(self.per_type.items()):
            out.append((kind, c.tp + c.fn, c.precision(), c.recall(), c.f_beta()))
        o = self.overall()
        out.append(("OVERALL", o.tp + o.fn, o.precision(), o.recall(), o.f_beta()))
        return out


def load_examples(path: Path) -> list[Example]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        Example(
            text=item["full_text"],
            spans=tuple(
                (TYPE_MAP[s["entity_type"]], int(s["start_position"]), int(s["end_position"]))
                for s in item["spans"]
                if s["entity_type"] in TYPE_MAP
            ),
            template=str(item.get("template_id", "")),
        )
        for item in raw
    ]


def split_by_template(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """``(fit, report)``: a fixed half of the templates each (by a hash of the template id),
    so no template has sentences on both sides."""
    fit: list[Example] = []
    report: list[Example] = []
    for ex in examples:
        digest = hashlib.sha256(ex.template.encode("utf-8")).digest()
        (report if digest[-1] % 2 else fit).append(ex)
    return fit, report


def _covered(span: tuple[int, int], others: list[tuple[int, int]]) -> float:
    """Fraction of ``span``'s characters covered by ``others``."""
    length = span[1] - span[0]
    if length <= 0:
        return 0.0
    hit = 0
    for pos in range(span[0], span[1]):
        if any(a <= pos < b for a, b in others):
            hit += 1
    return hit / length


def evaluate(
    examples: Iterable[Example],
    detect: Callable[[str], list[Span]],
    *,
    min_overlap: float = 0.5,
    exact: bool = False,
) -> Report:
    """Score ``detect``; ``exact=True`` demands identical boundaries instead of coverage."""
    report = Report()
    kinds = set(TYPE_MAP.values())
    for ex in examples:
        predicted = [s for s in detect(ex.text) if s.kind in kinds]
        for kind in kinds:
            counts = report.per_type.setdefault(kind, Counts(tp_pred=None if exact else 0))
            gold = [(a, b) for k, a, b in ex.spans if k == kind]
            preds = [(s.start, s.end) for s in predicted if s.kind == kind]
            if exact:
                hits = len(set(gold) & set(preds))
                counts.tp += hits
                counts.fp += len(set(preds)) - hits
                counts.fn += len(set(gold)) - hits
                continue
            counts.tp_pred = (counts.tp_pred or 0) + sum(
                _covered(p, gold) >= min_overlap for p in preds
            )
            counts.fp += sum(_covered(p, gold) < min_overlap for p in preds)
            found = sum(_covered(g, preds) >= min_overlap for g in gold)
            counts.tp += found
            counts.fn += len(gold) - found
    return report


def format_report(report: Report) -> str:
    lines = ["| type | gold spans | precision | recall | F2 |", "|---|---:|---:|---:|---:|"]
    for kind, n, p, r, f2 in report.rows():
        lines.append(f"| {kind} | {n} | {p:.3f} | {r:.3f} | {f2:.3f} |")
    return "\n".join(lines)
