"""Fixtures of the media tests: a knowledge base of sample documents, the sample bot."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from frontdesk.config import AnswerConfig, BotConfig, load_bot_config
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.stores.factory import open_store
from frontdesk.settings import Settings
from tests.conftest import REPO

DOCS = [
    REPO / "sample_kb" / "pipelines" / "troubleshooting-failed-runs.md",
    REPO / "sample_kb" / "account" / "password-reset.md",
    REPO / "sample_kb" / "account" / "two-factor-authentication.md",
    REPO / "sample_kb" / "billing" / "refund-policy.md",
]


def ingest_docs(settings: Settings, paths: list[Path]) -> None:
    async def run() -> None:
        store = open_store(settings.resolved_database_url)
        try:
            await ingest([str(p) for p in paths], store=store, embedder=LocalEmbedder.load())
        finally:
            store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def kb_settings(migrated: Settings) -> Settings:
    ingest_docs(migrated, DOCS)
    return migrated


def sample_bot() -> BotConfig:
    """The sample bot (config/bot.yaml), quoting its documents (no model call)."""
    bot = load_bot_config(REPO / "config" / "bot.yaml")
    return bot.model_copy(update={"answer": AnswerConfig(mode="extractive")})
