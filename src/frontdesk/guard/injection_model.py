"""The classifier layer of the injection detector: logistic regression on MiniLM embeddings
concatenated with hashed word uni/bigrams and character n-grams (``guard/injection_features.py``;
the embeddings are English-only, the n-grams carry German phrasings, exact wording and
misspellings). With ``sentence_max`` a text scores the highest of its pieces (same model, one
embedding batch), so an instruction appended to a harmless question, or hidden on one line of
an e-mail, a table cell or a code comment, is not averaged away: a message is judged whole
and sentence by sentence, a document by its prose pieces (``guard/injection_pieces.py``).

Two models ship in ``guard/data`` (trained by ``guard/train_injection.py``; provenance in
``guard/data/NOTICE.md``): ``injection_lr.json`` for customer messages and
``injection_doc_lr.json`` for retrieved passages and uploaded documents. Each file's sha256
is pinned in :data:`SHIPPED_SHA256` and checked when it is loaded. Pure numpy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from frontdesk.errors import ConfigError
from frontdesk.guard.injection_features import (
    HASH_DIMS,
    HASH_WEIGHT,
    LENGTH_BUCKETS,
    hashed_chars,
    hashed_ngrams,
    length_buckets,
)
from frontdesk.guard.injection_pieces import (
    PieceMode,
    document_pieces,
    document_shape,
    has_code,
    pieces_of,
)

__all__ = [
    "DOCUMENT_MODEL",
    "MESSAGE_MODEL",
    "SHIPPED_SHA256",
    "LogisticModel",
    "SyncEmbedder",
    "document_pieces",
    "expand",
    "features",
    "fit_logistic",
    "max_by_owner",
    "pieces_of",
    "threshold_for_fpr",
]

Vectors = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


class SyncEmbedder(Protocol):
    """What the guard needs from an embedder (``knowledge.embedding.LocalEmbedder`` fits)."""

    @property
    def model_id(self) -> str: ...

    def embed_sync(
        self, texts: Sequence[str], kind: Literal["query", "document"] = "document"
    ) -> Vectors: ...


MESSAGE_MODEL = "injection_lr.json"
DOCUMENT_MODEL = "injection_doc_lr.json"
SHIPPED_SHA256: dict[str, str] = {
    MESSAGE_MODEL: "8497483af17cf2f0ef123575d312212dd6792ea9038d6933e5069bf332692d3a",
    DOCUMENT_MODEL: "8bc0077b39d926407876269378e0f8f33f653bcaa082911a4457d26e4024047d",
}
"""The sha256 of each shipped weights file; ``train_injection --write`` prints new ones."""


@dataclass(frozen=True, slots=True)
class Pieces:
    """The pieces texts are scored on, and which text each belongs to."""

    texts: list[str]
    owner: npt.NDArray[np.int64]


def expand(texts: Sequence[str], mode: PieceMode = "sentences") -> Pieces:
    """Messages (``sentences``): each whole message and its sentences. Documents
    (``lines``): each document's prose pieces only (its code and table layout are context,
    not text); a document without prose has no piece."""
    out: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        found = pieces_of(text, mode) if mode == "lines" else [text, *pieces_of(text, mode)]
        out += found
        owner += [i] * len(found)
    return Pieces(out, np.asarray(owner, dtype=np.int64))


def max_by_owner(scores: Floats, owner: npt.NDArray[np.int64], n: int) -> Floats:
    """Per text, the highest score of its pieces (0 for a text without pieces)."""
    out = np.full(n, -np.inf)
    if len(owner):
        np.maximum.at(out, owner, scores)
    return np.where(np.isfinite(out), out, 0.0)


OUT_OF_PLACE = 2
"""Columns of :func:`out_of_place`."""


def out_of_place(embeddings: Vectors, owner: npt.NDArray[np.int64]) -> Vectors:
    """Per document piece, how unlike the other pieces of its document it is: one minus its
    cosine to the mean of the others, and one minus its cosine to the most similar other
    piece (both 0 for a document of one piece). An instruction hidden in an e-mail or a
    table is a small part of a long document and about something else."""
    out = np.zeros((len(owner), OUT_OF_PLACE), dtype=np.float32)
    if embeddings.shape[1] == 0:
        return out
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
    for doc in np.unique(owner):
        rows = np.flatnonzero(owner == doc)
        if len(rows) < 2:
            continue
        e = unit[rows].astype(np.float64)
        others = e.sum(axis=0)[None, :] - e
        norms = np.maximum(np.linalg.norm(others, axis=1), 1e-9)
        gram = e @ e.T
        np.fill_diagonal(gram, -np.inf)
        out[rows, 0] = 1.0 - np.einsum("ij,ij->i", e, others) / norms
        out[rows, 1] = 1.0 - gram.max(axis=1)
    return out


def features(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    *,
    hash_dims: int = HASH_DIMS,
    hash_weight: float = HASH_WEIGHT,
    char_dims: int = 0,
    char_weight: float = 0.0,
    length_weight: float = 0.0,
    embedding: bool = True,
) -> Vectors:
    """MiniLM embeddings (unless ``embedding`` is off) beside weighted hashed word n-grams
    and character n-grams (each block left out at 0 dimensions)."""
    blocks: list[Vectors] = []
    if embedding:
        blocks.append(embedder.embed_sync(list(texts)))
    if hash_dims > 0:
        blocks.append(hash_weight * hashed_ngrams(texts, hash_dims))
    if char_dims > 0:
        blocks.append(char_weight * hashed_chars(texts, char_dims))
    if length_weight > 0:
        blocks.append(length_weight * length_buckets(texts))
    if not blocks:
        raise ValueError("a model needs embeddings or n-grams")
    return blocks[0] if len(blocks) == 1 else np.hstack(blocks)


@dataclass(frozen=True, slots=True)
class LogisticModel:
    weights: Floats
    bias: float
    threshold: float
    model_id: str
    hash_dims: int = HASH_DIMS
    hash_weight: float = HASH_WEIGHT
    sentence_max: bool = False
    """Score a text as the max over the whole text and each of its pieces (an
    instruction appended to a harmless question is scored on its own)."""
    pieces: PieceMode = "sentences"
    """How a text is cut: ``sentences`` for messages, ``lines`` for documents."""
    embedding: bool = True
    """Whether the features include the MiniLM embedding (else n-grams only)."""
    char_dims: int = 0
    char_weight: float = 0.0
    length_weight: float = 0.0
    """Weight of the one-hot word-count bucket (a word or two carry no instruction)."""
    code_threshold: float = 0.0
    """Documents holding code (``injection_pieces.has_code``) are flagged above this
    threshold instead (0: the same threshold). Used only without ``shape_thresholds``."""
    shape_thresholds: tuple[tuple[str, float], ...] = ()
    """A threshold per document shape (``injection_pieces.document_shape``: e-mail, table,
    code, prose); a shape not listed uses ``threshold``."""
    context_weight: float = 0.0
    """Weight of the out-of-place features of a document piece (:func:`out_of_place`: how
    unlike the document's other pieces it is); 0: none."""

    def threshold_for(self, text: str) -> float:
        if self.shape_thresholds:
            return dict(self.shape_thresholds).get(document_shape(text), self.threshold)
        if self.code_threshold > 0 and has_code(text):
            return self.code_threshold
        return self.threshold

    def scores(self, vectors: Vectors) -> Floats:
        z = vectors.astype(np.float64) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def features(self, embedder: SyncEmbedder, texts: Sequence[str]) -> Vectors:
        return features(
            embedder,
            texts,
            hash_dims=self.hash_dims,
            hash_weight=self.hash_weight,
            char_dims=self.char_dims,
            char_weight=self.char_weight,
            length_weight=self.length_weight,
            embedding=self.embedding,
        )

    def embedding_dims(self, vectors: Vectors) -> int:
        """How many leading columns of ``vectors`` (from :meth:`features`) are the embedding."""
        if not self.embedding:
            return 0
        rest = (self.hash_dims if self.hash_dims > 0 else 0) + max(0, self.char_dims)
        rest += len(LENGTH_BUCKETS) + 1 if self.length_weight > 0 else 0
        return int(vectors.shape[1]) - rest

    def with_context(self, vectors: Vectors, owner: npt.NDArray[np.int64]) -> Vectors:
        """Piece features with the out-of-place features appended (unchanged without)."""
        if self.context_weight <= 0:
            return vectors
        extra = out_of_place(vectors[:, : self.embedding_dims(vectors)], owner)
        return np.hstack([vectors, (self.context_weight * extra).astype(np.float32)])

    def predict(self, embedder: SyncEmbedder, texts: Sequence[str]) -> Floats:
        if not self.sentence_max:
            return self.scores(self.features(embedder, texts))
        parts = expand(texts, self.pieces)
        if not parts.texts:
            return np.zeros(len(texts))
        vectors = self.with_context(self.features(embedder, parts.texts), parts.owner)
        return max_by_owner(self.scores(vectors), parts.owner, len(texts))

    def to_json(self, meta: dict[str, object]) -> str:
        return json.dumps(
            {
                "model_id": self.model_id,
                "hash_dims": self.hash_dims,
                "hash_weight": self.hash_weight,
                "sentence_max": self.sentence_max,
                "pieces": self.pieces,
                "embedding": self.embedding,
                "char_dims": self.char_dims,
                "char_weight": self.char_weight,
                "length_weight": self.length_weight,
                "code_threshold": self.code_threshold,
                "shape_thresholds": dict(self.shape_thresholds),
                "context_weight": self.context_weight,
                "threshold": self.threshold,
                "bias": self.bias,
                "weights": [round(float(w), 6) for w in self.weights],
                "meta": meta,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LogisticModel:
        data = json.loads(text)
        return cls(
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            model_id=str(data["model_id"]),
            hash_dims=int(data.get("hash_dims", 0)),
            hash_weight=float(data.get("hash_weight", 0.0)),
            sentence_max=bool(data.get("sentence_max", False)),
            pieces="lines" if data.get("pieces") == "lines" else "sentences",
            embedding=bool(data.get("embedding", True)),
            char_dims=int(data.get("char_dims", 0)),
            char_weight=float(data.get("char_weight", 0.0)),
            length_weight=float(data.get("length_weight", 0.0)),
            code_threshold=float(data.get("code_threshold", 0.0)),
            shape_thresholds=tuple(
                (str(k), float(v)) for k, v in dict(data.get("shape_thresholds", {})).items()
            ),
            context_weight=float(data.get("context_weight", 0.0)),
        )

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        name: str = MESSAGE_MODEL,
        expected_sha256: str | None = None,
    ) -> LogisticModel:
        """The shipped model ``name`` (its sha256 checked against :data:`SHIPPED_SHA256`),
        or the file at ``path`` (checked against ``expected_sha256`` when given)."""
        try:
            if path is None:
                raw = (resources.files("frontdesk.guard") / "data" / name).read_bytes()
                expected_sha256 = SHIPPED_SHA256.get(name)
                if expected_sha256 is None:
                    raise ConfigError(f"no pinned sha256 for injection model {name!r}")
            else:
                raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"injection classifier weights cannot be read: {exc}") from exc
        if expected_sha256 is not None:
            actual = hashlib.sha256(raw).hexdigest()
            if actual != expected_sha256:
                raise ConfigError(
                    f"injection model {path or name} has sha256 {actual}, expected "
                    f"{expected_sha256}: the file was changed or damaged"
                )
        try:
            text = raw.decode("utf-8")
            return cls.from_json(text)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"injection classifier weights are malformed: {exc}") from exc


