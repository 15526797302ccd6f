"""Record the gate's baseline from a run.

    python -m frontdesk.evaluation.baseline OUT_DIR BASELINE [--subset NAME --set CASES]

Reads ``OUT_DIR/results.jsonl``, keeps the cases of ``--subset`` (default: all of them),
and writes their summary, each case's verdict (to name the cases that got worse) and the
tolerance the gate allows (kept from the old baseline when there is one).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from frontdesk.evaluation.cases import load_cases
from frontdesk.evaluation.results import read_results
from frontdesk.evaluation.subsets import select
from frontdesk.evaluation.summary import summarise

#: Allowed drop per gated metric. With ``answer_mode: auto`` the sample bot's answers are
#: deterministic (two runs gave identical scores), so the gate allows no case to get worse:
#: 0.02 is below one case of any kind in the gate subset and only absorbs rounding.
DEFAULT_TOLERANCE: dict[str, float] = {"default": 0.02, "wrong_unflagged": 0, "errors": 0}


def record(
    out_dir: Path, baseline_path: Path, *, subset: str = "all", case_set: Path | None = None
) -> dict[str, Any]:
    results = read_results(out_dir / "results.jsonl")
    if subset != "all":
        if case_set is None:
            raise ValueError("--subset needs --set (the case file that defines it)")
        wanted = {c.id for c in select(load_cases(case_set), subset, case_set)}
        results = [r for r in results if r.id in wanted]
        missing = wanted - {r.id for r in results}
        if missing:
            raise ValueError(f"the run lacks cases of {subset!r}: {sorted(missing)[:10]}")
    run_meta = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    summary = summarise(
        results,
        set=str(case_set or run_meta.get("set", "")),
        subset=subset,
        recorded_from=str(run_meta.get("bot", run_meta.get("url", ""))),
        concurrency=run_meta.get("concurrency"),
    )
    old: dict[str, Any] = {}
    if baseline_path.exists():
        old = json.loads(baseline_path.read_text(encoding="utf-8"))
    summary["tolerance"] = old.get("tolerance", DEFAULT_TOLERANCE)
    summary["cases_correct"] = {r.id: r.score.correct for r in results}
    baseline_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--subset", default="all")
    parser.add_argument("--set", dest="case_set", type=Path, default=None)
    args = parser.parse_args(argv)
    record(args.out_dir, args.baseline, subset=args.subset, case_set=args.case_set)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
