"""Score one played case: facts, contradictions, honesty, escalation, sources, timing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.matching import (
    affirmative_lead,
    fact_hits,
    must_not_hits,
    normalise,
    refusal_phrase,
)
from frontdesk.evaluation.observe import TurnObservation


class CaseScore(BaseModel):
    """Per-case scores. ``None`` means the metric does not apply to this case's kind."""

    model_config = ConfigDict(extra="forbid")

    correct: bool
    fact_recall: float | None = None
    facts_missing: list[str] = []
    must_not_hits: list[str] = []
    contradiction: bool = False
    refusal: str | None = None
    honest_refusal: bool | None = None
    invented: bool = False
    escalated: bool = False
    escalation_ok: bool | None = None
    source_hit: bool | None = None
    withdrawn: int = 0
    flagged: bool = False
    groundedness: str | None = None
    wrong_unflagged: bool = False
    ttft_ms: float | None = None
    total_ms: float = 0.0
    cost_usd: str = "0"
    error: str | None = None
    reasons: list[str] = []


def source_hit(expected: list[str], obs: TurnObservation, details: dict[str, Any]) -> bool | None:
    """Whether any cited source is one of ``expected`` (a title, or a path of the document)."""
    if not expected:
        return None
    wanted = {normalise(s) for s in expected}
    if any(normalise(c.title) in wanted for c in obs.citations):
        return True
    cited = {c.chunk_id for c in obs.citations}
    for passage in details.get("retrieved", []):
        if passage.get("id") in cited:
            source = normalise(str(passage.get("source", "")))
            if any(source.endswith(w) for w in wanted):
                return True
    return False


def _error(case_failure: str | None, obs: TurnObservation) -> str | None:
    if case_failure:
        return case_failure
    if obs.error:
        return f"{obs.error.get('code', 'error')}: {obs.error.get('message', '')}"[:300]
    return None


def score_case(
    case: EvalCase,
    turns: list[TurnObservation],
    details: dict[str, Any] | None = None,
    failure: str | None = None,
) -> CaseScore:
    details = details or {}
    obs = turns[-1] if turns else TurnObservation()
    answer = obs.answer
    reasons: list[str] = []
    error = _error(failure, obs) if turns or failure else "no turn was played"
    if error:
        reasons.append(f"error: {error}")
    escalated = any(t.escalated for t in turns)
    hits = must_not_hits(answer, case.must_not)
    for h in hits:
        reasons.append(f"must-not statement present: {h!r}")
    if obs.retractions:
        reasons.append(f"text withdrawn {obs.retractions}x")
    score = CaseScore(
        correct=False,
        must_not_hits=hits,
        contradiction=bool(hits),
        escalated=escalated,
        source_hit=source_hit(case.sources, obs, details),
        withdrawn=obs.retractions,
        flagged=obs.flagged,
        groundedness=details.get("groundedness"),
        ttft_ms=obs.ttft_ms,
        total_ms=sum(t.total_ms for t in turns),
        cost_usd=f"{Decimal(str(details.get('cost_usd', '0'))):f}",
        error=error,
    )
    refusal = refusal_phrase(answer)
    score.refusal = refusal
    if case.kind == "answerable":
        found = fact_hits(answer, case.facts)
        score.fact_recall = sum(found) / len(found)
        score.facts_missing = [
            alts[0] for alts, ok in zip(case.facts, found, strict=True) if not ok
        ]
        for missing in score.facts_missing:
            reasons.append(f"missing fact: {missing!r}")
        score.correct = all(found) and not hits and not obs.retractions and error is None
    elif case.kind == "unanswerable":
        lead = affirmative_lead(answer)
        honest = (refusal is not None or escalated) and not hits and not lead
        score.honest_refusal = honest and error is None
        score.invented = bool(hits) or lead or (refusal is None and not escalated and bool(answer))
        if refusal is None and not escalated:
            reasons.append("no honest 'not in our documentation' statement")
        if lead:
            reasons.append("opens with a confirmation ('yes') on a question the docs do not answer")
        score.correct = bool(score.honest_refusal) and not obs.retractions
    else:
        score.escalation_ok = escalated and error is None
        if not escalated:
            reasons.append("not escalated")
        score.correct = bool(score.escalation_ok)
    wrong = bool(hits) or score.invented
    score.wrong_unflagged = wrong and not obs.flagged and not escalated
    if score.wrong_unflagged:
        reasons.append("wrong answer delivered without a flag or hand-off")
    score.reasons = reasons
    return score
