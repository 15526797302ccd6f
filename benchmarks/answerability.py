"""Fit and report the "is this answerable?" decision on the golden set.

    .venv/bin/python benchmarks/answerability.py [--cases eval/answers/sample_kb.jsonl]

Ingests sample_kb/ into a temporary SQLite knowledge base, retrieves for each case's last
question (made standalone from its earlier turns, as the turn does), and records the
features the turn decides on: the best vector similarity and whether the question names
something the documents never mention (``frontdesk.answer.coverage``, as the turn does).
The similarity threshold is fitted on the cases with split=dev (the lowest threshold keeping
answerable recall at its maximum while refusing the most unanswerable ones) and
precision/recall of "unanswerable" are reported on the holdout split, which the threshold never saw.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.golden_kb import load_cases, retrieve_cases  # noqa: E402
from frontdesk.answer.coverage import Coverage, SpacyTagger  # noqa: E402
from frontdesk.answer.lexicon import Lexicon  # noqa: E402
from frontdesk.config import load_bot_config  # noqa: E402


@dataclass(frozen=True)
class Row:
    case_id: str
    split: str
    unanswerable: bool
    similarity: float
    missing: tuple[str, ...]


async def features(cases: list[dict[str, Any]], known: tuple[str, ...]) -> list[Row]:
    texts: list[str] = []
    _, retrieved = await retrieve_cases(cases, texts=texts)
    coverage = Coverage(SpacyTagger.load(), lambda: Lexicon.build(texts), known=known)
    rows: list[Row] = []
    for item in retrieved:
        sims = [h.vector_score for h in item.hits if h.vector_score is not None]
        rows.append(
            Row(
                case_id=str(item.case["id"]),
                split=str(item.case.get("split", "dev")),
                unanswerable=item.case["kind"] == "unanswerable",
                similarity=max(sims, default=0.0),
                missing=tuple(coverage.unknown(item.question.text) or ()),
            )
        )
    return rows


def decide(row: Row, threshold: float, use_names: bool) -> bool:
    """True: the bot says the documentation does not answer."""
    return row.similarity < threshold or (use_names and bool(row.missing))


def scores(rows: list[Row], threshold: float, use_names: bool) -> dict[str, float]:
    tp = sum(1 for r in rows if r.unanswerable and decide(r, threshold, use_names))
    fp = sum(1 for r in rows if not r.unanswerable and decide(r, threshold, use_names))
    fn = sum(1 for r in rows if r.unanswerable and not decide(r, threshold, use_names))
    answerable = sum(1 for r in rows if not r.unanswerable)
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "answerable_refused": fp / answerable if answerable else 0.0,
        "n": float(len(rows)),
    }


def fit(rows: list[Row], use_names: bool) -> float:
    candidates = sorted({round(r.similarity, 3) for r in rows} | {0.0})
    best = (-1.0, 0.0)
    for t in candidates:
        s = scores(rows, t, use_names)
        # refusing an answerable question costs more than missing an unanswerable one:
        # the composer still says "not documented" when no passage answers
        value = s["recall"] - 3 * s["answerable_refused"]
        if value > best[0]:
            best = (value, t)
    return best[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=str(ROOT / "eval/answers/sample_kb.jsonl"))
    parser.add_argument("--bot", default=str(ROOT / "config/bot.yaml"))
    args = parser.parse_args()
    cases = load_cases(args.cases)
    cases = [c for c in cases if c["kind"] in ("answerable", "unanswerable")]
    bot = load_bot_config(Path(args.bot))
    rows = asyncio.run(features(cases, (bot.name, bot.company)))
    dev = [r for r in rows if r.split == "dev"]
    holdout = [r for r in rows if r.split != "dev"]
    for use_names in (False, True):
        t = fit(dev, use_names)
        label = "similarity + unknown terms" if use_names else "similarity only"
        print(f"\n{label}: threshold fitted on dev = {t:.3f}")
        for name, part in (("dev", dev), ("holdout", holdout)):
            s = scores(part, t, use_names)
            print(
                f"  {name:8s} n={int(s['n']):3d} unanswerable precision {s['precision']:.3f} "
                f"recall {s['recall']:.3f}  answerable refused {s['answerable_refused']:.3f}"
            )
    print("\nunanswerable cases and their features:")
    for r in rows:
        if r.unanswerable:
            print(f"  {r.split:7s} {r.similarity:.3f} {list(r.missing)!s:30s} {r.case_id}")
    print("\nanswerable cases the names rule would refuse:")
    for r in rows:
        if not r.unanswerable and r.missing:
            print(f"  {r.split:7s} {r.similarity:.3f} {list(r.missing)!s:30s} {r.case_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
