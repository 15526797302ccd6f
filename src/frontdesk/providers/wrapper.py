"""A base for wrappers that add one behaviour around another :class:`ChatProvider`.

Retry, timeouts, circuit breaking, rate limits and fallback all keep the wrapped
provider's identity (``name``, ``model``, ``capabilities``, ``tokens``) and only
change how ``stream`` behaves.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from frontdesk.events import ProviderEvent
from frontdesk.providers.base import Capabilities, ChatProvider, ChatRequest, TokenCounter


class ProviderWrapper:
    """Delegates everything to ``inner``; subclasses override :meth:`stream`."""

    def __init__(self, inner: ChatProvider) -> None:
        self._inner = inner

    @property
    def inner(self) -> ChatProvider:
        return self._inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def capabilities(self) -> Capabilities:
        return self._inner.capabilities

    @property
    def tokens(self) -> TokenCounter:
        return self._inner.tokens

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return self._inner.stream(request)

    async def check(self) -> None:
        await self._inner.check()

    async def aclose(self) -> None:
        await self._inner.aclose()