_BIAS_SCALE = 10.0


def fit_logistic(
    x: Vectors,
    y: npt.NDArray[np.int64],
    *,
    l2: float = 3e-3,
    iterations: int = 30,
    tolerance: float = 1e-6,
    sample_weight: Floats | None = None,
) -> tuple[Floats, float]:
    """L2-regularised (optionally sample-weighted) logistic regression by Newton's method.

    The bias is a constant feature of value 10, so its penalty is 100 times weaker than the
    weights'. With fewer texts than features each Newton step solves an n-by-n system
    (Woodbury identity); otherwise the d-by-d Hessian.
    """
    n, d = x.shape
    xb = np.hstack([x.astype(np.float64), np.full((n, 1), _BIAS_SCALE)])
    w = np.zeros(xb.shape[1])
    target = y.astype(np.float64)
    c = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    c = c * (n / c.sum())
    dual = n <= d
    gram = xb @ xb.T if dual else None
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (c * (p - target)) / n + l2 * w
        s = c * p * (1 - p)
        if gram is not None:
            # (X^T S X / n + l2 I)^-1 g = (g - X^T R (n l2 I + R X X^T R)^-1 R X g) / l2
            r = np.sqrt(s)
            inner = n * l2 * np.eye(n) + (r[:, None] * gram) * r[None, :]
            step = (grad - xb.T @ (r * np.linalg.solve(inner, r * (xb @ grad)))) / l2
        else:
            hessian = (xb.T * s) @ xb / n + l2 * np.eye(d + 1)
            step = np.linalg.solve(hessian, grad)
        w -= step
        if float(np.abs(step).max()) < tolerance:
            break
    return w[:-1], float(w[-1] * _BIAS_SCALE)


def threshold_for_fpr(benign_scores: Floats, max_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``benign_scores`` is <= ``max_fpr``."""
    ordered = np.sort(benign_scores)[::-1]
    allowed = int(np.floor(max_fpr * len(ordered)))
    if allowed >= len(ordered):
        return 0.0
    return float(ordered[allowed])
