"""Issue 4 end to end: the primary vendor returns 503s, the answer comes from the fallback."""

from __future__ import annotations

import time

import pytest

from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from tests.apphelpers import Running, new_conversation, send, text_of
from tests.providers.fake_http import Reply
from tests.providers.fake_openai import API_KEY, FakeOpenAI, error_reply, stream_reply
from tests.threaded import threaded


def _bot(base_url: str) -> BotConfig:
    return BotConfig(
        name="Gw",
        company="Acme",
        system_prompt="You are {bot_name}.",
        model=ModelConfig(chain=["primary", "standby"]),
        endpoints=[
            EndpointConfig(
                name="primary",
                dialect="openai",
                model="gpt-4o-mini",
                base_url=base_url,
                api_key_env="FAKE_VENDOR_KEY",
            ),
            EndpointConfig(
                name="standby",
                dialect="scripted",
                model="standby-1",
                script=["Answer from the standby."],
            ),
        ],
        version="gw-1",
    )


def test_primary_503_falls_back_within_two_seconds(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    with threaded(FakeOpenAI()) as fake, running(None, bot=_bot(fake.base_url)) as client:
        cid = new_conversation(client)
        fake.push(stream_reply("Healthy primary answer."))
        started = time.monotonic()
        healthy = send(client, cid, "first")
        normal = time.monotonic() - started
        assert text_of(healthy) == "Healthy primary answer."
        assert healthy[-1].data["provider"] == "primary"

        outage: list[Reply] = [error_reply(503, "upstream down") for _ in range(10)]
        fake.push(*outage)
        started = time.monotonic()
        events = send(client, cid, "second")
        degraded = time.monotonic() - started
    assert text_of(events) == "Answer from the standby."
    done = events[-1].data
    assert done["provider"] == "standby"
    assert done["model"] == "standby-1"
    assert degraded - normal < 2.0, (normal, degraded)
