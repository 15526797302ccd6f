"""Train and measure the two injection models (messages; documents).

    python -m frontdesk.guard.train_injection --datasets ../shared/datasets [--write]
        [--cache /tmp/injection-embeddings.npz] [--only messages|documents] [variant flags]

Every number is cross-validated with three roles per fold: the model is fitted on three
folds, its threshold is calibrated on a fourth and it is measured on the fifth, so neither
the weights nor the threshold ever saw the texts they are measured on. Folds are grouped
(near-duplicate deepset texts, authored families, BIPIA attack categories; see
``guard/injection_data.py``), so recall is measured on kinds of attack the model was not
fitted on. The shipped model is fitted on four folds and calibrated on the fifth the same
way. Thresholds: messages at <= ``MessageSettings.bank_fpr`` of banking77 and
<= ``general_fpr`` of the other benign messages (general questions, hard negatives and
one-word answers must not be refused either); documents at <= ``DocumentSettings.fpr`` of
each kind of clean document, with a second threshold for documents holding code. The variant
flags (``--char-dims``, ``--length-weight``, ``--doc-pooled-negatives``,
``--one-doc-threshold``, ...) reproduce the variants reported in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_data import Texts, group_folds, load_banking, message_texts
from frontdesk.guard.injection_fit import (
    FOLDS,
    SEED,
    Bools,
    CachedEmbedder,
    FeatureSpec,
    Featurizer,
    Report,
    print_report,
    rules_fire,
    threshold_at,
)
from frontdesk.guard.injection_fit_documents import (
    DocumentData,
    DocumentSettings,
    measure_documents,
    train_documents,
)
from frontdesk.guard.injection_model import (
    DOCUMENT_MODEL,
    MESSAGE_MODEL,
    LogisticModel,
    SyncEmbedder,
    fit_logistic,
)

__all__ = [
    "FOLDS",
    "SEED",
    "DocumentData",
    "Featurizer",
    "MessageData",
    "load_banking",
    "load_injections",
    "measure",
    "measure_documents",
    "measure_messages",
    "print_report",
    "run",
]

BANK_FIT = 2000
"""banking77 messages per fit (a random sample of the fitting folds)."""
MESSAGE_FEATURES = FeatureSpec(char_dims=4096, char_weight=1.0)
DOCUMENT_FEATURES = FeatureSpec(char_dims=4096, char_weight=1.0)


@dataclass(frozen=True, slots=True)
class MessageSettings:
    bank_fpr: float = 0.01
    """False flags allowed on banking77 (real customer messages)."""
    general_fpr: float = 0.02
    """False flags allowed on the other benign messages (general questions, hard negatives,
    one-word answers)."""
    l2: float = 1e-4
    fit_short: bool = True
    """Fit on the short benign messages ("yes", "first", "order 12345"), not only
    calibrate on them."""
    bank_fit: int = BANK_FIT
    """banking77 messages per fit (a random sample of the fitting folds)."""
    bags: int = 1
    """Models fitted on bootstrap samples and averaged (1: one model on all)."""
    cross_fit: bool = False
    """Calibrate on out-of-fold scores of every fitting fold and average the fold models
    (``_cross_fitted_messages``) instead of one fit and one calibration fold."""


# --- messages ----------------------------------------------------------------------------

GOLDEN = Path(__file__).resolve().parents[3] / "eval" / "answers" / "sample_kb.jsonl"


def golden_turns(path: Path, split: str = "dev") -> list[tuple[str, str]]:
    """``(turn, case id)``: the customer turns of one split of a golden set; none when the
    file is absent (an installed package)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(str(t), str(r["id"])) for r in rows if r.get("split") == split for t in r["turns"]]


def in_domain_turns(path: Path, split: str = "dev") -> list[str]:
    """The customer turns of one split of a golden set (the dev split is fitted and
    calibrated on, the holdout split only measured)."""
    return [turn for turn, _ in golden_turns(path, split)]


NEVER_FLAGGED = ("benign_short", "benign_golden")
"""Kinds no threshold may flag: one-word answers and the golden set's dev customer turns."""


