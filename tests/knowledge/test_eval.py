from __future__ import annotations

import json
from pathlib import Path

import pytest

from frontdesk.errors import ConfigError
from frontdesk.knowledge.embedding import HashEmbedder
from frontdesk.knowledge.eval import (
    METRICS,
    evaluate_beir,
    load_beir,
    mrr_at,
    ndcg_at,
    recall_at,
)
from tests.knowledge.conftest import SAMPLE_EVAL, SAMPLE_KB


def test_metric_definitions() -> None:
    ranked = ["d3", "d1", "d9", "d2"]
    relevant = {"d1": 2, "d2": 1}
    assert recall_at(ranked, relevant, 2) == 0.5
    assert recall_at(ranked, relevant, 4) == 1.0
    assert mrr_at(ranked, relevant, 10) == 0.5
    assert mrr_at(ranked, relevant, 1) == 0.0
    dcg = 3 / 1.584962500721156 + 1 / 2.321928094887362
    idcg = 3 / 1.0 + 1 / 1.584962500721156
    assert ndcg_at(ranked, relevant, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["d1", "d2"], relevant, 10) == pytest.approx(1.0)


def test_shipped_judgements_match_the_sample_kb() -> None:
    dataset = load_beir(SAMPLE_EVAL)
    assert len(dataset.queries) >= 40
    kb_files = {
        p.relative_to(SAMPLE_KB).as_posix()
        for p in SAMPLE_KB.rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert set(dataset.corpus) == kb_files
    judged = {d for rel in dataset.qrels.values() for d in rel}
    assert judged <= kb_files


async def test_sample_eval_runs_all_three_modes() -> None:
    # HashEmbedder keeps this fast; the real embedder's numbers are in benchmarks/.
    report = await evaluate_beir(SAMPLE_EVAL, HashEmbedder(256))
    assert set(report.metrics) == {"lexical", "vector", "hybrid"}
    for values in report.metrics.values():
        assert set(values) == set(METRICS)
    hybrid = report.metrics["hybrid"]
    assert hybrid["recall@10"] >= 0.9 and hybrid["mrr@10"] >= 0.8
    assert (
        hybrid["recall@5"]
        >= max(report.metrics[m]["recall@5"] for m in ("lexical", "vector")) - 0.02
    )
    assert "hybrid" in report.table() and "ndcg@10" in report.table()


async def test_eval_on_a_tiny_folder(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    corpus = [
        {"_id": "a", "title": "Refunds", "text": "Refunds within 14 days."},
        {"_id": "b", "title": "Passwords", "text": "Reset passwords by email."},
    ]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus))
    (tmp_path / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "refunds"})
        + "\n"
        + json.dumps({"_id": "q2", "text": "unjudged"})
        + "\n"
    )
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ta\t1\n")
    report = await evaluate_beir(tmp_path, HashEmbedder())
    assert report.queries == 1 and report.documents == 2
    assert report.metrics["lexical"]["mrr@10"] == 1.0
    with pytest.raises(ConfigError, match="not a BEIR folder"):
        load_beir(tmp_path / "missing")
