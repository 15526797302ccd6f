from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from frontdesk.errors import ConfigError
from frontdesk.knowledge.embedding import (
    MINILM_DIMENSIONS,
    EmbeddingProvider,
    HashEmbedder,
    LocalEmbedder,
    TokenCounter,
)


def test_local_embedder_vectors_are_normalised_and_semantic(local_embedder: LocalEmbedder) -> None:
    assert isinstance(local_embedder, EmbeddingProvider)
    assert isinstance(local_embedder, TokenCounter)
    vectors = local_embedder.embed_sync(
        [
            "How do I get a refund?",
            "Refunds are available within 14 days of purchase.",
            "The pipeline failed with a connection timeout.",
        ]
    )
    assert vectors.shape == (3, MINILM_DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_batching_and_padding_do_not_change_vectors(local_embedder: LocalEmbedder) -> None:
    texts = ["short", "a much longer sentence about data pipelines and warehouses " * 3, "mid one"]
    together = local_embedder.embed_sync(texts)
    alone = np.vstack([local_embedder.embed_sync([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert local_embedder.embed_sync([]).shape == (0, MINILM_DIMENSIONS)


async def test_async_embed_runs_off_the_event_loop(local_embedder: LocalEmbedder) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = local_embedder.embed_sync

    class Spy(LocalEmbedder):
        def embed_sync(self, texts, kind="document"):  # type: ignore[no-untyped-def]
            seen.append(threading.get_ident())
            return original(texts, kind)

    spy = Spy(local_embedder._session, local_embedder._tokenizer)
    vectors = await spy.embed(["where is my invoice"], "query")
    assert vectors.shape == (1, MINILM_DIMENSIONS)
    assert seen and seen[0] != loop_thread


def test_long_texts_are_truncated_not_rejected(local_embedder: LocalEmbedder) -> None:
    text = "pipeline " * 2000
    assert local_embedder.count_tokens(text) == 2000
    assert local_embedder.embed_sync([text]).shape == (1, MINILM_DIMENSIONS)


def test_tampered_model_is_refused() -> None:
    with pytest.raises(ConfigError, match="sha256"):
        LocalEmbedder.load(expected_sha256="0" * 64)


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        LocalEmbedder.load(model_path=tmp_path / "nope.onnx")


def test_hash_embedder_is_deterministic_and_word_sensitive() -> None:
    embedder = HashEmbedder(128)
    a = embedder.embed_sync(["refund policy for annual plans", "password reset link"])
    b = asyncio.run(embedder.embed(["refund policy for annual plans"], "query"))
    np.testing.assert_array_equal(a[0], b[0])
    near = embedder.embed_sync(["annual plan refund"])[0]
    assert near @ a[0] > near @ a[1]
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id == "hash-128" and embedder.dimensions == 128


def test_recent_texts_are_embedded_once_and_shared(local_embedder: LocalEmbedder) -> None:
    first = local_embedder.embed_sync(["How do refunds work?", "Cancel my plan"])
    hits = local_embedder.memo_hits
    again = local_embedder.embed_sync(["Cancel my plan", "Something new"])
    assert local_embedder.memo_hits == hits + 1
    np.testing.assert_array_equal(again[0], first[1])
    many = [f"text number {i}" for i in range(200)]  # an ingest batch is not remembered
    local_embedder.embed_sync(many)
    before = local_embedder.memo_hits
    local_embedder.embed_sync(many[:1])
    assert local_embedder.memo_hits == before
