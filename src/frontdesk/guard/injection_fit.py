"""What both injection trainers share: embeddings cached across runs, the feature set of a
model, features computed once per text, thresholds at a false-flag budget, and the report of
cross-validated flag rates (``guard/train_injection.py``, ``guard/injection_fit_documents.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_features import HASH_DIMS, HASH_WEIGHT
from frontdesk.guard.injection_model import (
    Floats,
    LogisticModel,
    SyncEmbedder,
    expand,
    features,
    max_by_owner,
    threshold_for_fpr,
)
from frontdesk.guard.injection_pieces import PieceMode
from frontdesk.guard.injection_rules import detect

FOLDS = 5
SEED = 0
Bools = npt.NDArray[np.bool_]


class CachedEmbedder:
    """An embedder whose vectors are kept in memory and, with ``path``, in an ``.npz`` file
    across runs (the cross-validation embeds tens of thousands of pieces)."""

    def __init__(self, embedder: SyncEmbedder, path: Path | None = None) -> None:
        self._inner = embedder
        self._path = path
        self._rows: dict[str, npt.NDArray[np.float32]] = {}
        self._dirty = False
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as saved:
                if str(saved["model_id"]) == embedder.model_id:
                    self._rows = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    def embed_sync(
        self, texts: Sequence[str], kind: Literal["query", "document"] = "document"
    ) -> npt.NDArray[np.float32]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if todo:
            self._rows.update(zip(todo, self._inner.embed_sync(todo, kind), strict=True))
            self._dirty = True
        return np.stack([self._rows[t] for t in texts]).astype(np.float32, copy=False)

    def save(self) -> None:
        if self._path is None or not self._dirty:
            return
        texts = list(self._rows)
        np.savez(
            self._path,
            model_id=np.asarray(self.model_id),
            texts=np.asarray(texts),
            vectors=np.stack([self._rows[t] for t in texts]),
        )
        self._dirty = False


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which features a model is fitted on (see ``injection_model.features``)."""

    embedding: bool = True
    hash_dims: int = HASH_DIMS
    hash_weight: float = HASH_WEIGHT
    char_dims: int = 0
    char_weight: float = 0.0
    length_weight: float = 0.0


class Featurizer:
    """Features of texts, computed once per distinct text."""

    def __init__(self, embedder: SyncEmbedder, spec: FeatureSpec | None = None) -> None:
        self.embedder = embedder
        self.spec = spec or FeatureSpec()
        self._rows: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if todo:
            spec = self.spec
            rows = features(
                self.embedder,
                todo,
                embedding=spec.embedding,
                hash_dims=spec.hash_dims,
                hash_weight=spec.hash_weight,
                char_dims=spec.char_dims,
                char_weight=spec.char_weight,
                length_weight=spec.length_weight,
            )
            self._rows.update(zip(todo, rows, strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._rows[t] for t in texts])

    def model(self, weights: Floats, bias: float, pieces: PieceMode) -> LogisticModel:
        spec = self.spec
        return LogisticModel(
            weights,
            bias,
            0.5,
            self.embedder.model_id,
            hash_dims=spec.hash_dims,
            hash_weight=spec.hash_weight,
            sentence_max=True,
            pieces=pieces,
            embedding=spec.embedding,
            char_dims=spec.char_dims,
            char_weight=spec.char_weight,
            length_weight=spec.length_weight,
        )

    def scores(self, model: LogisticModel, texts: Sequence[str]) -> Floats:
        """As :meth:`LogisticModel.predict`, from cached features."""
        parts = expand(texts, model.pieces)
        if not parts.texts:
            return np.zeros(len(texts))
        return max_by_owner(model.scores(self(parts.texts)), parts.owner, len(texts))


def rules_fire(texts: Sequence[str]) -> Bools:
    return np.asarray([bool(detect(t)) for t in texts], dtype=np.bool_)


def threshold_at(scores: Floats, rules: Bools, target: float) -> float:
    """Lowest threshold with (rule OR score > threshold) at most ``target`` of the texts."""
    remaining = max(0.0, target - float(rules.mean())) if len(rules) else target
    free = scores[~rules]
    return threshold_for_fpr(free, remaining * len(scores) / max(1, len(free)))


@dataclass
class Report:
    """Cross-validated flag rates: recall on attacks and false flags on clean texts."""

    flagged: dict[str, list[bool]] = field(default_factory=dict)
    thresholds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, flags: Sequence[bool] | Bools) -> None:
        self.flagged.setdefault(kind, []).extend(bool(f) for f in flags)

    def merge(self, other: Report) -> None:
        for kind, flags in other.flagged.items():
            self.add(kind, flags)
        self.thresholds += other.thresholds
        self.notes += other.notes

    def rate(self, kind: str) -> float:
        values = self.flagged.get(kind, [])
        return float(np.mean(values)) if values else float("nan")

    def rows(self) -> list[tuple[str, int, float]]:
        return [(k, len(v), self.rate(k)) for k, v in sorted(self.flagged.items())]


def print_report(title: str, report: Report) -> None:
    print(title, flush=True)
    for kind, n, rate in report.rows():
        print(f"  {kind:24s} n={n:5d} flagged={rate:.4f}", flush=True)
    print(f"  thresholds {', '.join(f'{t:.3f}' for t in report.thresholds)}", flush=True)
    for note in report.notes:
        print(f"  {note}", flush=True)
