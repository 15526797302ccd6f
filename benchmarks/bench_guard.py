"""Guard measurements: injection TPR/FPR, PII span P/R/F2, guard latency per turn.

    .venv/bin/python benchmarks/bench_guard.py [--datasets ../shared/datasets] [--quick]

``--quick`` skips the (minute-long) injection cross-validation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from frontdesk.guard.base import GuardContext
from frontdesk.guard.config import GuardConfig
from frontdesk.guard.grounding import Grounder
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.pii import PiiCheck
from frontdesk.guard.pii_eval import evaluate, format_report, load_examples, split_by_template
from frontdesk.guard.pipeline import GuardPipeline, GuardServices, make_canary
from frontdesk.guard.train_injection import load_banking, load_injections, measure
from frontdesk.knowledge.embedding import LocalEmbedder

SOURCES = (
    "Refunds are processed within 5 business days after we receive the returned item.",
    "Standard delivery takes 3 to 5 working days. Express delivery costs 9 EUR.",
    "You can change your delivery address in the account settings until the parcel ships.",
)
ANSWER = (
    "Refunds are processed within 5 business days after we receive the returned item. "
    "You can change the delivery address in your account settings until the parcel ships. "
    "Standard delivery takes 3 to 5 working days."
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def latency(pipeline: GuardPipeline, messages: list[str]) -> None:
    ctx = GuardContext(bot_name="bench")
    inputs = []
    for text in messages:
        start = time.perf_counter()
        pipeline.run_input_sync(text, ctx)
        inputs.append((time.perf_counter() - start) * 1000)
    p50, p99 = percentiles(inputs)
    print(
        f"input guard per message ({len(messages)} banking77 messages): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )

    def output_turn() -> None:
        guard = pipeline.output_guard(
            GuardContext(canary=make_canary(), sources=SOURCES, question="refund time?")
        )
        for i in range(0, len(ANSWER), 4):  # ~token-sized deltas
            guard.feed(ANSWER[i : i + 4])
        guard.finish(ANSWER)

    p50, p99 = timed(output_turn, 100)
    print(
        f"output guard per answer ({len(ANSWER)} chars in 4-char deltas, incl. grounding): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    ner = NerEngine.load()
    embedder = LocalEmbedder.load()
    config = GuardConfig()
    services = GuardServices.load(config, embedder=embedder)
    print(f"load (spaCy + MiniLM + classifier): {time.perf_counter() - start:.2f} s")
    del ner

    examples = load_examples(args.datasets / "pii" / "synth_dev.json")
    fit, held_out = split_by_template(examples)
    check = PiiCheck(ner=services.ner)
    print(
        f"\nPII, coverage matching (>= 50% of a span's characters), split by template: "
        f"fit half ({len(fit)} sentences, the rules were written from it):"
    )
    print(format_report(evaluate(fit, check.spans)))
    print(f"\nPII, report half ({len(held_out)} sentences, templates the rules never saw):")
    print(format_report(evaluate(held_out, check.spans)))
    print("\nPII, all of synth_dev, exact boundaries:")
    print(format_report(evaluate(examples, check.spans, exact=True)))

    banking = load_banking(args.datasets / "banking77" / "train.csv")
    if not args.quick:
        texts, labels = load_injections(args.datasets / "prompt_injections" / "train.jsonl")
        m = measure(embedder, texts, labels, banking)
        print(
            f"\ninjection: TPR {m.tpr:.3f} (5-fold CV, {m.n_injections} injections; rules alone "
            f"{m.rules_tpr:.3f}) | FPR {m.fpr:.4f} on all {m.n_benign} banking77 messages, "
            f"{m.fpr_heldout:.4f} on the half not used for calibration"
        )
    named = [t for t in banking if any(sp.kind == "PERSON" for sp in check.spans(t))]
    print(
        f"\nbanking77 messages with a PERSON redaction: {len(named)} of {len(banking)} "
        f"({len(named) / len(banking):.2%})"
    )
    for text in named:
        print(f"  {text[:100]!r}")
    print()
    latency(GuardPipeline(config, services), banking[::50])
    grounder = Grounder(embedder=embedder)
    p50, p99 = timed(lambda: grounder.score(ANSWER, SOURCES), 50)
    print(f"grounding alone: p50 {p50:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
