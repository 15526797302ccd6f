"""Fitting and cross-validating the document model: instructions hidden in e-mails, tables,
code and knowledge-base passages.

Positives are BIPIA's injected tasks (their prose: the code block of a code attack is
context, as it is in a clean snippet) and the direct attacks of the message data; negatives
are the prose pieces of clean documents, sampled evenly from each kind so the few code
snippets weigh as much as the many tables. Measured as BIPIA composes its test: each held-out
attack (its category never fitted on) on its own line at the start, middle or end of
held-out clean documents of its type.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    load_documents,
)
from frontdesk.guard.injection_fit import (
    FOLDS,
    SEED,
    Bools,
    Featurizer,
    Report,
    rules_fire,
    threshold_at,
)
from frontdesk.guard.injection_model import (
    Floats,
    LogisticModel,
    expand,
    fit_logistic,
    max_by_owner,
    out_of_place,
)
from frontdesk.guard.injection_pieces import SHAPES, document_pieces, document_shape, has_code

POSITIONS = ("start", "middle", "end")
CONTEXTS_PER_ATTACK = 2
COMPOSED_KINDS = ("email", "table", "code", "kb")
"""Clean documents attacks are inserted into (text attacks into all but code, code attacks
into code)."""


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    fpr: float = 0.03
    """False flags allowed on each calibrated kind of clean document."""
    calibrated: tuple[str, ...] = ("email", "table", "kb", "code")
    negatives: int = 3000
    """Clean document pieces per fit."""
    by_kind: bool = True
    """Sample the negatives evenly from each kind of document (else from all pieces)."""
    l2: float = 1e-4
    code_whole: bool = False
    """Also fit on a code attack's whole text, code block included (the earlier model)."""
    code_threshold: bool = True
    """Calibrate a second threshold for documents holding code (else one for all)."""
    by_shape: bool = True
    """Calibrate a threshold per document shape (e-mail, table, code, prose), each at
    ``fpr`` of the clean documents of that shape and of each kind with enough of them
    (supersedes ``code_threshold``)."""
    cross_fit: bool = True
    """Calibrate on out-of-fold scores of every fitting fold (``cross_fitted``) instead of
    one calibration fold."""
    context_weight: float = 0.0
    """Weight of the out-of-place features (``injection_model.out_of_place``); above 0 the
    positives are the attacks' pieces inside fitting documents (so they have a context)."""


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
        attack_fold = group_folds([a.category for a in attacks], FOLDS, SEED, stable=False)
        doc_fold = np.random.default_rng(SEED + 1).integers(0, FOLDS, len(documents))
        return cls(attacks, documents, extra, attack_fold, doc_fold)


def attack_pieces(attack: Attack, *, whole: bool) -> list[str]:
    """The attack's prose pieces (and its whole text for a text attack, or with ``whole``)."""
    prose = document_pieces(attack.text, code=False)
    return [attack.text, *prose] if whole or not attack.code else prose


def _negatives(
    data: DocumentData, fit_docs: Bools, settings: DocumentSettings, seed: int
) -> list[str]:
    rng = np.random.default_rng(seed)
    pools: dict[str, dict[str, None]] = {}
    for i in np.flatnonzero(fit_docs):
        doc = data.documents[i]
        key = doc.kind if settings.by_kind else "all"
        pools.setdefault(key, {}).update(dict.fromkeys(document_pieces(doc.text)))
    share = settings.negatives // max(1, len(pools))
    out: list[str] = []
    for key in sorted(pools):
        pieces = list(pools[key])
        if len(pieces) > share:
            pieces = [pieces[i] for i in rng.choice(len(pieces), share, replace=False)]
        out += pieces
    return out


def doc_scores(feats: Featurizer, model: LogisticModel, texts: Sequence[str]) -> Floats:
    """As :meth:`LogisticModel.predict`, from cached features (with the out-of-place
    features when the model has them)."""
    if model.context_weight <= 0:
        return feats.scores(model, texts)
    parts = expand(texts, model.pieces)
    if not parts.texts:
        return np.zeros(len(texts))
    vectors = model.with_context(feats(parts.texts), parts.owner)
    return max_by_owner(model.scores(vectors), parts.owner, len(texts))