@dataclass(frozen=True, slots=True)
class MessageData:
    texts: Texts
    banking: list[str]
    fold: npt.NDArray[np.int64]
    bank_fold: npt.NDArray[np.int64]
    in_domain: list[str] = field(default_factory=list)
    """Customer turns of the sample bot's golden set (dev split) that are only calibrated on
    (never flagged) and not fitted on: empty with ``golden_fit``, where they are texts of kind
    ``benign_golden`` instead."""
    held_out: list[str] = field(default_factory=list)
    """The golden set's holdout customer turns: only measured (none should be flagged)."""

    @classmethod
    def load(
        cls,
        datasets: Path,
        embedder: SyncEmbedder,
        *,
        skip_families: Sequence[str] = (),
        faq: bool = True,
        stable_folds: bool = True,
        golden_fit: bool = True,
    ) -> MessageData:
        """``golden_fit``: the golden set's dev turns are benign texts (kind
        ``benign_golden``, grouped by case) fitted on in the fitting folds; every one of
        them outside the measured fold stays in the never-flagged set."""
        texts = message_texts(datasets, embedder, skip_families=skip_families, faq=faq)
        in_domain = in_domain_turns(GOLDEN)
        if golden_fit:
            dev = golden_turns(GOLDEN)
            texts = Texts(
                texts.texts + [t for t, _ in dev],
                texts.kinds + ["benign_golden"] * len(dev),
                texts.groups + [f"golden-{case}" for _, case in dev],
            )
            in_domain = []
        banking = load_banking(datasets / "banking77" / "train.csv")
        fold = group_folds(texts.groups, FOLDS, SEED, stable=stable_folds)
        bank_fold = np.random.default_rng(SEED).integers(0, FOLDS, len(banking))
        return cls(texts, banking, fold, bank_fold, in_domain, in_domain_turns(GOLDEN, "holdout"))

    def reseeded(self, seed: int, *, stable_folds: bool = True) -> MessageData:
        """The same data in the folds of another seed (repeated cross-validation)."""
        return replace(
            self,
            fold=group_folds(self.texts.groups, FOLDS, seed, stable=stable_folds),
            bank_fold=np.random.default_rng(seed).integers(0, FOLDS, len(self.banking)),
        )


def _fit_messages(
    feats: Featurizer,
    data: MessageData,
    fit: Bools,
    bank_fit: Bools,
    settings: MessageSettings,
    seed: int,
) -> LogisticModel:
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(bank_fit)
    if not settings.fit_short:
        fit = fit & (np.asarray(data.texts.kinds) != "benign_short")
    rows = np.flatnonzero(fit)
    weights: list[npt.NDArray[np.float64]] = []
    biases: list[float] = []
    for bag in range(settings.bags):
        bank = rng.choice(pool, min(settings.bank_fit, len(pool)), replace=False)
        # bagging: every bag but the first fits on a bootstrap sample of the labelled texts
        own = rows if bag == 0 else rng.choice(rows, len(rows), replace=True)
        texts = [data.texts.texts[i] for i in own] + [data.banking[i] for i in bank]
        y = np.concatenate([data.texts.labels[own], np.zeros(len(bank), dtype=np.int64)])
        w, b = fit_logistic(feats(texts), y, l2=settings.l2, iterations=12, tolerance=1e-4)
        weights.append(w)
        biases.append(b)
    # the mean of the bags' logits is one logistic model: the mean of their weights
    return feats.model(np.mean(weights, axis=0), float(np.mean(biases)), "sentences")


SURE_MARGIN = 0.05
"""Logits by which the threshold clears the highest-scoring never-flagged message: scored
alone at run time a text's embedding differs from its batched one in the last digits, and a
threshold equal to its score could flag it."""


