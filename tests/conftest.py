"""Shared fixtures: settings on a temp SQLite file, a migrated database, apps."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.config import (
    BotConfig,
    EndpointConfig,
    KnowledgeConfig,
    MemoryConfig,
    ModelConfig,
)
from frontdesk.guard.config import GuardConfig
from frontdesk.providers.base import ChatProvider
from frontdesk.settings import Settings, load_settings
from tests.apphelpers import Running
from tests.servers import serve

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return load_settings(
        env="test",
        home=tmp_path / "home",
        bot_config=REPO / "config" / "bot.yaml",
        heartbeat_seconds=5.0,
        log_json=False,
    )


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    from frontdesk.memory.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # in a thread: sync Playwright (browser tests) keeps an event loop on the main thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, settings.resolved_database_url).result()
    return settings


def make_bot(**model: object) -> BotConfig:
    """A small bot for pipeline tests (scripted endpoint, small memory window)."""
    return BotConfig(
        name="Testbot",
        company="Acme",
        system_prompt="You are {bot_name} of {company}. Today is {today}.\n{contacts}",
        model=ModelConfig(chain=["scripted"], **model),
        memory=MemoryConfig(window_tokens=64, summary_tokens=32),
        endpoints=[EndpointConfig(name="scripted", dialect="scripted", model="scripted-1")],
        knowledge=KnowledgeConfig(enabled=False),
        guard=GuardConfig(enabled=False),
        version="test-1",
    )


@pytest.fixture
def running(migrated: Settings) -> Running:
    """Start the real app on a loopback port with the given provider and bot."""

    @contextmanager
    def start(
        provider: ChatProvider | None, bot: BotConfig | None = None, **overrides: Any
    ) -> Iterator[httpx.Client]:
        settings = migrated.model_copy(update=overrides)
        app = create_app(settings, bot=bot or make_bot(), provider=provider)
        with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client

    return start
