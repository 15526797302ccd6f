"""The answer-quality gate: the golden set against the shipped sample bot, checked
against the committed baseline (``eval/answers/baseline.json``, minus its tolerance).

The case set is ``GATE_SUBSET`` (override with ``FRONTDESK_EVAL_GATE_SUBSET=all`` once a
whole run is fast); the baseline must have been recorded on the same subset. To record it:

    frontdesk eval answers eval/answers/sample_kb.jsonl --subset gate --concurrency 1 --out out
    python -m frontdesk.evaluation.baseline out eval/answers/baseline.json \
        --subset gate --set eval/answers/sample_kb.jsonl

(a whole-set run also serves: the recorder keeps the subset's cases).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from frontdesk.evaluation.cli_support import evaluate, print_comparison, summary_table
from frontdesk.evaluation.compare import Run, compare, load_run
from frontdesk.evaluation.run import write_outputs
from frontdesk.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "eval" / "answers" / "sample_kb.jsonl"
BASELINE = REPO / "eval" / "answers" / "baseline.json"
ARTIFACTS = REPO / "test-artifacts" / "answer-gate"
GATE_SUBSET = "gate"
GATE_CONCURRENCY = 1


@pytest.mark.timeout(1500)
def test_answers_do_not_regress_below_the_baseline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("FRONTDESK_") and v.endswith("_API_KEY")]:
        monkeypatch.delenv(var, raising=False)
    subset = os.environ.get("FRONTDESK_EVAL_GATE_SUBSET", GATE_SUBSET)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert baseline["subset"] == subset, (
        f"the baseline was recorded on subset {baseline['subset']!r}, the gate runs {subset!r}: "
        "record the baseline on the same cases (see this module's docstring)"
    )
    settings = load_settings(env="test", bot_config=REPO / "config" / "bot.yaml", log_json=False)
    console = Console(width=140, force_terminal=False)
    output = evaluate(
        CASES,
        settings=settings,
        knowledge=[REPO / "sample_kb"],
        concurrency=GATE_CONCURRENCY,
        subset=subset,
        console=console,
    )
    write_outputs(ARTIFACTS, output)
    result = compare(load_run(BASELINE), Run(output.summary, output.results))
    with capsys.disabled():
        console.print(summary_table(output.summary))
        print_comparison(result, console)
        console.print(f"{len(output.results)} cases in {output.seconds} s; report: {ARTIFACTS}")
    assert output.summary["overall"]["cases"] == baseline["overall"]["cases"]
    before = baseline.get("cases_correct", {})
    worse = sorted(
        f"{r.id} ({'; '.join(r.score.reasons)})"
        for r in output.results
        if before.get(r.id) and not r.score.correct
    )
    with capsys.disabled():
        for line in worse:
            console.print(f"worse: {line}")
    regressions = [f"{d.scope}.{d.metric}: {d.base} -> {d.new}" for d in result.regressions]
    assert not regressions, f"answer quality dropped: {regressions}; cases now wrong: {worse}"
