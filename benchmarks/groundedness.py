"""Groundedness: share of perturbed answer sentences caught, of faithful ones flagged.

    .venv/bin/python benchmarks/groundedness.py [--set eval/groundedness/set.jsonl]
        [--split dev|test|all] [--errors N]

Runs ``Grounder.score`` (with the local MiniLM embedder, as the bot does) on every item of
the labelled set built by ``eval/groundedness/build_set.py``. A perturbed item is caught
when any of its sentences is unsupported; a faithful item is flagged when any is. Reports
per split (dev: the documents the rules were tuned on; test: the others), per perturbation
kind, and the latency of one ``score`` call (answer + its 3-4 source chunks).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from frontdesk.guard.grounding import Grounder
from frontdesk.knowledge.embedding import LocalEmbedder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT / "eval" / "groundedness" / "set.jsonl"


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def run(items: list[dict[str, object]], grounder: Grounder, errors: int) -> dict[str, object]:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    faithful: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    latencies: list[float] = []
    misses: list[str] = []
    for item in items:
        answer, sources = str(item["answer"]), [str(s) for s in item["sources"]]  # type: ignore[attr-defined]
        start = time.perf_counter()
        report = grounder.score(answer, sources)
        latencies.append((time.perf_counter() - start) * 1000)
        bad = [s for s in report.sentences if not s.supported]
        kind = str(item["kind"])
        if item["label"] == "perturbed":
            total[kind] += 1
            if bad:
                caught[kind] += 1
                reasons[str(bad[0].reason)] += 1
            elif len(misses) < errors:
                misses.append(f"  MISSED {kind}: {answer}\n     base: {item['base']}")
        else:
            faithful[kind] += 1
            if bad:
                flagged[kind] += 1
                if len(misses) < errors:
                    misses.append(f"  FLAGGED {kind} ({bad[0].reason}: {bad[0].detail}): {answer}")
    ordered = sorted(latencies)
    return {
        "caught": sum(caught.values()),
        "perturbed": sum(total.values()),
        "flagged": sum(flagged.values()),
        "faithful": sum(faithful.values()),
        "by_kind": {k: (caught[k], total[k]) for k in sorted(total)},
        "faithful_by_kind": {k: (flagged[k], faithful[k]) for k in sorted(faithful)},
        "reasons": dict(reasons.most_common()),
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--errors", type=int, default=0, help="print up to N misclassified items")
    args = parser.parse_args()
    items = load(args.set)
    grounder = Grounder(embedder=LocalEmbedder.load())
    grounder.score("Warm-up sentence for the embedder.", ["Warm-up source."])
    splits = ["dev", "test"] if args.split == "all" else [args.split]
    print("| split | perturbed caught | faithful flagged | latency p50 / p95 (ms) |")
    print("|---|---:|---:|---:|")
    results = {}
    for split in splits:
        r = run([i for i in items if i["split"] == split], grounder, args.errors)
        results[split] = r
        caught, perturbed = int(r["caught"]), int(r["perturbed"])  # type: ignore[call-overload]
        flagged, faithful = int(r["flagged"]), int(r["faithful"])  # type: ignore[call-overload]
        print(
            f"| {split} | {caught}/{perturbed} = {100 * caught / perturbed:.1f}% "
            f"| {flagged}/{faithful} = {100 * flagged / faithful:.1f}% "
            f"| {r['p50_ms']:.0f} / {r['p95_ms']:.0f} |"
        )
    for split, r in results.items():
        kinds = ", ".join(f"{k} {c}/{t}" for k, (c, t) in r["by_kind"].items())  # type: ignore[attr-defined]
        faith = ", ".join(f"{k} {c}/{t}" for k, (c, t) in r["faithful_by_kind"].items())  # type: ignore[attr-defined]
        print(f"\n{split}: caught by kind: {kinds}\n{split}: flagged faithful: {faith}")
        print(f"{split}: reasons of the catches: {r['reasons']}")
        for line in r["misses"]:  # type: ignore[attr-defined]
            print(line)


if __name__ == "__main__":
    main()
