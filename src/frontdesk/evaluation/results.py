"""Per-case results (``results.jsonl``): what was asked, what was seen, and the score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from frontdesk.evaluation.cases import CaseFileError, EvalCase, Kind, Split
from frontdesk.evaluation.runner import CaseRun
from frontdesk.evaluation.scoring import CaseScore, score_case


class CaseResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    kind: Kind
    split: Split
    tags: list[str] = []
    turns: list[str]
    answer: str
    shown: str = ""
    earlier_answers: list[str] = []
    notices: list[str] = []
    citations: list[dict[str, str]] = []
    done: dict[str, Any] = {}
    conversation_id: str = ""
    details: dict[str, Any] = {}
    facts: list[list[str]] = []
    must_not: list[str] = []
    sources: list[str] = []
    score: CaseScore


def result_of(run: CaseRun) -> CaseResult:
    case: EvalCase = run.case
    last = run.last
    return CaseResult(
        id=case.id,
        kind=case.kind,
        split=case.split,
        tags=case.tags,
        turns=case.turns,
        answer=last.answer,
        shown=last.shown,
        earlier_answers=[t.answer for t in run.turns[:-1]],
        notices=last.notices,
        citations=[c.to_json() for c in last.citations],
        done=last.done,
        conversation_id=run.conversation_id,
        details=run.details,
        facts=case.facts,
        must_not=case.must_not,
        sources=case.sources,
        score=score_case(case, run.turns, run.details, run.failure),
    )


def write_results(path: Path, results: list[CaseResult]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r.model_dump(mode="json"), ensure_ascii=False) + "\n")


def read_results(path: Path) -> list[CaseResult]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CaseFileError(f"cannot read {path}: {exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(CaseResult.model_validate_json(line))
        except ValidationError as exc:
            raise CaseFileError(f"{path}:{n}: not a result line: {exc.errors()[0]['msg']}") from exc
    return out
