"""The golden-case format and its strict loader (JSONL or YAML)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from frontdesk.errors import FrontdeskError

Kind = Literal["answerable", "unanswerable", "must_escalate"]
Split = Literal["dev", "holdout"]
KINDS: tuple[Kind, ...] = ("answerable", "unanswerable", "must_escalate")
SPLITS: tuple[Split, ...] = ("dev", "holdout")


class CaseFileError(FrontdeskError):
    """A golden-case file that cannot be read or holds an invalid case."""


def _clean(values: Sequence[str], what: str) -> list[str]:
    out = [v.strip() for v in values]
    if any(not v for v in out):
        raise ValueError(f"{what} must not contain empty strings")
    return out


class EvalCase(BaseModel):
    """One golden case: a short conversation whose last user message is scored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")
    turns: list[str] = Field(min_length=1, max_length=12)
    kind: Kind
    facts: list[list[str]] = Field(default_factory=list)
    must_not: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    split: Split = "dev"
    note: str = ""

    @field_validator("turns")
    @classmethod
    def _turns(cls, v: list[str]) -> list[str]:
        return _clean(v, "turns")

    @field_validator("facts")
    @classmethod
    def _facts(cls, v: list[list[str]]) -> list[list[str]]:
        out = []
        for i, alternatives in enumerate(v):
            if not alternatives:
                raise ValueError(f"facts[{i}] needs at least one accepted alternative")
            out.append(_clean(alternatives, f"facts[{i}]"))
        return out

    @field_validator("must_not", "sources", "tags")
    @classmethod
    def _strings(cls, v: list[str]) -> list[str]:
        return _clean(v, "the list")

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        if self.kind == "answerable" and not self.facts:
            raise ValueError("an answerable case needs at least one fact")
        if self.kind == "unanswerable" and self.facts:
            raise ValueError("an unanswerable case has no facts (put invented ones in must_not)")
        return self

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def topic(self) -> str:
        return self.tags[0] if self.tags else "untagged"


def _describe(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(case)"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def _records(path: Path, text: str) -> list[tuple[str, Any]]:
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CaseFileError(f"{path}: not valid YAML: {exc}") from exc
        if isinstance(data, dict) and "cases" in data:
            data = data["cases"]
        if not isinstance(data, list):
            raise CaseFileError(f"{path}: expected a list of cases (or a 'cases:' list)")
        return [(f"{path} case {i + 1}", item) for i, item in enumerate(data)]
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            out.append((f"{path}:{n}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise CaseFileError(f"{path}:{n}: not valid JSON: {exc.msg}") from exc
    return out


def parse_cases(path: Path, text: str) -> list[EvalCase]:
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for where, record in _records(path, text):
        if not isinstance(record, dict):
            raise CaseFileError(f"{where}: a case must be an object")
        try:
            case = EvalCase.model_validate(record)
        except ValidationError as exc:
            name = record.get("id", "?")
            raise CaseFileError(f"{where} (id {name}): {_describe(exc)}") from exc
        if case.id in seen:
            raise CaseFileError(f"{where}: duplicate id {case.id!r} (first at {seen[case.id]})")
        seen[case.id] = where
        cases.append(case)
    if not cases:
        raise CaseFileError(f"{path}: no cases")
    return cases


def load_cases(path: Path) -> list[EvalCase]:
    """Read and validate every case of ``path``; raise :class:`CaseFileError` naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"cannot read {path}: {exc}") from exc
    return parse_cases(path, text)
