"""Train and measure the two injection models (messages; documents).

    python -m frontdesk.guard.train_injection --datasets ../shared/datasets [--write]

Every number is cross-validated with three roles per fold: the model is fitted on three
folds, its threshold is calibrated on a fourth and it is measured on the fifth, so neither
the weights nor the threshold ever saw the texts they are measured on. Folds are grouped
(near-duplicate deepset texts, authored families, BIPIA attack categories; see
``guard/injection_data.py``), so recall is measured on kinds of attack the model was not
fitted on. The shipped model is fitted on four folds and calibrated on the fifth the same
way. Thresholds: messages at <= ``BANK_FPR`` of banking77 and <= ``GENERAL_FPR`` of the
other benign messages (general questions must not be refused either); documents at
<= ``DOC_FPR`` of each kind of clean document.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_data import (
    Attack,
    Document,
    Texts,
    group_folds,
    insert,
    load_attacks,
    load_banking,
    load_documents,
    message_texts,
)

__all__ = ["load_banking", "load_injections", "measure", "run"]
from frontdesk.guard.injection_model import (
    DOCUMENT_MODEL,
    MESSAGE_MODEL,
    Floats,
    LogisticModel,
    SyncEmbedder,
    document_pieces,
    expand,
    features,
    fit_logistic,
    max_by_owner,
    threshold_for_fpr,
)
from frontdesk.guard.injection_rules import detect

FOLDS = 5
SEED = 0
BANK_FPR = 0.01
GENERAL_FPR = 0.02
DOC_FPR = 0.03
BANK_FIT = 2000
"""banking77 messages per fit (a random sample of the fitting folds)."""
DOC_NEGATIVES = 3000
"""Clean document pieces per fit (a random sample of the fitting folds' pieces)."""
MESSAGE_L2 = 1e-4
DOC_L2 = 1e-4
POSITIONS = ("start", "middle", "end")
FIT_CODE_ATTACKS = True
"""Whether BIPIA's code attacks ("incorporate this snippet") are fitted on. Leaving them out
was measured: clean code still flagged 48% (68% with), e-mail/table recall 0.79/0.75 (0.85/0.80
with), so they stay in; code passages are the known weak spot."""
CALIBRATED_KINDS = ("email", "table", "kb")
"""Clean documents the document threshold is fitted to. Code is left out: answers on forums
mix code with advice to the reader, and ten calibration snippets per fold would set the
threshold for every kind (its false flags are reported all the same)."""
CONTEXTS_PER_ATTACK = 2
Bools = npt.NDArray[np.bool_]


class Featurizer:
    """Features of texts, computed once per distinct text."""

    def __init__(self, embedder: SyncEmbedder, *, embedding: bool = True) -> None:
        self.embedder = embedder
        self.embedding = embedding
        self._rows: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if todo:
            rows = features(self.embedder, todo, embedding=self.embedding)
            self._rows.update(zip(todo, rows, strict=True))
        return np.stack([self._rows[t] for t in texts])

    def scores(self, model: LogisticModel, texts: Sequence[str]) -> Floats:
        """As :meth:`LogisticModel.predict`, from cached features."""
        parts = expand(texts, model.pieces)
        return max_by_owner(model.scores(self(parts.texts)), parts.owner, len(texts))


def _rules(texts: Sequence[str]) -> Bools:
    return np.asarray([bool(detect(t)) for t in texts], dtype=np.bool_)


def _threshold(scores: Floats, rules: Bools, target: float) -> float:
    """Lowest threshold with (rule OR score > threshold) at most ``target`` of the texts."""
    remaining = max(0.0, target - float(rules.mean())) if len(rules) else target
    free = scores[~rules]
    return threshold_for_fpr(free, remaining * len(scores) / max(1, len(free)))


@dataclass
class Report:
    """Cross-validated flag rates: recall on attacks and false flags on clean texts."""

    flagged: dict[str, list[bool]] = field(default_factory=dict)
    thresholds: list[float] = field(default_factory=list)

    def add(self, kind: str, flags: Sequence[bool] | Bools) -> None:
        self.flagged.setdefault(kind, []).extend(bool(f) for f in flags)

    def rate(self, kind: str) -> float:
        values = self.flagged.get(kind, [])
        return float(np.mean(values)) if values else float("nan")

    def rows(self) -> list[tuple[str, int, float]]:
        return [(k, len(v), self.rate(k)) for k, v in sorted(self.flagged.items())]


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageData:
    texts: Texts
    banking: list[str]
    fold: npt.NDArray[np.int64]
    bank_fold: npt.NDArray[np.int64]

    @classmethod
    def load(cls, datasets: Path, embedder: SyncEmbedder) -> MessageData:
        texts = message_texts(datasets, embedder)
        banking = load_banking(datasets / "banking77" / "train.csv")
        fold = group_folds(texts.groups, FOLDS, SEED)
        bank_fold = np.random.default_rng(SEED).integers(0, FOLDS, len(banking))
        return cls(texts, banking, fold, bank_fold)


def _fit_messages(
    feats: Featurizer, data: MessageData, fit: Bools, bank_fit: Bools, seed: int
) -> LogisticModel:
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(bank_fit)
    bank = rng.choice(pool, min(BANK_FIT, len(pool)), replace=False)
    texts = [data.texts.texts[i] for i in np.flatnonzero(fit)] + [data.banking[i] for i in bank]
    y = np.concatenate([data.texts.labels[fit], np.zeros(len(bank), dtype=np.int64)])
    w, b = fit_logistic(feats(texts), y, l2=MESSAGE_L2, iterations=12, tolerance=1e-4)
    return LogisticModel(w, b, 0.5, feats.embedder.model_id, sentence_max=True)


def _calibrate_messages(
    feats: Featurizer, model: LogisticModel, data: MessageData, cal: Bools, bank_cal: Bools
) -> LogisticModel:
    bank = [data.banking[i] for i in np.flatnonzero(bank_cal)]
    benign = [data.texts.texts[i] for i in np.flatnonzero(cal & (data.texts.labels == 0))]
    t_bank = _threshold(feats.scores(model, bank), _rules(bank), BANK_FPR)
    t_general = _threshold(feats.scores(model, benign), _rules(benign), GENERAL_FPR)
    return replace(model, threshold=max(t_bank, t_general))


def measure_messages(feats: Featurizer, data: MessageData) -> Report:
    report = Report()
    kinds = np.asarray(data.texts.kinds)
    rules_x = _rules(data.texts.texts)
    rules_b = _rules(data.banking)
    for k in range(FOLDS):
        cal = (k + 1) % FOLDS
        fit = (data.fold != k) & (data.fold != cal)
        bank_fit = (data.bank_fold != k) & (data.bank_fold != cal)
        model = _fit_messages(feats, data, fit, bank_fit, seed=k)
        model = _calibrate_messages(feats, model, data, data.fold == cal, data.bank_fold == cal)
        report.thresholds.append(model.threshold)
        test = np.flatnonzero(data.fold == k)
        scores = feats.scores(model, [data.texts.texts[i] for i in test])
        flags = rules_x[test] | (scores > model.threshold)
        for kind in sorted(set(kinds[test])):
            report.add(kind, flags[kinds[test] == kind])
        bank_test = np.flatnonzero(data.bank_fold == k)
        bank_scores = feats.scores(model, [data.banking[i] for i in bank_test])
        report.add("benign_banking77", rules_b[bank_test] | (bank_scores > model.threshold))
    return report


def train_messages(feats: Featurizer, data: MessageData) -> LogisticModel:
    """The shipped message model: fitted on folds 1-4, calibrated on fold 0."""
    model = _fit_messages(feats, data, data.fold != 0, data.bank_fold != 0, seed=FOLDS)
    return _calibrate_messages(feats, model, data, data.fold == 0, data.bank_fold == 0)


# --- documents ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentData:
    attacks: list[Attack]
    documents: list[Document]
    extra_attacks: list[str]
    """Direct attacks (deepset injections, authored): also attacks when inside a document."""
    attack_fold: npt.NDArray[np.int64]
    doc_fold: npt.NDArray[np.int64]

    @classmethod
    def load(cls, datasets: Path, messages: Texts) -> DocumentData:
        attacks = load_attacks(datasets)
        documents = load_documents(datasets)
        extra = [t for t, y in zip(messages.texts, messages.labels, strict=True) if y == 1]
        attack_fold = group_folds([a.category for a in attacks], FOLDS, SEED)
        doc_fold = np.random.default_rng(SEED + 1).integers(0, FOLDS, len(documents))
        return cls(attacks, documents, extra, attack_fold, doc_fold)


def _attack_pieces(attack: Attack) -> list[str]:
    """The attack, and its prose lines (code lines alone are no instruction)."""
    prose = [p for p in document_pieces(attack.text) if not _looks_like_code(p)]
    return [attack.text, *prose]


def _looks_like_code(piece: str) -> bool:
    head = piece.lstrip()
    return head.startswith(("import ", "from ", "def ", "for ", "with ", "if ", "#", ")", "]"))


def _fit_documents(
    feats: Featurizer, data: DocumentData, fit_attacks: Bools, fit_docs: Bools, seed: int
) -> LogisticModel:
    fitted = [data.attacks[i] for i in np.flatnonzero(fit_attacks)]
    positives = [p for a in fitted if FIT_CODE_ATTACKS or not a.code for p in _attack_pieces(a)]
    positives += data.extra_attacks
    pieces = dict.fromkeys(
        p for i in np.flatnonzero(fit_docs) for p in document_pieces(data.documents[i].text)
    )
    negatives = list(pieces)
    rng = np.random.default_rng(seed)
    if len(negatives) > DOC_NEGATIVES:
        negatives = [negatives[i] for i in rng.choice(len(negatives), DOC_NEGATIVES, False)]
    y = np.asarray([1] * len(positives) + [0] * len(negatives), dtype=np.int64)
    w, b = fit_logistic(feats(positives + negatives), y, l2=DOC_L2, iterations=12, tolerance=1e-4)
    return LogisticModel(
        w,
        b,
        0.5,
        feats.embedder.model_id,
        sentence_max=True,
        pieces="lines",
        embedding=feats.embedding,
    )


def _doc_kinds(data: DocumentData) -> list[str]:
    return sorted({d.kind for d in data.documents})


def _calibrate_documents(
    feats: Featurizer, model: LogisticModel, data: DocumentData, cal: Bools
) -> LogisticModel:
    threshold = 0.0
    for kind in CALIBRATED_KINDS:
        docs = [d.text for i, d in enumerate(data.documents) if cal[i] and d.kind == kind]
        if docs:
            threshold = max(threshold, _threshold(feats.scores(model, docs), _rules(docs), DOC_FPR))
    return replace(model, threshold=threshold)


def compose(
    attacks: Sequence[Attack], contexts: Sequence[Document], seed: int
) -> list[tuple[str, str]]:
    """``(kind, document)``: each attack at each position in ``CONTEXTS_PER_ATTACK`` random
    contexts of its own type (text attacks in e-mails and tables, code attacks in code)."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for kind in ("email", "table", "code"):
        pool = [c for c in contexts if c.kind == kind]
        for attack in attacks:
            if not pool or attack.code != (kind == "code"):
                continue
            for where in POSITIONS:
                for ctx in rng.sample(pool, min(CONTEXTS_PER_ATTACK, len(pool))):
                    out.append((kind, insert(ctx.text, attack.text, where, rng)))
    return out


def _flag(feats: Featurizer, model: LogisticModel, docs: Sequence[str]) -> Bools:
    return _rules(docs) | (feats.scores(model, docs) > model.threshold)


def measure_documents(feats: Featurizer, data: DocumentData) -> Report:
    report = Report()
    for k in range(FOLDS):
        cal = (k + 1) % FOLDS
        model = _fit_documents(
            feats,
            data,
            (data.attack_fold != k) & (data.attack_fold != cal),
            (data.doc_fold != k) & (data.doc_fold != cal),
            seed=k,
        )
        model = _calibrate_documents(feats, model, data, data.doc_fold == cal)
        report.thresholds.append(model.threshold)
        clean = [d for i, d in enumerate(data.documents) if data.doc_fold[i] == k]
        for kind in _doc_kinds(data):
            texts = [d.text for d in clean if d.kind == kind]
            report.add(f"clean_{kind}", _flag(feats, model, texts))
        attacks = [a for i, a in enumerate(data.attacks) if data.attack_fold[i] == k]
        composed = compose(attacks, clean, seed=k)
        flags = _flag(feats, model, [d for _, d in composed])
        for kind in ("email", "table", "code"):
            hits = [f for (c, _), f in zip(composed, flags, strict=True) if c == kind]
            report.add(f"injected_{kind}", hits)
    return report


def train_documents(feats: Featurizer, data: DocumentData) -> LogisticModel:
    """The shipped document model: fitted on folds 1-4, calibrated on fold 0's documents."""
    model = _fit_documents(feats, data, data.attack_fold != 0, data.doc_fold != 0, seed=FOLDS)
    return _calibrate_documents(feats, model, data, data.doc_fold == 0)


# --- command line ------------------------------------------------------------------------


def print_report(title: str, report: Report) -> None:
    print(title, flush=True)
    for kind, n, rate in report.rows():
        print(f"  {kind:24s} n={n:5d} flagged={rate:.4f}", flush=True)
    print(f"  thresholds {', '.join(f'{t:.3f}' for t in report.thresholds)}", flush=True)


def write_model(model: LogisticModel, name: str, meta: dict[str, object]) -> str:
    out = Path(__file__).parent / "data" / name
    payload = (model.to_json(meta) + "\n").encode("utf-8")
    out.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    print(f"wrote {out} sha256 {digest} (pin it in injection_model.SHIPPED_SHA256)", flush=True)
    return digest


def main(argv: Sequence[str] | None = None) -> None:
    from frontdesk.knowledge.embedding import LocalEmbedder

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--write", action="store_true", help="write the models to guard/data")
    parser.add_argument("--skip-cv", action="store_true", help="only fit the shipped models")
    args = parser.parse_args(argv)
    embedder = LocalEmbedder.load()
    run(embedder, args.datasets, write=args.write, cv=not args.skip_cv)


def run(embedder: SyncEmbedder, datasets: Path, *, write: bool, cv: bool = True) -> None:
    messages = MessageData.load(datasets, embedder)
    documents = DocumentData.load(datasets, messages.texts)
    msg_feats = Featurizer(embedder)
    doc_feats = Featurizer(embedder, embedding=DOC_EMBEDDING)
    if cv:
        print_report("messages (grouped 5-fold CV)", measure_messages(msg_feats, messages))
        print_report("documents (grouped 5-fold CV)", measure_documents(doc_feats, documents))
    if write:
        common = {"folds": FOLDS, "seed": SEED, "fit": "folds 1-4", "calibrated": "fold 0"}
        message_model = train_messages(msg_feats, messages)
        write_model(
            message_model,
            MESSAGE_MODEL,
            {
                **common,
                "trained_on": "deepset/prompt-injections train (Apache-2.0), banking77 train "
                "(CC-BY-4.0), BIPIA plain tasks (MIT), authored corpus",
                "bank_fpr": BANK_FPR,
                "general_fpr": GENERAL_FPR,
                "l2": MESSAGE_L2,
            },
        )
        doc_model = train_documents(doc_feats, documents)
        write_model(
            doc_model,
            DOCUMENT_MODEL,
            {
                **common,
                "trained_on": "BIPIA train attacks and contexts (MIT), support_kb corpus (MIT), "
                "direct attacks of the message data",
                "doc_fpr": DOC_FPR,
                "l2": DOC_L2,
            },
        )


DOC_EMBEDDING = True
"""Whether the document model uses MiniLM embeddings besides n-grams."""


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
    report = measure_messages(Featurizer(embedder), data)
    attacks = [t for t, y in zip(texts, labels, strict=True) if y]
    return Measurement(
        tpr=report.rate("direct"),
        fpr=report.rate("benign_banking77"),
        fpr_heldout=report.rate("benign_banking77"),
        rules_tpr=float(_rules(attacks).mean()) if attacks else 0.0,
        threshold=float(np.mean(report.thresholds)),
        n_injections=len(attacks),
        n_benign=len(banking),
    )
