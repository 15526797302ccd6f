"""Train and measure the injection classifier.

    python -m frontdesk.guard.train_injection --datasets ../shared/datasets [--write]

Training data: deepset/prompt-injections (Apache-2.0), both halves. The decision threshold
is calibrated on a fixed random half of banking77 (CC-BY-4.0) to a target false-positive rate
of the *combined* detector (rules or classifier); banking77 is never used as training data.
Measurement: true-positive rate on the injections by nested k-fold cross-validation (each
text scored by a model that did not see it, whose L2 strength was chosen by an inner CV on
that model's own training texts and whose threshold was calibrated for that fold),
false-positive rate on all of banking77 and on the other, uncalibrated half.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_model import (
    Floats,
    LogisticModel,
    SyncEmbedder,
    Vectors,
    expand,
    features,
    fit_logistic,
    max_by_owner,
    threshold_for_fpr,
)
from frontdesk.guard.injection_rules import detect

TARGET_FPR = 0.02
#: Candidate L2 strengths; each model picks one by inner cross-validation on its own
#: training texts (nested CV), so the reported TPR never saw the choice made on its fold.
L2_GRID = (1e-6, 1e-5, 1e-4, 1e-3)
INNER_FOLDS = 3
#: Score a message as the max over its whole text and each of its sentences.
SENTENCE_MAX = True
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
    l2: float
    """The strength the final (all-data) model chose."""
    fold_l2: tuple[float, ...] = ()
    """The strength each outer fold chose by inner CV."""


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


@dataclass(frozen=True, slots=True)
class Encoded:
    """Features of whole texts, plus of the sentences of multi-sentence texts (``owner``)."""

    whole: Vectors
    sentences: Vectors
    owner: npt.NDArray[np.int64]

    @classmethod
    def of(cls, embedder: SyncEmbedder, texts: Sequence[str]) -> Encoded:
        pieces = expand(texts)
        x = features(embedder, pieces.texts)
        is_sentence = np.ones(len(pieces.texts), dtype=np.bool_)
        is_sentence[pieces.whole] = False
        return cls(x[pieces.whole], x[is_sentence], pieces.owner[is_sentence])

    def take(self, idx: npt.NDArray[np.int64]) -> Encoded:
        mask = np.isin(self.owner, idx)
        remap = np.full(len(self.whole), -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        return Encoded(self.whole[idx], self.sentences[mask], remap[self.owner[mask]])

    def scores(self, model: LogisticModel) -> Floats:
        whole = model.scores(self.whole)
        if not model.sentence_max or not len(self.sentences):
            return whole
        parts = max_by_owner(model.scores(self.sentences), self.owner, len(self.whole))
        return np.maximum(whole, parts)


def _fit(x: Encoded, y: npt.NDArray[np.int64], l2: float, model_id: str = "") -> LogisticModel:
    w, bias = fit_logistic(x.whole, y, l2=l2)
    return LogisticModel(w, bias, 0.5, model_id, sentence_max=SENTENCE_MAX)


def _caught_at_fpr(
    train: Encoded,
    y_train: npt.NDArray[np.int64],
    test: Encoded,
    bank: Encoded,
    bank_rules: npt.NDArray[np.bool_],
    l2: float,
) -> npt.NDArray[np.bool_]:
    """Fit on the training texts, calibrate on ``bank``, flag ``test`` above threshold."""
    model = _fit(train, y_train, l2)
    threshold = _calibrate(bank.scores(model), bank_rules, TARGET_FPR)
    return np.asarray(test.scores(model) > threshold, dtype=np.bool_)


def select_l2(
    x: Encoded,
    labels: npt.NDArray[np.int64],
    rules_x: npt.NDArray[np.bool_],
    bank: Encoded,
    bank_rules: npt.NDArray[np.bool_],
    grid: Sequence[float] = L2_GRID,
    *,
    seed: int = 1,
) -> float:
    """The grid value with the best inner-CV catch rate (rules or classifier) at the target
    false-positive rate; ties go to the stronger regulariser."""
    if len(grid) == 1:
        return float(grid[0])
    order = np.random.default_rng(seed).permutation(len(labels))
    best, best_tpr = float(max(grid)), -1.0
    for l2 in sorted(grid, reverse=True):
        caught = rules_x.copy()
        for fold in np.array_split(order, INNER_FOLDS):
            train = np.setdiff1d(order, fold)
            caught[fold] |= _caught_at_fpr(
                x.take(train), labels[train], x.take(fold), bank, bank_rules, l2
            )
        tpr = float(caught[labels == 1].mean())
        if tpr > best_tpr + 1e-9:
            best, best_tpr = float(l2), tpr
    return best


def measure(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    banking: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    l2_grid: Sequence[float] = L2_GRID,
) -> Measurement:
    """Nested cross-validation: each outer fold picks its L2 by inner CV on its training part,
    is calibrated on the calibration half of ``banking`` and scores only its held-out texts."""
    x = Encoded.of(embedder, texts)
    b = Encoded.of(embedder, banking)
    rules_x, rules_b = rule_flags(texts), rule_flags(banking)
    calib, held = calibration_split(len(banking))
    b_calib = b.take(calib)
    order = np.random.default_rng(seed).permutation(len(texts))
    caught = rules_x.copy()
    chosen: list[float] = []
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        l2 = select_l2(
            x.take(train), labels[train], rules_x[train], b_calib, rules_b[calib], l2_grid
        )
        chosen.append(l2)
        caught[fold] |= _caught_at_fpr(
            x.take(train), labels[train], x.take(fold), b_calib, rules_b[calib], l2
        )
    l2 = select_l2(x, labels, rules_x, b_calib, rules_b[calib], l2_grid)
    bank_scores = b.scores(_fit(x, labels, l2))
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
        l2=l2,
        fold_l2=tuple(chosen),
    )


def train_model(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    banking: Sequence[str],
    l2: float,
) -> LogisticModel:
    """The shipped model: all texts, strength ``l2`` (from :func:`measure`), threshold
    calibrated on the calibration half of banking77."""
    model = _fit(Encoded.of(embedder, texts), labels, l2, embedder.model_id)
    calib, _held = calibration_split(len(banking))
    subset = [banking[i] for i in calib]
    scores = Encoded.of(embedder, subset).scores(model)
    threshold = _calibrate(scores, rule_flags(subset), TARGET_FPR)
    return replace(model, threshold=threshold)


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
        f"{m.fpr:.4f}, held-out half {m.fpr_heldout:.4f} | threshold {m.threshold:.4f} | "
        f"L2 {m.l2:g} (outer folds chose {', '.join(f'{v:g}' for v in m.fold_l2)})",
        flush=True,
    )
    if args.write:
        model = train_model(embedder, texts, labels, banking, m.l2)
        out = Path(__file__).parent / "data" / "injection_lr.json"
        meta = {
            "trained_on": "deepset/prompt-injections train split (Apache-2.0)",
            "threshold_calibrated_on": "banking77 train.csv, a fixed random half (CC-BY-4.0)",
            "target_fpr": TARGET_FPR,
            "l2": m.l2,
            "l2_grid": list(L2_GRID),
            "sentence_max": SENTENCE_MAX,
            "l2_selection": "inner 3-fold CV catch rate at the target FPR (nested in the CV)",
            "cv_tpr": round(m.tpr, 4),
            "fpr_banking77": round(m.fpr, 4),
            "fpr_banking77_heldout_half": round(m.fpr_heldout, 4),
        }
        out.write_text(model.to_json(meta) + "\n", encoding="utf-8")
        print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