def _context_rows(
    feats: Featurizer, texts: Sequence[str]
) -> tuple[list[str], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Pieces of ``texts``, their out-of-place features (unweighted) and owners."""
    parts = expand(texts, "lines")
    emb = feats.embedder.embed_sync(parts.texts) if parts.texts else np.zeros((0, 0))
    return parts.texts, out_of_place(emb.astype(np.float32), parts.owner), parts.owner


def _fit_in_context(
    feats: Featurizer,
    data: DocumentData,
    fitted: Sequence[Attack],
    fit_docs: Bools,
    settings: DocumentSettings,
    seed: int,
) -> LogisticModel:
    """Fitted on pieces with their out-of-place features: clean pieces of fitting documents
    (sampled evenly per kind) and the attacks' pieces inserted into fitting documents."""
    rng = random.Random(seed)
    docs = [data.documents[i] for i in np.flatnonzero(fit_docs)]
    by_kind: dict[str, list[Document]] = {}
    for d in docs:
        by_kind.setdefault(d.kind if settings.by_kind else "all", []).append(d)
    share = settings.negatives // max(1, len(by_kind))
    neg_texts: list[str] = []
    neg_ctx: list[npt.NDArray[np.float32]] = []
    for key in sorted(by_kind):
        pieces, ctx, _ = _context_rows(feats, [d.text for d in by_kind[key]])
        pick = sorted(rng.sample(range(len(pieces)), min(share, len(pieces))))
        neg_texts += [pieces[i] for i in pick]
        neg_ctx.append(ctx[pick])
    text_pool = [d for d in docs if d.kind != "code"]
    code_pool = [d for d in docs if d.kind == "code"] or text_pool
    composed: list[tuple[str, set[str]]] = []
    for attack in fitted:
        own = set(document_pieces(attack.text))
        pool = code_pool if attack.code else text_pool
        kinds = sorted({d.kind for d in pool})
        for kind in kinds:
            ctx_doc = rng.choice([d for d in pool if d.kind == kind])
            where = POSITIONS[rng.randrange(len(POSITIONS))]
            composed.append((insert(ctx_doc.text, attack.text, where, rng), own))
    for text in data.extra_attacks:
        ctx_doc = rng.choice(text_pool)
        where = POSITIONS[rng.randrange(len(POSITIONS))]
        composed.append((insert(ctx_doc.text, text, where, rng), set(document_pieces(text))))
    pieces, ctx, owner = _context_rows(feats, [c for c, _ in composed])
    pos = [i for i, (p, o) in enumerate(zip(pieces, owner, strict=True)) if p in composed[o][1]]
    positives = [pieces[i] for i in pos]
    x = np.hstack(
        [
            feats(positives + neg_texts),
            settings.context_weight * np.vstack([ctx[pos], *neg_ctx]),
        ]
    )
    y = np.asarray([1] * len(positives) + [0] * len(neg_texts), dtype=np.int64)
    w, b = fit_logistic(x, y, l2=settings.l2, iterations=12, tolerance=1e-4)
    return replace(feats.model(w, b, "lines"), context_weight=settings.context_weight)


def fit_documents(
    feats: Featurizer,
    data: DocumentData,
    fit_attacks: Bools,
    fit_docs: Bools,
    settings: DocumentSettings,
    seed: int,
) -> LogisticModel:
    fitted = [data.attacks[i] for i in np.flatnonzero(fit_attacks)]
    if settings.context_weight > 0:
        return _fit_in_context(feats, data, fitted, fit_docs, settings, seed)
    positives = [p for a in fitted for p in attack_pieces(a, whole=settings.code_whole)]
    positives += data.extra_attacks
    negatives = _negatives(data, fit_docs, settings, seed)
    y = np.asarray([1] * len(positives) + [0] * len(negatives), dtype=np.int64)
    w, b = fit_logistic(
        feats(positives + negatives), y, l2=settings.l2, iterations=12, tolerance=1e-4
    )
    return feats.model(w, b, "lines")


MIN_SHAPE_DOCS = 100
"""A shape calibrated on fewer clean documents than this is floored (see
``shape_thresholds``)."""
MIN_KIND_DOCS = 20
"""A kind of document is held to the false-flag budget on its own within a shape when the
calibration fold has this many of it in that shape (fewer are pooled with the others)."""


def shape_thresholds(
    model: LogisticModel,
    docs: Sequence[Document],
    scores: Floats,
    settings: DocumentSettings,
) -> LogisticModel:
    """``model`` with a threshold per document shape, at ``settings.fpr`` of the clean
    ``docs`` (scored ``scores`` by models that were not fitted on them) of that shape, and
    of each kind with at least ``MIN_KIND_DOCS`` of them in it."""
    keep = np.asarray([d.kind in settings.calibrated for d in docs], dtype=np.bool_)
    texts = [d.text for d in docs]
    rules = rules_fire(texts)
    shapes = np.asarray([document_shape(t) for t in texts])
    kinds = np.asarray([d.kind for d in docs])
    found: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for shape in SHAPES:
        part = keep & (shapes == shape)
        if not part.any():
            continue
        sizes[shape] = int(part.sum())
        at = [threshold_at(scores[part], rules[part], settings.fpr)]
        for kind in sorted(set(kinds[part])):
            own = part & (kinds == kind)
            if own.sum() >= MIN_KIND_DOCS:
                at.append(threshold_at(scores[own], rules[own], settings.fpr))
        found[shape] = max(at)
    # a shape calibrated on few documents (BIPIA's 50 e-mails come from a handful of
    # senders) gets no threshold below the lowest of the well-sampled shapes
    floor = min((found[s] for s in found if sizes[s] >= MIN_SHAPE_DOCS), default=0.0)
    found = {s: t if sizes[s] >= MIN_SHAPE_DOCS else max(t, floor) for s, t in found.items()}
    fallback = max(found.values(), default=0.5)
    return replace(
        model,
        threshold=fallback,
        shape_thresholds=tuple((s, found.get(s, fallback)) for s in SHAPES),
    )


def _calibrate_shapes(
    feats: Featurizer,
    model: LogisticModel,
    data: DocumentData,
    cal: Bools,
    settings: DocumentSettings,
) -> LogisticModel:
    docs = [d for i, d in enumerate(data.documents) if cal[i]]
    return shape_thresholds(model, docs, doc_scores(feats, model, [d.text for d in docs]), settings)


def cross_fitted(
    feats: Featurizer,
    data: DocumentData,
    folds: Sequence[int],
    settings: DocumentSettings,
    seed: int,
) -> LogisticModel:
    """Fitted and calibrated on ``folds`` without a calibration fold of its own: one model
    per fold left out, each scoring the clean documents of the fold it left out; the
    thresholds are calibrated on those out-of-fold scores (every clean document of
    ``folds``, not a fifth of them: a shape with few documents, e-mails or code, gets a
    threshold from 40 rather than 10), and the model is the mean of the fold models."""
    scores = np.zeros(len(data.documents))
    models: list[LogisticModel] = []
    for left in folds:
        rest = [f for f in folds if f != left]
        model = fit_documents(
            feats,
            data,
            np.isin(data.attack_fold, rest),
            np.isin(data.doc_fold, rest),
            settings,
            seed=seed * FOLDS + left,
        )
        models.append(model)
        out = np.flatnonzero(data.doc_fold == left)
        scores[out] = doc_scores(feats, model, [data.documents[i].text for i in out])
    mean = replace(
        models[0],
        weights=np.mean([m.weights for m in models], axis=0),
        bias=float(np.mean([m.bias for m in models])),
    )
    used = np.flatnonzero(np.isin(data.doc_fold, list(folds)))
    return shape_thresholds(mean, [data.documents[i] for i in used], scores[used], settings)


def calibrate_documents(
    feats: Featurizer,
    model: LogisticModel,
    data: DocumentData,
    cal: Bools,
    settings: DocumentSettings,
) -> LogisticModel:
    if settings.by_shape:
        return _calibrate_shapes(feats, model, data, cal, settings)
    found = {True: 0.0, False: 0.0}
    for kind in settings.calibrated:
        docs = [d.text for i, d in enumerate(data.documents) if cal[i] and d.kind == kind]
        for code in (False, True):
            part = [t for t in docs if has_code(t) == code] if settings.code_threshold else docs
            if part:
                at = threshold_at(doc_scores(feats, model, part), rules_fire(part), settings.fpr)
                found[code] = max(found[code], at)
    if not settings.code_threshold:
        return replace(model, threshold=max(found.values()))
    return replace(model, threshold=found[False], code_threshold=max(found[True], found[False]))


def compose(
    attacks: Sequence[Attack], contexts: Sequence[Document], seed: int
) -> list[tuple[str, str]]:
    """``(kind, document)``: each attack at each position in ``CONTEXTS_PER_ATTACK`` random
    contexts of its own type (text attacks in e-mails, tables and passages, code attacks in
    code)."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for kind in COMPOSED_KINDS:
        pool = [c for c in contexts if c.kind == kind]
        for attack in attacks:
            if not pool or attack.code != (kind == "code"):
                continue
            for where in POSITIONS:
                for ctx in rng.sample(pool, min(CONTEXTS_PER_ATTACK, len(pool))):
                    out.append((kind, insert(ctx.text, attack.text, where, rng)))
    return out


def _flag(feats: Featurizer, model: LogisticModel, docs: Sequence[str]) -> Bools:
    thresholds = np.asarray([model.threshold_for(d) for d in docs])
    return rules_fire(docs) | (doc_scores(feats, model, docs) > thresholds)


def measure_documents(
    feats: Featurizer, data: DocumentData, settings: DocumentSettings | None = None
) -> Report:
    """Grouped 5-fold CV: fitted on three folds, calibrated on a fourth, measured on the
    fifth (attacks of categories and clean documents neither step saw)."""
    settings = settings or DocumentSettings()
    report = Report()
    for k in range(FOLDS):
        if settings.cross_fit and settings.by_shape:
            model = cross_fitted(feats, data, [f for f in range(FOLDS) if f != k], settings, k)
        else:
            cal = (k + 1) % FOLDS
            model = fit_documents(
                feats,
                data,
                (data.attack_fold != k) & (data.attack_fold != cal),
                (data.doc_fold != k) & (data.doc_fold != cal),
                settings,
                seed=k,
            )
            model = calibrate_documents(feats, model, data, data.doc_fold == cal, settings)
        report.thresholds.append(model.threshold)
        report.notes.append(
            " ".join(f"{s}={t:.3f}" for s, t in model.shape_thresholds) or "one threshold"
        )
        clean = [d for i, d in enumerate(data.documents) if data.doc_fold[i] == k]
        for kind in sorted({d.kind for d in data.documents}):
            texts = [d.text for d in clean if d.kind == kind]
            report.add(f"clean_{kind}", _flag(feats, model, texts))
        attacks = [a for i, a in enumerate(data.attacks) if data.attack_fold[i] == k]
        composed = compose(attacks, clean, seed=k)
        flags = _flag(feats, model, [d for _, d in composed])
        for kind in COMPOSED_KINDS:
            hits = [f for (c, _), f in zip(composed, flags, strict=True) if c == kind]
            report.add(f"injected_{kind}", hits)
    return report


def train_documents(
    feats: Featurizer, data: DocumentData, settings: DocumentSettings | None = None
) -> LogisticModel:
    """The shipped document model: cross-fitted on folds 1-4, so fold 0 stays held out (or
    fitted on folds 1-4 and calibrated on fold 0's documents)."""
    settings = settings or DocumentSettings()
    if settings.cross_fit and settings.by_shape:
        return cross_fitted(feats, data, range(1, FOLDS), settings, FOLDS)
    model = fit_documents(
        feats, data, data.attack_fold != 0, data.doc_fold != 0, settings, seed=FOLDS
    )
    return calibrate_documents(feats, model, data, data.doc_fold == 0, settings)