def above(probability: float, margin: float = SURE_MARGIN) -> float:
    """The probability ``margin`` logits above ``probability``."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1 - p)) + margin)))


def _never_flagged(data: MessageData, cal: Bools, used: Bools) -> list[str]:
    """The texts a threshold must clear: the one-word answers of ``cal`` and the golden dev
    turns of ``used`` (the fitting and calibration folds) or, without golden fitting, all
    of them."""
    kinds = np.asarray(data.texts.kinds)
    rows = (cal & (kinds == "benign_short")) | (used & (kinds == "benign_golden"))
    return [data.texts.texts[i] for i in np.flatnonzero(rows)] + data.in_domain


def _general(data: MessageData, rows: Bools) -> npt.NDArray[np.int64]:
    """The benign texts of ``rows`` that the general budget is counted on (the golden dev
    turns are never flagged at all, so they are not part of it)."""
    kinds = np.asarray(data.texts.kinds)
    return np.flatnonzero(rows & (data.texts.labels == 0) & (kinds != "benign_golden"))


def _calibrate_messages(
    feats: Featurizer,
    model: LogisticModel,
    data: MessageData,
    cal: Bools,
    bank_cal: Bools,
    settings: MessageSettings,
    used: Bools | None = None,
) -> LogisticModel:
    bank = [data.banking[i] for i in np.flatnonzero(bank_cal)]
    benign = [data.texts.texts[i] for i in _general(data, cal)]
    # never refused: the sample bot's dev questions and the calibration fold's one-word answers
    sure = _never_flagged(data, cal, cal if used is None else used)
    t_sure = above(float(feats.scores(model, sure).max())) if sure else 0.0
    t_bank = threshold_at(feats.scores(model, bank), rules_fire(bank), settings.bank_fpr)
    t_general = threshold_at(feats.scores(model, benign), rules_fire(benign), settings.general_fpr)
    return replace(model, threshold=max(t_bank, t_general, t_sure))


def _cross_fitted_messages(
    feats: Featurizer,
    data: MessageData,
    folds: Sequence[int],
    settings: MessageSettings,
    seed: int,
    clear: Bools | None = None,
) -> LogisticModel:
    """Fitted and calibrated on ``folds`` without a calibration fold of its own: one model
    per fold left out, each scoring the benign messages of the fold it left out; the
    banking77 and general thresholds are calibrated on those out-of-fold scores (four times
    the calibration data of one fold), the model is the mean of the fold models, and the
    never-flagged set (golden dev turns, one-word answers of ``folds``) is scored by it."""
    n_text, n_bank = len(data.texts.texts), len(data.banking)
    text_scores, bank_scores = np.zeros(n_text), np.zeros(n_bank)
    models: list[LogisticModel] = []
    for left in folds:
        rest = [f for f in folds if f != left]
        model = _fit_messages(
            feats,
            data,
            np.isin(data.fold, rest),
            np.isin(data.bank_fold, rest),
            settings,
            seed=seed * FOLDS + left,
        )
        models.append(model)
        out = _general(data, data.fold == left)
        text_scores[out] = feats.scores(model, [data.texts.texts[i] for i in out])
        out = np.flatnonzero(data.bank_fold == left)
        bank_scores[out] = feats.scores(model, [data.banking[i] for i in out])
    mean = replace(
        models[0],
        weights=np.mean([m.weights for m in models], axis=0),
        bias=float(np.mean([m.bias for m in models])),
    )
    used = np.isin(data.fold, list(folds))
    benign = _general(data, used)
    bank = np.flatnonzero(np.isin(data.bank_fold, list(folds)))
    sure = _never_flagged(data, used, used if clear is None else clear)
    t_sure = above(float(feats.scores(mean, sure).max())) if sure else 0.0
    t_bank = threshold_at(
        bank_scores[bank], rules_fire([data.banking[i] for i in bank]), settings.bank_fpr
    )
    t_general = threshold_at(
        text_scores[benign],
        rules_fire([data.texts.texts[i] for i in benign]),
        settings.general_fpr,
    )
    return replace(mean, threshold=max(t_bank, t_general, t_sure))


def measure_messages(
    feats: Featurizer, data: MessageData, settings: MessageSettings | None = None
) -> Report:
    """Grouped 5-fold CV: fitted on three folds, calibrated on a fourth, measured on the
    fifth."""
    settings = settings or MessageSettings()
    report = Report()
    kinds = np.asarray(data.texts.kinds)
    sources = np.asarray([g.split("-", 1)[0] for g in data.texts.groups])
    rules_x = rules_fire(data.texts.texts)
    rules_b = rules_fire(data.banking)
    for k in range(FOLDS):
        if settings.cross_fit:
            others = [f for f in range(FOLDS) if f != k]
            model = _cross_fitted_messages(feats, data, others, settings, k)
        else:
            cal = (k + 1) % FOLDS
            fit = (data.fold != k) & (data.fold != cal)
            bank_fit = (data.bank_fold != k) & (data.bank_fold != cal)
            model = _fit_messages(feats, data, fit, bank_fit, settings, seed=k)
            model = _calibrate_messages(
                feats,
                model,
                data,
                data.fold == cal,
                data.bank_fold == cal,
                settings,
                used=data.fold != k,
            )
        report.thresholds.append(model.threshold)
        test = np.flatnonzero(data.fold == k)
        scores = feats.scores(model, [data.texts.texts[i] for i in test])
        flags = rules_x[test] | (scores > model.threshold)
        for kind in sorted(set(kinds[test])):
            report.add(kind, flags[kinds[test] == kind])
        for kind in ("direct",):  # deepset's injections alone: public data, no template of ours
            deepset = (kinds[test] == kind) & (sources[test] == "deepset")
            report.add(f"{kind}[deepset]", flags[deepset])
        bank_test = np.flatnonzero(data.bank_fold == k)
        bank_scores = feats.scores(model, [data.banking[i] for i in bank_test])
        report.add("benign_banking77", rules_b[bank_test] | (bank_scores > model.threshold))
        if data.held_out:
            held = feats.scores(model, data.held_out) > model.threshold
            report.add("benign_golden_holdout", rules_fire(data.held_out) | held)
    return report


def train_messages(
    feats: Featurizer, data: MessageData, settings: MessageSettings | None = None
) -> LogisticModel:
    """The shipped message model: cross-fitted on folds 1-4, so fold 0 stays held out (or
    fitted on folds 1-4 and calibrated on fold 0)."""
    settings = settings or MessageSettings()
    if settings.cross_fit:
        every = np.ones(len(data.fold), dtype=np.bool_)
        return _cross_fitted_messages(feats, data, range(1, FOLDS), settings, FOLDS, every)
    model = _fit_messages(feats, data, data.fold != 0, data.bank_fold != 0, settings, seed=FOLDS)
    every = np.ones(len(data.fold), dtype=np.bool_)
    return _calibrate_messages(
        feats, model, data, data.fold == 0, data.bank_fold == 0, settings, used=every
    )


# --- command line ------------------------------------------------------------------------


def write_model(
    model: LogisticModel, name: str, meta: dict[str, object], out_dir: Path | None = None
) -> str:
    out = (out_dir or Path(__file__).parent / "data") / name
    payload = (model.to_json(meta) + "\n").encode("utf-8")
    out.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    print(f"wrote {out} sha256 {digest} (pin it in injection_model.SHIPPED_SHA256)", flush=True)
    return digest


def _spec(args: argparse.Namespace, prefix: str, default: FeatureSpec) -> FeatureSpec:
    dims = getattr(args, f"{prefix}char_dims")
    weight = getattr(args, f"{prefix}char_weight")
    length = getattr(args, f"{prefix}length_weight")
    hash_dims = getattr(args, f"{prefix}hash_dims")
    return replace(
        default,
        hash_dims=default.hash_dims if hash_dims is None else hash_dims,
        char_dims=default.char_dims if dims is None else dims,
        char_weight=default.char_weight if weight is None else weight,
        length_weight=default.length_weight if length is None else length,
        embedding=default.embedding and not getattr(args, f"{prefix}no_embedding"),
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--write", action="store_true", help="write the models to guard/data")
    parser.add_argument("--out-dir", type=Path, help="write the models here instead")
    parser.add_argument("--skip-cv", action="store_true", help="only fit the shipped models")
    parser.add_argument("--only", choices=("messages", "documents"), help="one model only")
    parser.add_argument("--cache", type=Path, help="keep the embeddings in this .npz file")
    for prefix in ("", "doc-"):
        parser.add_argument(f"--{prefix}char-dims", type=int, help="0: no character n-grams")
        parser.add_argument(f"--{prefix}char-weight", type=float)
        parser.add_argument(f"--{prefix}length-weight", type=float, help="0: no length feature")
        parser.add_argument(f"--{prefix}no-embedding", action="store_true")
        parser.add_argument(f"--{prefix}hash-dims", type=int, help="word n-gram buckets")
    parser.add_argument("--bank-fpr", type=float, default=MessageSettings().bank_fpr)
    parser.add_argument("--general-fpr", type=float, default=MessageSettings().general_fpr)
    parser.add_argument("--no-short-fit", action="store_true")
    parser.add_argument("--bank-fit", type=int, default=BANK_FIT)
    parser.add_argument("--l2", type=float, default=MessageSettings().l2)
    parser.add_argument("--bags", type=int, default=1, help="bagged message models")
    parser.add_argument("--cross-fit", action="store_true", help="cross-fitted message model")
    parser.add_argument("--repeats", type=int, default=1, help="CV over this many fold seeds")
    parser.add_argument("--no-faq", action="store_true", help="no help-centre questions")
    parser.add_argument(
        "--no-golden-fit",
        action="store_true",
        help="golden dev turns only calibrated on, not fitted on (models up to m11)",
    )
    parser.add_argument("--shuffled-folds", action="store_true", help="the earlier fold assignment")
    parser.add_argument("--skip-families", default="", help="authored families left out")
    parser.add_argument("--doc-fpr", type=float, default=DocumentSettings().fpr)
    parser.add_argument(
        "--doc-calibrated", default=",".join(DocumentSettings().calibrated), help="kinds"
    )
    parser.add_argument("--doc-pooled-negatives", action="store_true")
    parser.add_argument(
        "--doc-context-weight",
        type=float,
        default=DocumentSettings().context_weight,
        help="weight of the out-of-place features (0: none)",
    )
    parser.add_argument("--code-whole", action="store_true")
    parser.add_argument("--one-doc-threshold", action="store_true")
    parser.add_argument(
        "--no-cross-fit", action="store_true", help="calibrate documents on one fold"
    )
    parser.add_argument(
        "--no-shape-thresholds", action="store_true", help="no threshold per document shape"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from frontdesk.knowledge.embedding import LocalEmbedder

    args = parse(argv)
    embedder = CachedEmbedder(LocalEmbedder.load(), args.cache)
    messages = MessageSettings(
        bank_fpr=args.bank_fpr,
        general_fpr=args.general_fpr,
        fit_short=not args.no_short_fit,
        bank_fit=args.bank_fit,
        l2=args.l2,
        bags=args.bags,
        cross_fit=args.cross_fit,
    )
    documents = DocumentSettings(
        fpr=args.doc_fpr,
        calibrated=tuple(k for k in args.doc_calibrated.split(",") if k),
        by_kind=not args.doc_pooled_negatives,
        code_whole=args.code_whole,
        code_threshold=not args.one_doc_threshold,
        by_shape=not args.no_shape_thresholds and not args.one_doc_threshold,
        cross_fit=not args.no_cross_fit,
        context_weight=args.doc_context_weight,
    )
    try:
        run(
            embedder,
            args.datasets,
            write=args.write,
            out_dir=args.out_dir,
            cv=not args.skip_cv,
            only=args.only,
            message_settings=messages,
            document_settings=documents,
            message_features=_spec(args, "", MESSAGE_FEATURES),
            document_features=_spec(args, "doc_", DOCUMENT_FEATURES),
            skip_families=tuple(f for f in args.skip_families.split(",") if f),
            faq=not args.no_faq,
            stable_folds=not args.shuffled_folds,
            repeats=args.repeats,
            golden_fit=not args.no_golden_fit,
        )
    finally:
        embedder.save()


def run(
    embedder: SyncEmbedder,
    datasets: Path,
    *,
    write: bool,
    cv: bool = True,
    only: str | None = None,
    message_settings: MessageSettings | None = None,
    document_settings: DocumentSettings | None = None,
    message_features: FeatureSpec = MESSAGE_FEATURES,
    document_features: FeatureSpec = DOCUMENT_FEATURES,
    skip_families: Sequence[str] = (),
    faq: bool = True,
    stable_folds: bool = True,
    repeats: int = 1,
    out_dir: Path | None = None,
    golden_fit: bool = True,
) -> None:
    msg_settings = message_settings or MessageSettings()
    doc_settings = document_settings or DocumentSettings()
    messages = MessageData.load(
        datasets,
        embedder,
        skip_families=skip_families,
        faq=faq,
        stable_folds=stable_folds,
        golden_fit=golden_fit,
    )
    msg_feats = Featurizer(embedder, message_features)
    common: dict[str, object] = {"folds": FOLDS, "seed": SEED, "fit": "folds 1-4"}
    cross = "out-of-fold scores of folds 1-4 (fold 0 held out)"
    if only != "documents":
        if cv:
            report = Report()
            for seed in range(SEED, SEED + repeats):
                data = messages.reseeded(seed, stable_folds=stable_folds)
                report.merge(measure_messages(msg_feats, data, msg_settings))
            print_report(f"messages (grouped 5-fold CV, {repeats} fold seeds)", report)
        if write:
            write_model(
                train_messages(msg_feats, messages, msg_settings),
                MESSAGE_MODEL,
                {
                    **common,
                    "calibrated": cross if msg_settings.cross_fit else "fold 0",
                    "trained_on": "deepset/prompt-injections train (Apache-2.0), banking77 "
                    "train (CC-BY-4.0), BIPIA plain tasks (MIT), support_kb help-centre "
                    "questions (MIT), authored corpus"
                    + (", golden set dev customer turns" if golden_fit else ""),
                    "bank_fpr": msg_settings.bank_fpr,
                    "general_fpr": msg_settings.general_fpr,
                    "l2": msg_settings.l2,
                    "golden_fit": golden_fit,
                },
                out_dir,
            )
    if only != "messages":
        documents = DocumentData.load(datasets, messages.texts)
        doc_feats = Featurizer(embedder, document_features)
        if cv:
            report = measure_documents(doc_feats, documents, doc_settings)
            print_report("documents (grouped 5-fold CV)", report)
        if write:
            write_model(
                train_documents(doc_feats, documents, doc_settings),
                DOCUMENT_MODEL,
                {
                    **common,
                    "calibrated": cross
                    if doc_settings.cross_fit and doc_settings.by_shape
                    else "fold 0",
                    "trained_on": "BIPIA train attacks and contexts (MIT), support_kb corpus "
                    "(MIT), direct attacks of the message data",
                    "doc_fpr": doc_settings.fpr,
                    "calibrated_kinds": list(doc_settings.calibrated),
                    "l2": doc_settings.l2,
                },
                out_dir,
            )


if __name__ == "__main__":
    main()


# --- the older entry points (benchmarks/bench_guard.py) ------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    tpr: float
    fpr: float
    fpr_heldout: float
    """banking77 false positives on folds neither fitted nor calibrated on (same as ``fpr``)."""
    rules_tpr: float
    threshold: float
    n_injections: int
    n_benign: int


def load_injections(path: Path) -> tuple[list[str], npt.NDArray[np.int64]]:
    rows = [r for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]
    parsed = [json.loads(r) for r in rows]
    return [str(r["text"]) for r in parsed], np.asarray([int(r["label"]) for r in parsed])


def measure(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    banking: Sequence[str],
) -> Measurement:
    """The message model's grouped CV on ``texts`` (1 = injection) and ``banking`` only."""
    kinds = ["direct" if y else "benign_given" for y in labels]
    data = MessageData(
        Texts(list(texts), kinds, [str(i) for i in range(len(texts))]),
        list(banking),
        group_folds([str(i) for i in range(len(texts))], FOLDS, SEED),
        np.random.default_rng(SEED).integers(0, FOLDS, len(banking)),
    )
    report = measure_messages(Featurizer(embedder, MESSAGE_FEATURES), data)
    attacks = [t for t, y in zip(texts, labels, strict=True) if y]
    return Measurement(
        tpr=report.rate("direct"),
        fpr=report.rate("benign_banking77"),
        fpr_heldout=report.rate("benign_banking77"),
        rules_tpr=float(rules_fire(attacks).mean()) if attacks else 0.0,
        threshold=float(np.mean(report.thresholds)),
        n_injections=len(attacks),
        n_benign=len(banking),
    )
