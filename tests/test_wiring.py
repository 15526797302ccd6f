"""open_services: what a start-up opened is closed, also when a later step fails."""

from __future__ import annotations

import pytest

from frontdesk import wiring
from frontdesk.config import KnowledgeConfig
from frontdesk.providers.factory import SharedModels
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.conftest import make_bot


async def test_a_failed_start_closes_what_it_had_opened(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    original = SharedModels.aclose

    async def recording_aclose(self: SharedModels) -> None:
        closed.append("shared")
        await original(self)

    async def broken_embedder(*_: object) -> None:
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(SharedModels, "aclose", recording_aclose)
    monkeypatch.setattr(wiring.SharedKnowledge, "embedder", broken_embedder)
    provider = ScriptedProvider()
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})  # needs the embedder
    with pytest.raises(RuntimeError, match="model file unreadable"):
        async with wiring.open_services(migrated, bot, provider=provider):
            pytest.fail("the services should not have opened")
    assert closed == ["shared"]
