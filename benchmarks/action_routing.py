"""Fit and measure the embedded action router of the sample bot.

    .venv/bin/python benchmarks/action_routing.py

Fits ``actions.route_threshold`` on the dev half of ``eval/actions/routing.jsonl`` plus every
golden-set turn (all must stay with the documents), then prints precision, recall, false
routes and misses on dev and on the held-out half at that threshold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from frontdesk.actions.route_eval import fit_threshold, load_cases, report, score_cases
from frontdesk.actions.routing import ActionRouter
from frontdesk.config import load_bot_config
from frontdesk.knowledge.embedding import LocalEmbedder

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bot", type=Path, default=ROOT / "config" / "bot.yaml")
    parser.add_argument("--verbose", action="store_true", help="print every wrong case")
    args = parser.parse_args()
    bot = load_bot_config(args.bot)
    router = ActionRouter(
        LocalEmbedder.load(),
        {a.name: a for a in bot.actions.definitions},
        threshold=bot.actions.route_threshold,
    )
    cases = load_cases(
        ROOT / "eval" / "actions" / "routing.jsonl", ROOT / "eval" / "answers" / "sample_kb.jsonl"
    )
    scored = score_cases(router, cases)
    dev = [s for s in scored if s.case.split == "dev"]
    holdout = [s for s in scored if s.case.split != "dev"]
    fitted = fit_threshold(dev)
    print(f"configured threshold {bot.actions.route_threshold}, fitted on dev {fitted}")
    for name, part in (("dev", dev), ("holdout", holdout)):
        for label, t in (("configured", bot.actions.route_threshold), ("fitted", fitted)):
            r = report(part, t)
            print(
                f"{name:8s} {label:10s} t={t:.3f} cases={r.cases} positives={r.positives} "
                f"precision={r.precision:.3f} recall={r.recall:.3f} "
                f"false_routes={r.false_routes} misses={r.misses}"
            )
    if args.verbose:
        t = bot.actions.route_threshold
        for s in scored:
            got = s.routed(t)
            if got != s.case.action:
                print(
                    f"  [{s.case.split}] want={s.case.action} got={got} best={s.best} "
                    f"score={s.score:.3f} rule={s.rule} :: {s.case.text}"
                )


if __name__ == "__main__":
    main()
