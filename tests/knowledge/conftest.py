"""Knowledge fixtures: the real embedder (loads in well under a second) and the sample KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.knowledge.embedding import LocalEmbedder

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KB = REPO / "sample_kb"
SAMPLE_EVAL = REPO / "eval" / "sample_kb"


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder.load()
