"""Named subsets of a golden set: ``all``, ``dev``, ``holdout``, or a list of ids in
``<set>.subsets.json`` beside the set (e.g. ``gate``, the fixed stratified subset)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from frontdesk.evaluation.cases import CaseFileError, EvalCase


def subsets_file(case_file: Path) -> Path:
    return case_file.with_name(case_file.name.split(".")[0] + ".subsets.json")


def select(cases: Sequence[EvalCase], name: str, case_file: Path) -> list[EvalCase]:
    if name == "all":
        return list(cases)
    if name in {"dev", "holdout"}:
        return [c for c in cases if c.split == name]
    path = subsets_file(case_file)
    try:
        named = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CaseFileError(f"unknown subset {name!r}: no {path}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise CaseFileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(named, dict) or name not in named:
        raise CaseFileError(f"unknown subset {name!r}: {path} defines {sorted(named)}")
    ids = named[name]
    by_id = {c.id: c for c in cases}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise CaseFileError(f"subset {name!r} names unknown cases: {', '.join(unknown[:10])}")
    return [by_id[i] for i in ids]


def stratified(cases: Sequence[EvalCase], size: int) -> list[str]:
    """A deterministic subset of about ``size`` ids, proportional per (split, kind, topic)."""
    groups: dict[tuple[str, str, str], list[EvalCase]] = defaultdict(list)
    for c in cases:
        groups[(c.split, c.kind, c.topic)].append(c)
    share = size / max(len(cases), 1)
    picked: list[str] = []
    for key in sorted(groups):
        members = groups[key]
        take = max(1, round(len(members) * share))
        step = len(members) / take
        picked += [members[int(i * step)].id for i in range(take)]
    return picked
