"""Totals per split (dev / holdout) and overall, the numbers the targets and the gate use."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from frontdesk.evaluation.results import CaseResult

Direction = Literal["up", "down", "info"]

#: Each metric, which way is better, and what it means. "info" metrics are reported but
#: gated only when a tolerance is given for them explicitly.
METRICS: dict[str, tuple[Direction, str]] = {
    "answerable_fully_correct": ("up", "answerable: every fact, no must-not, nothing withdrawn"),
    "fact_recall": ("up", "answerable: mean share of facts present"),
    "unanswerable_honest": ("up", "unanswerable: says the docs do not cover it, invents nothing"),
    "must_escalate_escalated": ("up", "must-escalate: the conversation was handed to a person"),
    "source_hit": ("up", "cases with expected sources: one of them is cited"),
    "contradiction_rate": ("down", "share of cases with a must-not statement"),
    "wrong_unflagged": ("down", "wrong answers delivered with no flag and no hand-off (count)"),
    "withdrawn_rate": ("down", "share of cases whose shown text was withdrawn"),
    "errors": ("down", "cases that ended in an error (count)"),
    "grounded_rate": ("up", "share of turns the groundedness check passed"),
    "ttft_p50_ms": ("info", "time to first token, median"),
    "ttft_p90_ms": ("info", "time to first token, 90th percentile"),
    "total_p50_ms": ("info", "time for the whole case, median"),
    "cost_usd_total": ("info", "provider cost of the run"),
}


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[int(q * 100) - 1], 1)


def totals(results: Sequence[CaseResult]) -> dict[str, Any]:
    ans = [r for r in results if r.kind == "answerable"]
    una = [r for r in results if r.kind == "unanswerable"]
    esc = [r for r in results if r.kind == "must_escalate"]
    with_sources = [r for r in results if r.score.source_hit is not None]
    judged = [r for r in results if r.score.groundedness is not None]
    ttfts = [r.score.ttft_ms for r in results if r.score.ttft_ms is not None]
    recalls = [r.score.fact_recall for r in ans if r.score.fact_recall is not None]
    return {
        "cases": len(results),
        "answerable": len(ans),
        "unanswerable": len(una),
        "must_escalate": len(esc),
        "answerable_fully_correct": _rate([r.score.correct for r in ans]),
        "fact_recall": round(statistics.fmean(recalls), 4) if recalls else None,
        "unanswerable_honest": _rate([bool(r.score.honest_refusal) for r in una]),
        "must_escalate_escalated": _rate([bool(r.score.escalation_ok) for r in esc]),
        "source_hit": _rate([bool(r.score.source_hit) for r in with_sources]),
        "contradiction_rate": _rate([r.score.contradiction for r in results]),
        "wrong_unflagged": sum(r.score.wrong_unflagged for r in results),
        "withdrawn_rate": _rate([r.score.withdrawn > 0 for r in results]),
        "withdrawn_total": sum(r.score.withdrawn for r in results),
        "errors": sum(r.score.error is not None for r in results),
        "grounded_rate": _rate([r.score.groundedness == "grounded" for r in judged]),
        "ttft_p50_ms": _pct(ttfts, 0.5),
        "ttft_p90_ms": _pct(ttfts, 0.9),
        "total_p50_ms": _pct([r.score.total_ms for r in results], 0.5),
        "total_p90_ms": _pct([r.score.total_ms for r in results], 0.9),
        "cost_usd_total": f"{sum((Decimal(r.score.cost_usd) for r in results), Decimal(0)):f}",
    }


def summarise(results: Sequence[CaseResult], **meta: Any) -> dict[str, Any]:
    """``{"overall": {...}, "splits": {"dev": {...}, "holdout": {...}}, ...meta}``."""
    splits = {
        name: totals([r for r in results if r.split == name])
        for name in ("dev", "holdout")
        if any(r.split == name for r in results)
    }
    return {**meta, "overall": totals(results), "splits": splits}


def table_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """(metric, overall, dev, holdout) rows for printing."""
    cols = [summary["overall"], *(summary["splits"].get(s, {}) for s in ("dev", "holdout"))]
    keys = ["cases", "answerable", "unanswerable", "must_escalate", *METRICS, "withdrawn_total"]
    rows = []
    for key in dict.fromkeys(keys):
        rows.append((key, *(_fmt(c.get(key)) for c in cols)))
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.0f}"
    return str(value)
