"""Hashed text features of the injection models: word uni/bigrams and character n-grams.

MiniLM embeddings are English-only and blur exact wording; the hashed word n-grams carry
German phrasings and exact wording ("vergiss alle"), and character 3-5-grams inside word
boundaries carry misspellings, inflections and run-together words ("ignor3", "IGNOREALL").
Each block is L2-normalised and weighted. Pure numpy and blake2b, so the same text gives the
same features on every machine.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

HASH_DIMS = 2048
HASH_WEIGHT = 2.0
CHAR_SIZES = (3, 4, 5)
_TOKEN = re.compile(r"\w+")


def _bucket(feature: str, dims: int) -> int:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % dims


def _normalise_rows(out: Vectors) -> Vectors:
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = (out / norms).astype(np.float32, copy=False)
    return result


def hashed_ngrams(texts: Sequence[str], dims: int = HASH_DIMS) -> Vectors:
    """L2-normalised counts of lower-cased word unigrams and bigrams hashed into ``dims``."""
    out = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _TOKEN.findall(text.lower())
        for feature in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
            out[row, _bucket(feature, dims)] += 1.0
    return _normalise_rows(out)


LENGTH_BUCKETS = (1, 2, 3, 5, 8)
"""Upper bounds of the word-count buckets (the last bucket is everything longer)."""


def length_buckets(texts: Sequence[str]) -> Vectors:
    """One-hot word-count bucket of each text (1, 2, 3, 4-5, 6-8, more words): a message of
    a word or two ("first", "Team plan") is almost never an instruction, and the n-grams of
    so few words say little on their own."""
    out = np.zeros((len(texts), len(LENGTH_BUCKETS) + 1), dtype=np.float32)
    for row, text in enumerate(texts):
        n = len(_TOKEN.findall(text))
        out[row, sum(n > bound for bound in LENGTH_BUCKETS)] = 1.0
    return out


def char_ngrams(text: str, sizes: Sequence[int] = CHAR_SIZES) -> list[str]:
    """Character n-grams of each lower-cased word padded with spaces (``" ign"``, ``"ore "``)."""
    grams: list[str] = []
    for word in _TOKEN.findall(text.lower()):
        padded = f" {word} "
        for n in sizes:
            grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
    return grams


def hashed_chars(texts: Sequence[str], dims: int) -> Vectors:
    """L2-normalised counts of :func:`char_ngrams` hashed into ``dims`` (prefixed so they
    never share a bucket pattern with the word features)."""
    out = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        for gram in char_ngrams(text):
            out[row, _bucket("c:" + gram, dims)] += 1.0
    return _normalise_rows(out)
