"""Guard fixtures: the real spaCy/Presidio engine and the real MiniLM embedder, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from frontdesk.guard.ner import NerEngine
from frontdesk.knowledge.embedding import LocalEmbedder

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def ner() -> NerEngine:
    return NerEngine.load()


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder.load()


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not (DATASETS / "prompt_injections" / "train.jsonl").is_file():
        missing = f"evaluation datasets not found under {DATASETS}"
        if os.environ.get("CI"):  # CI always has ../shared beside the clone: never skip there
            pytest.fail(missing)
        pytest.skip(missing)
    return DATASETS
