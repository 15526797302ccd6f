"""The classifier layer of the injection detector: logistic regression on MiniLM embeddings
concatenated with hashed word uni/bigrams (the embeddings are English-only; the n-grams carry
German phrasings and exact wording such as "vergiss alle"). With ``sentence_max`` a message
scores the highest of its whole text and each of its sentences (same model, one embedding
batch), so an instruction appended to a harmless question is not averaged away.

Weights ship as ``guard/data/injection_lr.json`` (trained by ``guard/train_injection.py`` on
deepset/prompt-injections, Apache-2.0; see ``guard/data/NOTICE.md``). Pure numpy.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from frontdesk.errors import ConfigError

Vectors = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


class SyncEmbedder(Protocol):
    """What the guard needs from an embedder (``knowledge.embedding.LocalEmbedder`` fits)."""

    @property
    def model_id(self) -> str: ...

    def embed_sync(
        self, texts: Sequence[str], kind: Literal["query", "document"] = "document"
    ) -> Vectors: ...


HASH_DIMS = 2048
HASH_WEIGHT = 2.0
_TOKEN = re.compile(r"\w+")


def hashed_ngrams(texts: Sequence[str], dims: int = HASH_DIMS) -> Vectors:
    """L2-normalised counts of lower-cased word unigrams and bigrams hashed into ``dims``."""
    out = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _TOKEN.findall(text.lower())
        for feature in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            out[row, int.from_bytes(digest, "little") % dims] += 1.0
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out


_SENTENCE_BREAK = re.compile(r"(?<=[.!?:;])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentence-ish pieces of ``text`` (on . ! ? : ; and line breaks); one piece means none."""
    pieces = [p.strip() for p in _SENTENCE_BREAK.split(text) if p and len(p.strip()) > 1]
    return pieces or [text]


@dataclass(frozen=True, slots=True)
class Pieces:
    """Each text followed by its sentences (when it has more than one), and their owners."""

    texts: list[str]
    owner: npt.NDArray[np.int64]
    whole: npt.NDArray[np.int64]
    """positions in ``texts`` of the whole messages, in input order"""


def expand(texts: Sequence[str]) -> Pieces:
    out: list[str] = []
    owner: list[int] = []
    whole: list[int] = []
    for i, text in enumerate(texts):
        whole.append(len(out))
        sentences = split_sentences(text)
        extra = sentences if len(sentences) > 1 else []
        out += [text, *extra]
        owner += [i] * (1 + len(extra))
    return Pieces(out, np.asarray(owner, dtype=np.int64), np.asarray(whole, dtype=np.int64))


def max_by_owner(scores: Floats, owner: npt.NDArray[np.int64], n: int) -> Floats:
    """Per text, the highest score over the whole message and its sentences."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, owner, scores)
    return out


def features(
    embedder: SyncEmbedder,
    texts: Sequence[str],
    *,
    hash_dims: int = HASH_DIMS,
    hash_weight: float = HASH_WEIGHT,
) -> Vectors:
    vectors = embedder.embed_sync(list(texts))
    if hash_dims <= 0:
        return vectors
    return np.hstack([vectors, hash_weight * hashed_ngrams(texts, hash_dims)])


@dataclass(frozen=True, slots=True)
class LogisticModel:
    weights: Floats
    bias: float
    threshold: float
    model_id: str
    hash_dims: int = HASH_DIMS
    hash_weight: float = HASH_WEIGHT
    sentence_max: bool = False
    """Score a message as the max over the whole text and each of its sentences (an
    instruction appended to a harmless question is scored on its own)."""

    def scores(self, vectors: Vectors) -> Floats:
        z = vectors.astype(np.float64) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def features(self, embedder: SyncEmbedder, texts: Sequence[str]) -> Vectors:
        return features(embedder, texts, hash_dims=self.hash_dims, hash_weight=self.hash_weight)

    def predict(self, embedder: SyncEmbedder, texts: Sequence[str]) -> Floats:
        if not self.sentence_max:
            return self.scores(self.features(embedder, texts))
        pieces = expand(texts)
        return max_by_owner(
            self.scores(self.features(embedder, pieces.texts)), pieces.owner, len(texts)
        )

    def to_json(self, meta: dict[str, object]) -> str:
        return json.dumps(
            {
                "model_id": self.model_id,
                "hash_dims": self.hash_dims,
                "hash_weight": self.hash_weight,
                "sentence_max": self.sentence_max,
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
        )

    @classmethod
    def load(cls, path: Path | None = None) -> LogisticModel:
        try:
            if path is None:
                ref = resources.files("frontdesk.guard") / "data" / "injection_lr.json"
                text = ref.read_text(encoding="utf-8")
            else:
                text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"injection classifier weights cannot be read: {exc}") from exc
        try:
            return cls.from_json(text)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"injection classifier weights are malformed: {exc}") from exc


_BIAS_SCALE = 10.0


def fit_logistic(
    x: Vectors, y: npt.NDArray[np.int64], *, l2: float = 3e-3, iterations: int = 30
) -> tuple[Floats, float]:
    """L2-regularised logistic regression by Newton's method.

    The bias is a constant feature of value 10, so its penalty is 100 times weaker than the
    weights'. Each Newton step solves an n-by-n system (Woodbury identity), which is much
    cheaper than the d-by-d Hessian when there are fewer texts than features.
    """
    n, _d = x.shape
    xb = np.hstack([x.astype(np.float64), np.full((n, 1), _BIAS_SCALE)])
    w = np.zeros(xb.shape[1])
    target = y.astype(np.float64)
    gram = xb @ xb.T
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - target) / n + l2 * w
        # (X^T S X / n + l2 I)^-1 g = (g - X^T R (n l2 I + R X X^T R)^-1 R X g) / l2, R = S^1/2
        r = np.sqrt(p * (1 - p))
        inner = n * l2 * np.eye(n) + (r[:, None] * gram) * r[None, :]
        step = (grad - xb.T @ (r * np.linalg.solve(inner, r * (xb @ grad)))) / l2
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w[:-1], float(w[-1] * _BIAS_SCALE)


def threshold_for_fpr(benign_scores: Floats, max_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``benign_scores`` is <= ``max_fpr``."""
    ordered = np.sort(benign_scores)[::-1]
    allowed = int(np.floor(max_fpr * len(ordered)))
    if allowed >= len(ordered):
        return 0.0
    return float(ordered[allowed])
