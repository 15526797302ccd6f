"""compare: a worsened run exits non-zero and names the case and why; tolerances work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.evaluation.cases import CaseFileError, EvalCase
from frontdesk.evaluation.compare import compare, load_run, parse_tolerance
from frontdesk.evaluation.observe import TurnObservation
from frontdesk.evaluation.results import CaseResult, result_of, write_results
from frontdesk.evaluation.runner import CaseRun
from frontdesk.evaluation.summary import summarise

REFUND = EvalCase(
    id="refund-annual",
    turns=["Can I get a refund on my annual plan?"],
    kind="answerable",
    facts=[["14 days"]],
    must_not=["no refund"],
    split="dev",
)
BTC = EvalCase(id="btc", turns=["Bitcoin?"], kind="unanswerable", split="holdout")


def _result(case: EvalCase, answer: str) -> CaseResult:
    seen = TurnObservation(shown=answer, answer=answer, ttft_ms=50.0, total_ms=100.0)
    return result_of(CaseRun(case, "c1", [seen]))


def _out(tmp_path: Path, name: str, refund: str, btc: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    results = [_result(REFUND, refund), _result(BTC, btc)]
    write_results(folder / "results.jsonl", results)
    (folder / "summary.json").write_text(json.dumps(summarise(results)), encoding="utf-8")
    return folder


GOOD = "A full refund within 14 days of purchase. [1]"
HONEST = "I couldn't find that in our documentation."


def test_worse_run_exits_non_zero_naming_case_and_reason(tmp_path: Path) -> None:
    base = _out(tmp_path, "base", GOOD, HONEST)
    new = _out(tmp_path, "new", "No refund, sorry. [1]", HONEST)
    result = CliRunner().invoke(app, ["eval", "compare", str(base), str(new)])
    assert result.exit_code == 1, result.output
    assert "refund-annual" in result.output
    assert "missing fact: '14 days'" in result.output
    assert "must-not statement present: 'no refund'" in result.output
    assert "answerable_fully_correct" in result.output


def test_same_or_better_run_passes_and_tolerance_absorbs_a_drop(tmp_path: Path) -> None:
    base = _out(tmp_path, "base", "No refund.", HONEST)
    better = _out(tmp_path, "better", GOOD, HONEST)
    assert CliRunner().invoke(app, ["eval", "compare", str(base), str(better)]).exit_code == 0
    worse = compare(load_run(better), load_run(base))
    assert worse.failed and any(c.worse and c.id == "refund-annual" for c in worse.changes)
    lenient = compare(load_run(better), load_run(base), parse_tolerance(["default=1"]))
    assert not lenient.failed


def test_per_split_regression_and_summary_only_inputs(tmp_path: Path) -> None:
    base = _out(tmp_path, "base", GOOD, HONEST)
    new = _out(tmp_path, "new", GOOD, "Yes, we accept Bitcoin.")
    result = compare(load_run(base / "summary.json"), load_run(new / "results.jsonl"))
    scopes = {(d.scope, d.metric) for d in result.regressions}
    assert ("holdout", "unanswerable_honest") in scopes
    assert ("overall", "wrong_unflagged") in scopes
    assert result.changes == []  # a summary alone has no per-case results


def test_tolerance_from_the_baseline_file_and_bad_inputs(tmp_path: Path) -> None:
    base = _out(tmp_path, "base", GOOD, HONEST)
    summary = json.loads((base / "summary.json").read_text(encoding="utf-8"))
    summary["tolerance"] = {"default": 1.0}
    (tmp_path / "baseline.json").write_text(json.dumps(summary), encoding="utf-8")
    new = _out(tmp_path, "new", "No refund.", HONEST)
    assert not compare(load_run(tmp_path / "baseline.json"), load_run(new)).failed
    with pytest.raises(CaseFileError, match="METRIC=NUMBER"):
        parse_tolerance(["fact_recall"])
    with pytest.raises(CaseFileError, match="unknown metric"):
        compare(load_run(base), load_run(new), {"speed": 1.0})
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "x.json"), str(new)])
    assert result.exit_code == 2 and "not a summary" in result.output


def test_baseline_recorder_keeps_the_subset_and_the_old_tolerance(tmp_path: Path) -> None:
    from frontdesk.evaluation.baseline import DEFAULT_TOLERANCE, record

    run = _out(tmp_path, "run", GOOD, HONEST)
    cases = tmp_path / "set.jsonl"
    cases.write_text(
        "\n".join(json.dumps(c.model_dump()) for c in (REFUND, BTC)) + "\n", encoding="utf-8"
    )
    (tmp_path / "set.subsets.json").write_text(json.dumps({"gate": ["btc"]}), encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    first = record(run, baseline, subset="gate", case_set=cases)
    assert first["overall"]["cases"] == 1 and first["subset"] == "gate"
    assert first["cases_correct"] == {"btc": True} and first["tolerance"] == DEFAULT_TOLERANCE
    data = json.loads(baseline.read_text(encoding="utf-8"))
    data["tolerance"] = {"default": 0.0}
    baseline.write_text(json.dumps(data), encoding="utf-8")
    again = record(run, baseline)
    assert again["overall"]["cases"] == 2 and again["tolerance"] == {"default": 0.0}
    (tmp_path / "set.subsets.json").write_text(json.dumps({"gate": ["zz"]}), encoding="utf-8")
    with pytest.raises(CaseFileError, match="unknown cases"):
        record(run, baseline, subset="gate", case_set=cases)


def test_a_baseline_summary_names_the_cases_that_got_worse(tmp_path: Path) -> None:
    from frontdesk.evaluation.baseline import record

    base = _out(tmp_path, "base", GOOD, HONEST)
    record(base, tmp_path / "baseline.json")
    new = _out(tmp_path, "new", "No refund.", HONEST)
    result = compare(load_run(tmp_path / "baseline.json"), load_run(new))
    (change,) = result.changes
    assert change.id == "refund-annual" and change.worse
    assert "must-not statement present: 'no refund'" in change.why
