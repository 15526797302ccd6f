"""Building providers from endpoint configuration, and choosing the usable chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from frontdesk.domain import ChatMessage
from frontdesk.errors import ConfigError
from frontdesk.events import TextDelta
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.factory import (
    DEFAULT_LOCAL_ENDPOINT,
    NO_KEY_PLACEHOLDER,
    SharedModels,
    available_chain,
    build_provider,
    resolve_api_key,
)
from frontdesk.providers.local import LocalProvider
from frontdesk.providers.openai_chat import OpenAIChatProvider
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.providers.fake_openai import API_KEY, FakeOpenAI

OPENAI = EndpointConfig(
    name="openai", dialect="openai", model="gpt-4o-mini", api_key_env="OPENAI_API_KEY"
)
VLLM = EndpointConfig(
    name="vllm",
    dialect="openai",
    model="qwen2.5-7b",
    base_url="http://127.0.0.1:9/v1",
    api_key_env="VLLM_KEY",
)
OLLAMA = EndpointConfig(
    name="ollama", dialect="openai", model="llama3.1:8b", base_url="http://127.0.0.1:9/v1"
)
CLAUDE = EndpointConfig(
    name="claude", dialect="anthropic", model="claude-sonnet-4-5", api_key_env="ANTHROPIC_API_KEY"
)
LOCAL = EndpointConfig(name="tiny", dialect="local", model="smollm2")


def bot(*chain: str) -> BotConfig:
    return BotConfig(
        name="Testbot",
        company="Acme",
        system_prompt="You are {bot_name}.",
        model=ModelConfig(chain=list(chain)),
        endpoints=[OPENAI, VLLM, OLLAMA, CLAUDE, LOCAL],
    )


def names(chain: list[EndpointConfig]) -> list[str]:
    return [ep.name for ep in chain]


def test_chain_skips_endpoints_without_keys() -> None:
    settings = Settings()
    config = bot("openai", "vllm", "claude", "ollama", "tiny")
    assert names(available_chain(config, settings, {})) == ["ollama", "tiny"]
    env = {"OPENAI_API_KEY": "sk-1", "VLLM_KEY": "v", "ANTHROPIC_API_KEY": "a"}
    assert names(available_chain(config, settings, env)) == [
        "openai",
        "vllm",
        "claude",
        "ollama",
        "tiny",
    ]


def test_settings_key_counts_for_the_vendor_only() -> None:
    settings = Settings(openai_api_key=SecretStr("sk-settings"))
    config = bot("openai", "vllm")
    assert names(available_chain(config, settings, {})) == ["openai"]
    assert resolve_api_key(OPENAI, settings, {}) == "sk-settings"
    assert resolve_api_key(OPENAI, settings, {"OPENAI_API_KEY": "sk-env"}) == "sk-env"
    # never sent to a third-party base_url
    assert resolve_api_key(VLLM, settings, {}) is None
    assert resolve_api_key(OLLAMA, settings, {}) == NO_KEY_PLACEHOLDER


def test_local_is_the_default_when_no_vendor_key_exists() -> None:
    settings = Settings()
    assert available_chain(bot("openai", "claude"), settings, {}) == [LOCAL]
    no_local = BotConfig(
        name="b",
        company="c",
        system_prompt="s",
        model=ModelConfig(chain=["openai"]),
        endpoints=[OPENAI],
    )
    assert available_chain(no_local, settings, {}) == [DEFAULT_LOCAL_ENDPOINT]


def test_local_endpoints_share_one_model_loaded_lazily() -> None:
    settings = Settings(local_n_ctx=1024)
    shared = SharedModels(settings)
    first = build_provider(LOCAL, settings, shared=shared)
    second = build_provider(DEFAULT_LOCAL_ENDPOINT, settings, shared=shared)
    assert isinstance(first, LocalProvider)
    assert isinstance(second, LocalProvider)
    assert shared.local_model() is shared.local_model()
    assert not shared.local_model().loaded
    assert (first.name, first.model) == ("tiny", "smollm2")
    assert first.capabilities.context_length == 1024


async def test_scripted_endpoint_replays_its_script() -> None:
    settings = Settings()
    endpoint = EndpointConfig(
        name="demo", dialect="scripted", model="scripted-1", script=["First reply.", "Second."]
    )
    provider = build_provider(endpoint, settings, shared=SharedModels(settings))
    assert isinstance(provider, ScriptedProvider)
    request = ChatRequest([ChatMessage("user", "hi")])
    for expected in ("First reply.", "Second.", "First reply."):
        text = "".join([e.text async for e in provider.stream(request) if isinstance(e, TextDelta)])
        assert text == expected


async def test_openai_endpoint_streams_with_the_key_from_its_variable() -> None:
    settings = Settings()
    async with FakeOpenAI() as fake:
        endpoint = EndpointConfig(
            name="proxy",
            dialect="openai",
            model="gpt-4o-mini",
            base_url=fake.base_url,
            api_key_env="PROXY_KEY",
        )
        provider = build_provider(
            endpoint, settings, shared=SharedModels(settings), environ={"PROXY_KEY": API_KEY}
        )
        assert isinstance(provider, OpenAIChatProvider)
        assert isinstance(provider, ChatProvider)
        try:
            request = ChatRequest([ChatMessage("user", "hi")])
            text = "".join(
                [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]
            )
        finally:
            await provider.aclose()
    assert text == fake.default_text
    assert fake.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"


def test_settings_base_url_applies_to_openai_endpoints() -> None:
    settings = Settings(
        openai_api_key=SecretStr("sk-s"), openai_base_url="http://127.0.0.1:9/proxy/v1"
    )
    provider = build_provider(
        EndpointConfig(name="o", dialect="openai", model="gpt-4o"),
        settings,
        shared=SharedModels(settings),
        environ={},
    )
    assert isinstance(provider, OpenAIChatProvider)
    assert str(provider._client.base_url) == "http://127.0.0.1:9/proxy/v1/"


def test_missing_key_is_a_config_error_and_every_vendor_dialect_builds() -> None:
    settings = Settings()
    shared = SharedModels(settings)
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY"):
        build_provider(OPENAI, settings, shared=shared, environ={})
    with pytest.raises(ConfigError, match="set ANTHROPIC_API_KEY"):
        build_provider(CLAUDE, settings, shared=shared, environ={})
    claude = build_provider(CLAUDE, settings, shared=shared, environ={"ANTHROPIC_API_KEY": "a"})
    assert (claude.name, claude.model) == (CLAUDE.name, CLAUDE.model)


async def test_shared_model_load_fails_fast_with_config_error(tmp_path: Path) -> None:
    settings = Settings(local_model_path=tmp_path / "missing.gguf")
    shared = SharedModels(settings)
    with pytest.raises(ConfigError, match="not found"):
        await shared.load_local()
    await shared.aclose()
