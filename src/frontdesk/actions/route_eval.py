"""Fitting and measuring the embedded router on a labelled set (``eval/actions``).

A case is a message and the action that should answer it (or None: the documents should).
A *false route* (an action for a None case, or the wrong action) costs twice a *miss* (an
action case left to the documents): showing account data to a policy question is worse than
answering a request from the documents with an offer of a person.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from frontdesk.actions.routing import ActionRouter, personal_request

FALSE_ROUTE_COST = 2


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    action: str | None
    split: str


@dataclass(frozen=True, slots=True)
class Scored:
    case: Case
    rule: bool
    best: str | None
    score: float

    def routed(self, threshold: float) -> str | None:
        return self.best if self.rule and self.score >= threshold else None


@dataclass(frozen=True, slots=True)
class Report:
    cases: int
    positives: int
    routed_right: int
    false_routes: int
    misses: int

    @property
    def recall(self) -> float:
        return self.routed_right / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        routed = self.routed_right + self.false_routes
        return self.routed_right / routed if routed else 1.0


def load_cases(routing: Path, golden: Path | None = None) -> list[Case]:
    cases = [
        Case(r["text"], r["action"], r["split"])
        for r in map(json.loads, routing.read_text().splitlines())
    ]
    if golden is not None:
        for row in map(json.loads, golden.read_text().splitlines()):
            cases += [Case(t, None, row.get("split", "dev")) for t in row["turns"]]
    return cases


def score_cases(router: ActionRouter, cases: Sequence[Case]) -> list[Scored]:
    out = []
    for case in cases:
        scores = {
            n: v for n, v in router.scores(case.text).items() if router.mentions(n, case.text)
        }
        best = max(scores, key=lambda n: scores[n]) if scores else None
        out.append(Scored(case, personal_request(case.text), best, scores.get(best or "", 0.0)))
    return out


def report(scored: Sequence[Scored], threshold: float) -> Report:
    right = false = miss = 0
    for s in scored:
        got = s.routed(threshold)
        if s.case.action is not None and got == s.case.action:
            right += 1
        elif got is not None:
            false += 1
        elif s.case.action is not None:
            miss += 1
    positives = sum(1 for s in scored if s.case.action is not None)
    return Report(len(scored), positives, right, false, miss)


def fit_threshold(scored: Sequence[Scored]) -> float:
    """The threshold of least cost on ``scored``, in the middle of its cost-free gap."""
    candidates = sorted({round(s.score, 4) for s in scored} | {0.0, 1.0})
    costs = [(t, _cost(report(scored, t))) for t in candidates]
    least = min(c for _, c in costs)
    best = [t for t, c in costs if c == least]
    # the widest run of equally good thresholds: take its middle (a margin both ways)
    lo = best[0]
    hi = max(t for t in best if all(c == least for u, c in costs if lo <= u <= t))
    return round((lo + hi) / 2, 4) if hi > lo else lo


def _cost(r: Report) -> int:
    return FALSE_ROUTE_COST * r.false_routes + r.misses
