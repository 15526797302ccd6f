"""Prompt-injection detection: grouped cross-validated recall per kind and false flags, with
the thresholds fitted on training folds only, plus the shipped models' latency.

    .venv/bin/python benchmarks/bench_injection.py [--datasets ../shared/datasets] [--quick]

Messages: recall on direct injections (deepset), hijacking and prompt-extraction attempts
(authored families, each held out whole), false flags on held-out banking77 messages and on
other benign messages. Documents: recall on BIPIA attacks of held-out categories inserted at
the start, middle or end of held-out clean e-mails, tables and code, and false flags on
held-out clean documents (BIPIA and the support knowledge base). Then the shipped document
model on the sample bot's knowledge base (clean, never fitted on) and the latency.
``--quick`` skips the cross-validation (several minutes) and measures the shipped models only.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from frontdesk.guard.base import GuardContext
from frontdesk.guard.injection import InjectionCheck, InjectionDetector, flag_instructions
from frontdesk.guard.injection_fit_documents import COMPOSED_KINDS, compose
from frontdesk.guard.injection_model import DOCUMENT_MODEL, LogisticModel
from frontdesk.guard.injection_sources import SourceScreen
from frontdesk.guard.train_injection import (
    DOCUMENT_FEATURES,
    MESSAGE_FEATURES,
    DocumentData,
    Featurizer,
    MessageData,
    measure_documents,
    measure_messages,
    print_report,
)
from frontdesk.knowledge.chunking import chunk_document
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.loaders import load_file


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered), p99


def timed(fn: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    samples = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def latency(detector: InjectionDetector, data: MessageData, documents: DocumentData) -> None:
    check = InjectionCheck(detector)
    messages = data.banking[::50][:200]
    attacks = [t for t, k in zip(data.texts.texts, data.texts.kinds, strict=True) if k != "direct"]
    long_attacks = sorted(attacks, key=len)[-50:]
    passages = [d.text[:800] for d in documents.documents[::10]][:100]
    rows = [
        (
            "injection check, banking77 message",
            timed(lambda t: check.check(t, GuardContext()), messages),
        ),
        (
            "injection check, 50 longest attacks",
            timed(lambda t: check.check(t, GuardContext()), long_attacks),
        ),
        (
            "passage screen, uncached (<= 800 chars)",
            timed(lambda t: SourceScreen(detector).screen([t]), passages),
        ),
    ]
    screen = SourceScreen(detector)
    for p in passages:
        screen.screen([p])
    rows.append(("passage screen, cached", timed(lambda t: screen.screen([t]), passages)))
    print("\n| Latency | p50 ms | p99 ms |\n|---|---:|---:|")
    for name, (p50, p99) in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")


def sample_kb_flags(detector: InjectionDetector, embedder: LocalEmbedder, root: Path) -> None:
    """Clean documents never fitted on: the sample bot's knowledge base, chunked as ingestion
    chunks it, screened as retrieval screens it."""
    chunks: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in KB_SUFFIXES and "_authoring" not in path.parts:
            chunks += [(path.name, c.text) for c in chunk_document(load_file(path), embedder)]
    cpu = time.process_time()
    scores = detector.score_documents([t for _, t in chunks])
    cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(chunks))
    flagged = [(name, s) for (name, _), s in zip(chunks, scores, strict=True) if s.flagged]
    print(
        f"sample KB chunks flagged: {len(flagged)}/{len(chunks)} "
        f"(document screen {cpu_ms:.1f} process CPU ms per chunk, one batch)",
        flush=True,
    )
    for name, score in flagged:
        print(f"  {name} {score.probability or 0:.3f} {[h.rule for h in score.rules]}")


KB_SUFFIXES = (".md", ".html", ".csv", ".txt")


def held_out_documents(detector: InjectionDetector, documents: DocumentData) -> None:
    """The shipped document model on fold 0, which its fit and calibration left out
    (``train_injection``: cross-fitted on folds 1-4): held-out attack categories inserted
    into held-out clean documents, as the cross-validation composes them."""
    clean = [d for i, d in enumerate(documents.documents) if documents.doc_fold[i] == 0]
    print("shipped document model on held-out fold 0:", flush=True)
    for kind in sorted({d.kind for d in clean}):
        flags = flag_instructions(detector, [d.text for d in clean if d.kind == kind])
        print(f"  clean_{kind:10s} n={len(flags):4d} flagged={statistics.fmean(flags):.3f}")
    attacks = [a for i, a in enumerate(documents.attacks) if documents.attack_fold[i] == 0]
    composed = compose(attacks, clean, seed=0)
    flags = flag_instructions(detector, [d for _, d in composed])
    for kind in COMPOSED_KINDS:
        hits = [f for (c, _), f in zip(composed, flags, strict=True) if c == kind]
        print(f"  injected_{kind:7s} n={len(hits):4d} flagged={statistics.fmean(hits):.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--quick", action="store_true", help="skip the cross-validation")
    parser.add_argument("--sample-kb", type=Path, default=Path("sample_kb"))
    parser.add_argument(
        "--held-out", action="store_true", help="the shipped document model on fold 0"
    )
    parser.add_argument("--doc-model", type=Path, help="this document model, not the shipped")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    embedder = LocalEmbedder.load()
    detector = InjectionDetector(
        embedder=embedder,
        classifier=LogisticModel.load(),
        document_classifier=LogisticModel.load(args.doc_model)
        if args.doc_model
        else LogisticModel.load(name=DOCUMENT_MODEL),
    )
    print(f"load (MiniLM + both models): {time.perf_counter() - start:.2f} s", flush=True)
    messages = MessageData.load(args.datasets, embedder)
    documents = DocumentData.load(args.datasets, messages.texts)
    if not args.quick:
        began = time.perf_counter()
        feats = Featurizer(embedder, MESSAGE_FEATURES)
        print_report("messages (grouped 5-fold CV)", measure_messages(feats, messages))
        feats = Featurizer(embedder, DOCUMENT_FEATURES)
        print_report("documents (grouped 5-fold CV)", measure_documents(feats, documents))
        print(f"cross-validation: {time.perf_counter() - began:.0f} s", flush=True)
    if args.held_out:
        held_out_documents(detector, documents)
    sample_kb_flags(detector, embedder, args.sample_kb)
    latency(detector, messages, documents)


if __name__ == "__main__":
    main()
