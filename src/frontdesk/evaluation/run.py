"""``frontdesk eval answers``: pick the cases, get a server, play, score, write the outputs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.results import CaseResult, result_of, write_results
from frontdesk.evaluation.runner import Enricher, run_cases
from frontdesk.evaluation.summary import summarise


@dataclass
class EvalOutput:
    results: list[CaseResult]
    summary: dict[str, Any]
    seconds: float


def play(
    cases: Sequence[EvalCase],
    base_url: str,
    *,
    concurrency: int,
    enrich: Enricher | None,
    on_done: Callable[[str], None] | None,
    meta: dict[str, Any],
) -> EvalOutput:
    started = time.perf_counter()
    runs = asyncio.run(
        run_cases(base_url, cases, concurrency=concurrency, enrich=enrich, on_done=on_done)
    )
    seconds = round(time.perf_counter() - started, 1)
    results = [result_of(r) for r in runs]
    return EvalOutput(results, summarise(results, **meta, seconds=seconds), seconds)


def write_outputs(out_dir: Path, output: EvalOutput) -> None:
    from frontdesk.evaluation.report import render_report

    out_dir.mkdir(parents=True, exist_ok=True)
    write_results(out_dir / "results.jsonl", output.results)
    (out_dir / "summary.json").write_text(
        json.dumps(output.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out_dir / "report.html").write_text(
        render_report(output.summary, output.results), encoding="utf-8"
    )
