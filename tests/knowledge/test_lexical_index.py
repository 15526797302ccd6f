"""The BM25F index: analysis, ranking, persistence, and the SQL stores that use it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from frontdesk.knowledge.analysis import Analyzer, segments
from frontdesk.knowledge.fusion import FusionParams, fuse
from frontdesk.knowledge.lexical_index import Bm25Index, IndexRow
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import ScoredChunk, SearchFilter, StoredChunk


def _rows() -> list[IndexRow]:
    return [
        IndexRow(1, "d1", "Refund policy", "Annual plans", "Annual plans are refunded pro rata."),
        IndexRow(2, "d2", "Billing", "Invoices", "Invoices are sent monthly; refunds take a week."),
        IndexRow(3, "d3", "Cards", "", "The cash back card pays back cash on every purchase."),
        IndexRow(4, "d3", "Cards", "Fees", "A back office fee applies to cash withdrawals."),
    ]


def test_analyzer_stems_drops_stopwords_and_adds_bigrams() -> None:
    analyzer = Analyzer()
    assert analyzer.terms("The refunds of my cards") == ["refund", "card", "refund_card"]
    assert Analyzer(bigrams=False).terms("Refunded cards") == ["refund", "card"]


def test_long_queries_lose_more_stopwords_and_weigh_repeats_by_log_tf() -> None:
    analyzer = Analyzer(long_query_words=5)
    short = analyzer.query_weights("not refunded")
    assert "not" in short
    long = analyzer.query_weights("card card card not refunded at all today")
    assert "not" not in long
    assert long["card"] == pytest.approx(1 + np.log(3))


def test_segments_split_sentences_and_lines_and_drop_fragments() -> None:
    text = "**Goal:** get a refund for the annual plan. Thanks!\n- Ask about the fee schedule"
    assert segments(text) == [
        "Goal: get a refund for the annual plan.",
        "Ask about the fee schedule",
    ]


def test_bm25_ranks_title_matches_and_phrases_first() -> None:
    analyzer = Analyzer()
    index = Bm25Index.build(_rows(), analyzer)
    labels, scores = index.search(analyzer.query_weights("refund"), 10)
    assert list(labels[:2]) == [1, 2]  # the title match wins
    assert all(s > 0 for s in scores)
    labels, _ = index.search(analyzer.query_weights("cash back"), 10)
    assert labels[0] == 3  # the phrase beats the same words apart
    labels, _ = index.search(analyzer.query_weights("cash back"), 10, frozenset({"d1"}))
    assert len(labels) == 0
    assert len(index.search(analyzer.query_weights("nothing matches"), 10)[0]) == 0


def _full_sort(index: Bm25Index, weights: dict[str, float], k: int) -> list[tuple[int, float]]:
    scores = index.scores(weights)
    ranked = sorted(
        (-float(s), int(label)) for label, s in zip(index.labels, scores, strict=True) if s > 0
    )
    return [(label, -s) for s, label in ranked[:k]]


@pytest.mark.parametrize("k", [1, 2, 3, 10, 400])
def test_search_equals_a_full_sort_with_ties_by_label_on_both_summing_paths(k: int) -> None:
    # 400 rows, the same few words: many exact ties. "cash" touches every row (summed by one
    # dense pass), "rare" one row in fifty (summed over the touched rows only).
    words = ["cash card", "cash back", "cash rare", "cash card back"]
    rows = [
        IndexRow(i, f"d{i // 4}", "T", "", words[i % 4] + (" rare" if i % 50 == 0 else ""))
        for i in range(400)
    ]
    index = Bm25Index.build(rows, Analyzer())
    for weights in ({"cash": 1.0, "card": 2.0}, {"rare": 1.0}, {"back": 1.0, "rare": 0.5}):
        labels, scores = index.search(weights, k)
        got = [(int(label), float(score)) for label, score in zip(labels, scores, strict=True)]
        assert got == _full_sort(index, weights, k)
    labels, _ = index.search({"cash": 1.0}, 5, frozenset({"d7", "d9"}))
    inside = [hit for hit in _full_sort(index, {"cash": 1.0}, 400) if hit[0] // 4 in (7, 9)]
    assert labels.tolist() == [label for label, _ in inside[:5]]
    assert index.search({"unknown": 1.0}, 5)[0].size == 0


def test_index_round_trips_and_refuses_another_generation(tmp_path: Path) -> None:
    analyzer = Analyzer()
    index = Bm25Index.build(_rows(), analyzer, generation=7)
    path = tmp_path / "x.lex.npz"
    index.save(path)
    loaded = Bm25Index.load(path, 7)
    assert loaded is not None
    query = analyzer.query_weights("cash refunds")
    assert np.array_equal(loaded.search(query, 5)[0], index.search(query, 5)[0])
    assert Bm25Index.load(path, 8) is None
    path.write_bytes(b"not an index")
    assert Bm25Index.load(path, 7) is None


def _chunk(cid: str, doc: str) -> StoredChunk:
    return StoredChunk(cid, "t", "c", doc, 0, cid, "T", "", "s", cid)


def test_fusion_aggregates_to_documents_and_keeps_a_documents_best_chunk_first() -> None:
    a1, a2, b1 = _chunk("a1", "A"), _chunk("a2", "A"), _chunk("b1", "B")
    params = FusionParams(lexical_weight=0.0, floor=0.3)
    # Two sub-queries: A matches both (through different chunks), B only the first.
    vectors = [[ScoredChunk(b1, 0.8), ScoredChunk(a1, 0.7)], [ScoredChunk(a2, 0.7)]]
    fused = fuse(vectors, [], params)
    assert [f.chunk.id for f in fused] == ["a1", "a2", "b1"]
    assert fused[0].similarity == pytest.approx(0.7)
    # A's second passage barely matches: B comes first, A's weak passage last.
    weak = [vectors[0], [ScoredChunk(a2, 0.35)]]
    assert [f.chunk.id for f in fuse(weak, [], params)] == ["b1", "a1", "a2"]
    lexical = [ScoredChunk(b1, 9.0)]
    fused = fuse(vectors, lexical, FusionParams(lexical_weight=0.9, floor=0.3))
    assert fused[0].chunk.id == "b1" and fused[0].lexical == 9.0


def _store_chunks(n: int) -> tuple[list[StoredChunk], np.ndarray]:
    chunks = [
        StoredChunk(
            f"c{i}",
            "t",
            "kb",
            f"d{i}",
            0,
            f"topic{i} shared words",
            f"Doc {i}",
            "",
            f"{i}.md",
            f"h{i}",
        )
        for i in range(n)
    ]
    vectors = np.eye(n, 8, dtype=np.float32)
    return chunks, vectors


def test_sqlite_store_ranks_with_the_index_and_rebuilds_after_a_write(tmp_path: Path) -> None:
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    store.ensure_collection("t", "kb", "m", 8)
    chunks, vectors = _store_chunks(4)
    store.upsert(chunks[:3], vectors[:3])
    where = SearchFilter("t", "kb")
    assert [h.chunk.id for h in store.search_lexical("topic2", where, 5)] == ["c2"]
    store.upsert(chunks[3:], vectors[3:])
    assert [h.chunk.id for h in store.search_lexical("topic3", where, 5)] == ["c3"]
    assert list((tmp_path / "kb.db.kbvec").glob("*.lex.npz"))
    found = store.search_vectors(vectors[[1, 3]], where, 1)
    assert [[h.chunk.id for h in hits] for hits in found] == [["c1"], ["c3"]]
    store.close()


def test_a_large_collection_is_searched_by_fts5_while_its_index_builds(tmp_path: Path) -> None:
    store = SqliteKnowledgeStore.open(tmp_path / "kb.db", exact_threshold=2)
    store.ensure_collection("t", "kb", "m", 8)
    chunks, vectors = _store_chunks(4)
    store.upsert(chunks, vectors)
    where = SearchFilter("t", "kb")
    first = store.search_lexical("topic1", where, 5)  # FTS5 answers, a thread builds
    assert [h.chunk.id for h in first] == ["c1"]
    store.lexicon.wait()
    info = store.collection_info("t", "kb")
    assert info is not None
    index = store.lexicon.get(("t", "kb"), info.generation, lambda: 4, list)
    assert index is not None and len(index) == 4
    store.close()
