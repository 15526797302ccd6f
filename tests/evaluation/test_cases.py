"""The golden-case loader: valid files load, every kind of bad case is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frontdesk.evaluation.cases import CaseFileError, load_cases
from frontdesk.evaluation.subsets import select, stratified

REPO = Path(__file__).resolve().parents[2]

GOOD = {"id": "a1", "turns": ["How much is Growth?"], "kind": "answerable", "facts": [["$299"]]}


def _write(tmp_path: Path, *records: object, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_loads_jsonl_and_yaml(tmp_path: Path) -> None:
    (case,) = load_cases(_write(tmp_path, GOOD))
    assert case.question == "How much is Growth?" and case.split == "dev"
    yml = tmp_path / "set.yaml"
    yml.write_text(
        "cases:\n  - id: u1\n    turns: ['Can I pay with Bitcoin?']\n    kind: unanswerable\n",
        encoding="utf-8",
    )
    (u,) = load_cases(yml)
    assert u.kind == "unanswerable" and u.facts == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**GOOD, "kind": "maybe"}, "kind"),
        ({**GOOD, "facts": []}, "needs at least one fact"),
        ({**GOOD, "facts": [[]]}, "facts[0] needs at least one accepted alternative"),
        ({**GOOD, "turns": []}, "turns"),
        ({**GOOD, "turns": ["  "]}, "empty"),
        ({**GOOD, "split": "test"}, "split"),
        ({**GOOD, "colour": "red"}, "colour"),
        ({**GOOD, "kind": "unanswerable"}, "has no facts"),
        ({**GOOD, "id": "has space"}, "id"),
    ],
)
def test_bad_case_names_line_id_and_field(tmp_path: Path, record: object, message: str) -> None:
    path = _write(tmp_path, {**GOOD, "id": "ok"}, record)
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    text = str(info.value)
    assert f"{path}:2" in text
    assert message in text


def test_duplicate_ids_bad_json_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="duplicate id 'a1'"):
        load_cases(_write(tmp_path, GOOD, GOOD))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOOD) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=r"bad.jsonl:2: not valid JSON"):
        load_cases(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="no cases"):
        load_cases(empty)
    with pytest.raises(CaseFileError, match="cannot read"):
        load_cases(tmp_path / "missing.jsonl")


def test_subsets_by_split_by_name_and_unknown(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, {**GOOD, "id": "a2", "split": "holdout"})
    cases = load_cases(path)
    assert [c.id for c in select(cases, "holdout", path)] == ["a2"]
    (tmp_path / "set.subsets.json").write_text(json.dumps({"gate": ["a2"]}), encoding="utf-8")
    assert [c.id for c in select(cases, "gate", path)] == ["a2"]
    with pytest.raises(CaseFileError, match="unknown subset 'other'"):
        select(cases, "other", path)
    (tmp_path / "set.subsets.json").write_text(json.dumps({"gate": ["zz"]}), encoding="utf-8")
    with pytest.raises(CaseFileError, match="unknown cases: zz"):
        select(cases, "gate", path)


def test_shipped_golden_set_meets_the_issue() -> None:
    path = REPO / "eval" / "answers" / "sample_kb.jsonl"
    cases = load_cases(path)
    kinds = [c.kind for c in cases]
    assert len(cases) >= 120
    assert kinds.count("unanswerable") >= 25 and kinds.count("must_escalate") >= 12
    holdout = sum(c.split == "holdout" for c in cases) / len(cases)
    assert 0.3 <= holdout <= 0.45
    assert sum(len(c.turns) > 1 for c in cases) >= 8
    gate = select(cases, "gate", path)
    assert len(gate) >= 40
    assert {c.kind for c in gate} == {"answerable", "unanswerable", "must_escalate"}
    assert {c.split for c in gate} == {"dev", "holdout"}
    issue8 = {c.id for c in cases if "issue8" in c.tags}
    assert issue8 <= {c.id for c in gate}
    assert len(stratified(cases, 25)) == len(set(stratified(cases, 25)))
