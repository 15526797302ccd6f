"""Train and measure the injection classifier.

    python -m frontdesk.guard.train_injection --datasets ../shared/datasets [--write]

Training data: deepset/prompt-injections (Apache-2.0), both halves. The decision threshold
is calibrated on a fixed random half of banking77 (CC-BY-4.0) to a target false-positive rate
of the *combined* detector (rules or classifier); banking77 is never used as training data.
Measurement: true-positive rate on the injections by k-fold cross-validation (each text scored
by a model that did not see it, with a threshold calibrated for that fold), false-positive
rate on all of banking77 and on the other, uncalibrated half.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_model import (
    Floats,
    LogisticModel,
    SyncEmbedder,
    features,
    fit_logistic,
    threshold_for_fpr,
)
from frontdesk.guard.injection_rules import detect

TARGET_FPR = 0.02
L2 = 3e-3
SPLIT_SEED = 1234


@dataclass(frozen=True, slots=True)
class Measurement:
    tpr: float
    fpr: float
    fpr_heldout: float
    rules_tpr: float
    threshold: float
    n_injections: int
    n_benign: int


def load_injections(path: Path) -> tuple[list[str], npt.NDArray[np.int64]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r["text"] for r in rows], np.asarray([int(r["label"]) for r in rows], dtype=np.int64)


def load_banking(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def rule_flags(texts: Sequence[str]) -> npt.NDArray[np.bool_]:
    return np.asarray([bool(detect(t)) for t in texts], dtype=np.bool_)


def _calibrate(bank_scores: Floats, bank_rules: npt.NDArray[np.bool_], target: float) -> float:
    """Threshold so that (rule OR score > threshold) stays within ``target`` on the texts."""
    remaining = max(0.0, target - float(bank_rules.mean()))
    free = bank_scores[~bank_rules]
    return threshold_for_fpr(free, remaining * len(bank_scores) / max(1, len(free)))


def calibration_split(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Fixed random halves (banking77's file is sorted by intent, so no head/tail split)."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    return perm[: n // 2], perm[n // 2 :]


def measure(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    banking: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
) -> Measurement:
    x = features(embedder, texts)
    b = features(embedder, banking)
    rules_x, rules_b = rule_flags(texts), rule_flags(banking)
    calib, held = calibration_split(len(banking))
    order = np.random.default_rng(seed).permutation(len(texts))
    caught = rules_x.copy()
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        w, bias = fit_logistic(x[train], labels[train], l2=L2)
        model = LogisticModel(w, bias, 0.5, embedder.model_id)
        threshold = _calibrate(model.scores(b[calib]), rules_b[calib], TARGET_FPR)
        caught[fold] |= model.scores(x[fold]) > threshold
    w, bias = fit_logistic(x, labels, l2=L2)
    full = LogisticModel(w, bias, 0.5, embedder.model_id)
    bank_scores = full.scores(b)
    threshold = _calibrate(bank_scores[calib], rules_b[calib], TARGET_FPR)
    flagged_b = rules_b | (bank_scores > threshold)
    injections = labels == 1
    return Measurement(
        tpr=float(caught[injections].mean()),
        fpr=float(flagged_b.mean()),
        fpr_heldout=float(flagged_b[held].mean()),
        rules_tpr=float(rules_x[injections].mean()),
        threshold=threshold,
        n_injections=int(injections.sum()),
        n_benign=len(banking),
    )


def train_model(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    banking: Sequence[str],
) -> LogisticModel:
    x = features(embedder, texts)
    w, bias = fit_logistic(x, labels, l2=L2)
    model = LogisticModel(w, bias, 0.5, embedder.model_id)
    calib, _held = calibration_split(len(banking))
    subset = [banking[i] for i in calib]
    scores = model.scores(features(embedder, subset))
    threshold = _calibrate(scores, rule_flags(subset), TARGET_FPR)
    return LogisticModel(w, bias, threshold, embedder.model_id)


def main(argv: Sequence[str] | None = None) -> None:
    from frontdesk.knowledge.embedding import LocalEmbedder

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--write", action="store_true", help="write guard/data/injection_lr.json")
    args = parser.parse_args(argv)
    texts, labels = load_injections(args.datasets / "prompt_injections" / "train.jsonl")
    banking = load_banking(args.datasets / "banking77" / "train.csv")
    embedder = LocalEmbedder.load()
    m = measure(embedder, texts, labels, banking)
    print(
        f"TPR (5-fold CV) {m.tpr:.3f} (rules alone {m.rules_tpr:.3f}) | FPR banking77 all "
        f"{m.fpr:.4f}, held-out half {m.fpr_heldout:.4f} | threshold {m.threshold:.4f}",
        flush=True,
    )
    if args.write:
        model = train_model(embedder, texts, labels, banking)
        out = Path(__file__).parent / "data" / "injection_lr.json"
        meta = {
            "trained_on": "deepset/prompt-injections train split (Apache-2.0)",
            "threshold_calibrated_on": "banking77 train.csv, a fixed random half (CC-BY-4.0)",
            "target_fpr": TARGET_FPR,
            "l2": L2,
            "cv_tpr": round(m.tpr, 4),
            "fpr_banking77": round(m.fpr, 4),
            "fpr_banking77_heldout_half": round(m.fpr_heldout, 4),
        }
        out.write_text(model.to_json(meta) + "\n", encoding="utf-8")
        print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
