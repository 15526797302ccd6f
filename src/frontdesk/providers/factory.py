"""Build providers from endpoint configuration.

``SharedModels`` owns what must exist once per app (the embedded model); the
app creates one in its lifespan, optionally ``await shared.load_local()`` to
fail fast and warm up, and ``await shared.aclose()`` at shutdown.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from urllib.parse import urlparse

from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.errors import ConfigError
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.local import LocalProvider
from frontdesk.providers.local_model import LocalModel
from frontdesk.providers.openai_chat import OpenAIChatProvider
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings

DEFAULT_LOCAL_ENDPOINT = EndpointConfig(name="local", dialect="local", model="smollm2")
NO_KEY_PLACEHOLDER = "not-needed"  # keyless OpenAI-compatible servers (Ollama, llama.cpp)
OPENAI_HOST = "api.openai.com"


class SharedModels:
    """Per-app holder of the embedded model: created lazily, loaded at most once."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local: LocalModel | None = None

    def local_model(self) -> LocalModel:
        """The shared :class:`LocalModel` (not loaded yet unless used or :meth:`load_local`)."""
        if self._local is None:
            self._local = LocalModel.from_settings(self._settings)
        return self._local

    async def load_local(self) -> None:
        """Verify and load the embedded model off the event loop; ConfigError when broken."""
        await asyncio.wrap_future(self.local_model().submit_load())

    async def aclose(self) -> None:
        if self._local is not None:
            local, self._local = self._local, None
            await asyncio.to_thread(local.close)


def _settings_key(dialect: str, settings: Settings) -> str | None:
    secret = {
        "openai": settings.openai_api_key,
        "anthropic": settings.anthropic_api_key,
        "gemini": settings.gemini_api_key,
    }.get(dialect)
    return secret.get_secret_value() if secret is not None else None


def _openai_base_url(endpoint: EndpointConfig, settings: Settings) -> str | None:
    return endpoint.base_url or settings.openai_base_url


def _settings_key_applies(endpoint: EndpointConfig, settings: Settings) -> bool:
    """The key from settings is only ever sent where settings say it belongs:
    the vendor's own API (or FRONTDESK_OPENAI_BASE_URL), never a third-party base_url."""
    if endpoint.base_url is None:
        return True
    if endpoint.dialect == "openai":
        return (
            endpoint.base_url == settings.openai_base_url
            or urlparse(endpoint.base_url).hostname == OPENAI_HOST
        )
    return False


def resolve_api_key(
    endpoint: EndpointConfig, settings: Settings, environ: Mapping[str, str] | None = None
) -> str | None:
    """The key to use for ``endpoint``, or ``None`` when it has none and needs one.

    Order: the variable named by ``api_key_env``; then the settings key for the
    dialect (``FRONTDESK_OPENAI_API_KEY`` ...) when the endpoint targets that
    vendor. A keyless endpoint with its own ``base_url`` (Ollama, llama.cpp
    server) gets a placeholder. Local and scripted endpoints need no key.
    """
    if endpoint.dialect in ("local", "scripted"):
        return NO_KEY_PLACEHOLDER
    env = os.environ if environ is None else environ
    if endpoint.api_key_env and env.get(endpoint.api_key_env):
        return env[endpoint.api_key_env]
    if _settings_key_applies(endpoint, settings):
        key = _settings_key(endpoint.dialect, settings)
        if key:
            return key
    if endpoint.api_key_env is None and endpoint.base_url is not None:
        return NO_KEY_PLACEHOLDER
    return None


def available_chain(
    bot: BotConfig, settings: Settings, environ: Mapping[str, str] | None = None
) -> list[EndpointConfig]:
    """Endpoints of ``bot.model.chain`` in order, skipping those without a key.

    When nothing is left, the embedded model: the bot's first ``local``
    endpoint, else :data:`DEFAULT_LOCAL_ENDPOINT`.
    """
    chain = [bot.endpoint(name) for name in bot.model.chain]
    usable = [ep for ep in chain if resolve_api_key(ep, settings, environ) is not None]
    if usable:
        return usable
    local = next((ep for ep in bot.endpoints if ep.dialect == "local"), DEFAULT_LOCAL_ENDPOINT)
    return [local]


def build_provider(
    endpoint: EndpointConfig,
    settings: Settings,
    *,
    shared: SharedModels,
    environ: Mapping[str, str] | None = None,
) -> ChatProvider:
    """One provider for one endpoint (no wrappers: retry/fallback are added by the caller)."""
    if endpoint.dialect == "local":
        return LocalProvider(shared.local_model(), name=endpoint.name, model_name=endpoint.model)
    if endpoint.dialect == "scripted":
        return ScriptedProvider.from_texts(
            endpoint.script,
            provider_name=endpoint.name,
            model_name=endpoint.model,
            context_length=endpoint.context_length or 4096,
            supports_tools=endpoint.tools,
        )
    if endpoint.dialect == "openai":
        key = resolve_api_key(endpoint, settings, environ)
        if key is None:
            wanted = endpoint.api_key_env or "FRONTDESK_OPENAI_API_KEY"
            raise ConfigError(f"endpoint {endpoint.name!r} needs an API key: set {wanted}")
        return OpenAIChatProvider(
            endpoint, api_key=key, base_url=_openai_base_url(endpoint, settings)
        )
    key = resolve_api_key(endpoint, settings, environ)
    if key is None:
        raise ConfigError(
            f"endpoint {endpoint.name!r} needs an API key: set {endpoint.api_key_env or 'it'}"
        )
    if endpoint.dialect == "anthropic":
        from frontdesk.providers.anthropic_chat import AnthropicChatProvider

        return AnthropicChatProvider.from_endpoint(endpoint, api_key=key)
    if endpoint.dialect == "gemini":
        from frontdesk.providers.gemini_chat import GeminiChatProvider

        return GeminiChatProvider.from_endpoint(endpoint, api_key=key)
    raise ConfigError(f"endpoint {endpoint.name!r}: unknown dialect {endpoint.dialect!r}")
