"""The real app with the sample bot's identity and actions, against the loopback Northwind API."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from frontdesk.app import create_app
from frontdesk.config import AnswerConfig, LimitsConfig
from frontdesk.memory.migrate import upgrade
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings, load_settings
from tests.actions.northwind import ACTION_SECRET, ROOT, Northwind, sample_bot
from tests.identity.keys import HMAC_SECRET, SECRET
from tests.servers import serve


@dataclass
class ChatApp:
    client: httpx.Client
    app: FastAPI
    provider: ScriptedProvider


def identity_env(monkeypatch: pytest.MonkeyPatch, api_url: str) -> None:
    monkeypatch.setenv("NORTHWIND_IDENTITY_SECRET", SECRET)
    monkeypatch.setenv("NORTHWIND_USER_HASH_SECRET", HMAC_SECRET)
    monkeypatch.setenv("NORTHWIND_ACTION_SECRET", ACTION_SECRET)
    monkeypatch.setenv("NORTHWIND_API_URL", api_url)


def migrated_settings(home: Path) -> Settings:
    """Test settings on a migrated SQLite database under ``home``."""
    settings = load_settings(
        env="test",
        home=home,
        bot_config=ROOT / "config" / "bot.yaml",
        heartbeat_seconds=5.0,
        log_json=False,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, settings.resolved_database_url).result()
    return settings


@contextmanager
def chat_app(
    settings: Settings,
    api: Northwind,
    provider: ScriptedProvider | None = None,
    *,
    limits: LimitsConfig | None = None,
    **answer: object,
) -> Iterator[ChatApp]:
    """The sample bot answering extractively (as with the embedded model) unless told
    ``mode="generative"`` (a vendor model with tools, here the scripted provider)."""
    bot = sample_bot()
    bot = bot.model_copy(
        update={
            "answer": AnswerConfig.model_validate({"mode": "extractive", **answer}),
            "limits": limits or bot.limits,
        }
    )
    provider = provider or ScriptedProvider.from_texts(["(the model was not expected)"])
    app = create_app(settings, bot=bot, provider=provider)
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield ChatApp(client, app, provider)
