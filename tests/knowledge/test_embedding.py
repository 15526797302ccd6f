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
    plan_batches,
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


def test_runs_are_planned_so_short_rows_are_not_padded_to_long_ones() -> None:
    # a message (30 tokens) and its short sentences: two runs, not four rows of 30
    assert sorted(map(sorted, plan_batches([30, 7, 6, 7], max_rows=32))) == [[0], [1, 2, 3]]
    # rows close in length share a run (one run costs more than a few padded tokens)
    assert plan_batches([16, 14, 15], max_rows=32) == [[1, 2, 0]]
    # every row in exactly one run, runs of at most max_rows, in order of length
    lengths = [5, 200, 9, 9, 64, 3, 120, 8] * 9
    groups = plan_batches(lengths, max_rows=8)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert max(len(g) for g in groups) <= 8
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(flat)
    assert plan_batches([], max_rows=4) == []


def test_a_message_and_its_sentences_run_unpadded_and_bit_identical(
    local_embedder: LocalEmbedder,
) -> None:
    """The model sees each run padded to its own longest row; the vectors are exactly those
    of each text alone (the attention mask keeps padding out)."""
    widths: list[tuple[int, int]] = []
    session = local_embedder._session

    class Recording:
        def get_inputs(self):  # type: ignore[no-untyped-def]
            return session.get_inputs()

        def run(self, names, feeds):  # type: ignore[no-untyped-def]
            widths.append(feeds["input_ids"].shape)
            return session.run(names, feeds)

    spy = LocalEmbedder(Recording(), local_embedder._unpadded, memo_size=0)
    message = "Hello! When is your support team available on weekends and public holidays? (3.7)"
    texts = [message, "Hello!", "(3.7)"]
    together = spy.embed_sync(texts)
    assert len(widths) == 2 and widths[0][0] + widths[1][0] == 3
    assert min(w for _, w in widths) < max(w for _, w in widths)
    alone = np.vstack([spy.embed_sync([t]) for t in texts])
    assert np.array_equal(together, alone)


async def test_async_embed_runs_off_the_event_loop(local_embedder: LocalEmbedder) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = local_embedder.embed_sync

    class Spy(LocalEmbedder):
        def embed_sync(self, texts, kind="document"):  # type: ignore[no-untyped-def]
            seen.append(threading.get_ident())
            return original(texts, kind)

    spy = Spy(local_embedder._session, local_embedder._unpadded)
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
