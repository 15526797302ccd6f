"""The extractive composer alone on the golden set: does the quoted text carry the facts?

    .venv/bin/python benchmarks/answer_composer.py [--cases eval/answers/sample_kb.jsonl]
        [--split dev|holdout|all] [--show-failures]

Ingests sample_kb/ into a temporary SQLite knowledge base, retrieves the top 4 passages for
each case's last question (made standalone from its earlier turns, as the turn does) and
composes an extractive answer. Per case: every fact group must appear in the answer
(any accepted alternative, matched as ``frontdesk eval answers`` does), no must-not
phrase may. Answerable cases count
as correct when all facts are there and nothing forbidden is; unanswerable ones when the
composer says it did not answer (``answered=False``). Prints the numbers per split and the
per-answer composing time (the embedder call included).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.golden_kb import load_cases, retrieve_cases  # noqa: E402


@dataclass(frozen=True)
class Result:
    case_id: str
    split: str
    kind: str
    answered: bool
    correct: bool
    missing_facts: int
    forbidden: bool
    text: str
    ms: float


def judge(case: dict[str, object], text: str, answered: bool) -> tuple[bool, int, bool]:
    """With the eval's own matcher (normalised numbers, dashes, currencies; whole words)."""
    from frontdesk.evaluation.matching import fact_hits, must_not_hits

    facts: list[list[str]] = case.get("facts") or []  # type: ignore[assignment]
    must_not: list[str] = case.get("must_not") or []  # type: ignore[assignment]
    missing = sum(1 for hit in fact_hits(text, facts) if not hit)
    forbidden = bool(must_not_hits(text, must_not))
    if case["kind"] == "unanswerable":
        return (not answered and not forbidden), missing, forbidden
    return (answered and missing == 0 and not forbidden), missing, forbidden


async def run(cases: list[dict[str, Any]]) -> list[Result]:
    from frontdesk.answer.extractive import ExtractiveComposer
    from frontdesk.answer.units import spacy_segmenter

    embedder, retrieved = await retrieve_cases(cases)
    composer = ExtractiveComposer(embedder, spacy_segmenter())
    out: list[Result] = []
    for item in retrieved:
        case, question = item.case, item.question
        t0 = time.perf_counter()
        answer = composer.compose(question.text, item.sources, history_hint=question.previous)
        ms = (time.perf_counter() - t0) * 1000
        correct, missing, forbidden = judge(case, answer.text, answer.answered)
        out.append(
            Result(
                str(case["id"]),
                str(case.get("split", "dev")),
                str(case["kind"]),
                answer.answered,
                correct,
                missing,
                forbidden,
                answer.text,
                ms,
            )
        )
    return out


def report(results: list[Result], name: str) -> None:
    answerable = [r for r in results if r.kind == "answerable"]
    unanswerable = [r for r in results if r.kind == "unanswerable"]
    ok_a = sum(r.correct for r in answerable)
    ok_u = sum(r.correct for r in unanswerable)
    forbidden = sum(r.forbidden for r in results)
    refused = sum(not r.answered for r in answerable)
    print(
        f"{name:8s} answerable correct {ok_a}/{len(answerable)}"
        f" ({ok_a / max(len(answerable), 1):.3f}), refused {refused};"
        f" unanswerable honest {ok_u}/{len(unanswerable)}"
        f" ({ok_u / max(len(unanswerable), 1):.3f}); must-not hits {forbidden}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=str(ROOT / "eval/answers/sample_kb.jsonl"))
    parser.add_argument("--split", default="all", choices=["dev", "holdout", "all"])
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    cases = [c for c in cases if c["kind"] in ("answerable", "unanswerable")]
    if args.split != "all":
        cases = [c for c in cases if c.get("split", "dev") == args.split]
    results = asyncio.run(run(cases))
    for split in ("dev", "holdout"):
        part = [r for r in results if r.split == split]
        if part:
            report(part, split)
    times = sorted(r.ms for r in results)
    print(
        f"compose time per answer: p50 {statistics.median(times):.1f} ms,"
        f" p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms (n={len(times)})"
    )
    if args.show_failures:
        for r in results:
            if not r.correct:
                print(f"\n[{r.split} {r.kind}] {r.case_id} answered={r.answered}")
                print("   " + r.text.replace("\n", "\n   "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
