"""`frontdesk eval answers --chunk-tokens N`: measure a chunking change in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.errors import FrontdeskError
from frontdesk.evaluation.cli_support import evaluate
from frontdesk.evaluation.inprocess import chunking
from frontdesk.settings import Settings


def test_chunk_options_scale_the_overlap_down_with_the_chunk() -> None:
    assert chunking(None) is None
    small = chunking(20)
    assert small is not None and small.max_tokens == 20 and small.overlap_tokens == 9
    large = chunking(400)
    assert large is not None and large.overlap_tokens == 40


def test_chunk_tokens_with_a_remote_server_is_refused(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "a", "turns": ["hi"], "kind": "unanswerable"}\n')
    with pytest.raises(FrontdeskError, match="chunk-tokens"):
        evaluate(
            cases,
            settings=Settings(home=tmp_path),
            url="http://127.0.0.1:9",
            chunk_tokens=20,
        )
