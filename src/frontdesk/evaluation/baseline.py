"""Record a baseline: ``python -m frontdesk.evaluation.baseline SUMMARY BASELINE [TOL]``.

Copies a run's ``summary.json`` and adds the tolerance the gate allows below it (kept from
the old baseline when there is one, else the default below).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: Allowed drop per gated metric: a rate may fall 0.05 (the embedded model is sampled),
#: a count may rise by 1. Lower these as the answer engine becomes deterministic.
DEFAULT_TOLERANCE: dict[str, float] = {
    "default": 0.05,
    "wrong_unflagged": 1,
    "errors": 0,
}


def record(summary_path: Path, baseline_path: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    old: dict[str, Any] = {}
    if baseline_path.exists():
        old = json.loads(baseline_path.read_text(encoding="utf-8"))
    summary["tolerance"] = old.get("tolerance", DEFAULT_TOLERANCE)
    baseline_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    record(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
