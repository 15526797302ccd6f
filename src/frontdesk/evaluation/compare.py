"""Compare two runs: per-metric deltas, the cases that changed, and a verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontdesk.evaluation.cases import CaseFileError
from frontdesk.evaluation.results import CaseResult, read_results
from frontdesk.evaluation.summary import METRICS, summarise

SPLIT_SCOPES = ("overall", "dev", "holdout")


@dataclass
class Run:
    """A run to compare: its summary, and its per-case results when available."""

    summary: dict[str, Any]
    results: list[CaseResult] | None = None
    tolerance: dict[str, float] = field(default_factory=dict)


def load_run(path: Path) -> Run:
    """A ``--out`` folder, a ``results.jsonl`` or a ``summary.json`` (e.g. the baseline)."""
    if path.is_dir():
        results_path, summary_path = path / "results.jsonl", path / "summary.json"
        results = read_results(results_path) if results_path.exists() else None
        if summary_path.exists():
            run = _summary_run(summary_path)
            run.results = results
            return run
        if results is None:
            raise CaseFileError(f"{path} holds neither results.jsonl nor summary.json")
        return Run(summarise(results), results)
    if path.suffix == ".jsonl":
        results = read_results(path)
        return Run(summarise(results), results)
    return _summary_run(path)


def _summary_run(path: Path) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CaseFileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or "overall" not in data:
        raise CaseFileError(f"{path} is not a summary (no 'overall')")
    tolerance = {str(k): float(v) for k, v in dict(data.get("tolerance", {})).items()}
    return Run(data, None, tolerance)


@dataclass(frozen=True)
class MetricDelta:
    scope: str
    metric: str
    base: float | None
    new: float | None
    tolerance: float | None

    @property
    def delta(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        return round(self.new - self.base, 4)

    @property
    def worse(self) -> bool:
        """Past the tolerance in the metric's bad direction (None tolerance: not gated)."""
        direction = METRICS[self.metric][0]
        if self.tolerance is None or self.delta is None:
            return False
        if direction == "info":
            return abs(self.delta) > self.tolerance and self.delta > 0
        bad = -self.delta if direction == "up" else self.delta
        return bad > self.tolerance + 1e-9


@dataclass(frozen=True)
class CaseChange:
    id: str
    before: bool
    after: bool
    why: list[str]

    @property
    def worse(self) -> bool:
        return self.before and not self.after


@dataclass
class Comparison:
    deltas: list[MetricDelta]
    changes: list[CaseChange]

    @property
    def regressions(self) -> list[MetricDelta]:
        return [d for d in self.deltas if d.worse]

    @property
    def failed(self) -> bool:
        return bool(self.regressions)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _tolerance_for(metric: str, tolerance: dict[str, float]) -> float | None:
    if metric in tolerance:
        return tolerance[metric]
    if METRICS[metric][0] == "info":
        return None
    return tolerance.get("default", 0.0)


def compare(base: Run, new: Run, tolerance: dict[str, float] | None = None) -> Comparison:
    """Deltas for every metric in every scope; ``tolerance`` overrides the base's own."""
    unknown = [k for k in (tolerance or {}) if k != "default" and k not in METRICS]
    if unknown:
        raise CaseFileError(f"unknown metric in tolerance: {', '.join(unknown)}")
    tol = {**base.tolerance, **(tolerance or {})}
    deltas = []
    for scope in SPLIT_SCOPES:
        b = base.summary["overall"] if scope == "overall" else base.summary["splits"].get(scope)
        n = new.summary["overall"] if scope == "overall" else new.summary["splits"].get(scope)
        if b is None or n is None:
            continue
        for metric in METRICS:
            deltas.append(
                MetricDelta(scope, metric, _num(b.get(metric)), _num(n.get(metric)),
                            _tolerance_for(metric, tol))
            )  # fmt: skip
    return Comparison(deltas, _changes(base, new))


def _verdicts(run: Run) -> dict[str, bool]:
    """Each case's verdict: from the results, else from a baseline's ``cases_correct``."""
    if run.results is not None:
        return {r.id: r.score.correct for r in run.results}
    recorded = run.summary.get("cases_correct", {})
    return {str(k): bool(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def _changes(base: Run, new: Run) -> list[CaseChange]:
    if new.results is None:
        return []
    before = _verdicts(base)
    out = []
    for r in new.results:
        old = before.get(r.id)
        if old is None or old == r.score.correct:
            continue
        why = r.score.reasons if not r.score.correct else ["now correct"]
        out.append(CaseChange(r.id, old, r.score.correct, why))
    return out


def parse_tolerance(items: list[str]) -> dict[str, float]:
    """``metric=value`` pairs (``default=0.02`` for every gated metric)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError as exc:
            raise CaseFileError(f"tolerance must be METRIC=NUMBER, got {item!r}") from exc
    return out
