"""Provider RPM/TPM limits: the :class:`Limited` wrapper over token buckets.

A provider call takes 1 from its RPM bucket and its estimated tokens (prompt counted
with the provider's tokenizer + ``max_output``) from its TPM bucket, atomically; after
the call the TPM bucket is corrected by the difference between the estimate and the
usage the vendor reported. Over a limit it raises
:class:`~frontdesk.errors.ProviderRateLimited`, so retry and fallback treat our own
provider limit like the vendor's 429 (it may first wait up to ``max_wait``).

The buckets (in-process or Redis) are :mod:`frontdesk.admission.buckets`, shared with
the per-tenant request limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from frontdesk.admission.buckets import Buckets, Rate, Take
from frontdesk.errors import ProviderRateLimited
from frontdesk.events import ANSWER_EVENTS, ProviderEvent, UsageReport
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.tokens import count_request
from frontdesk.providers.wrapper import ProviderWrapper


@dataclass(frozen=True, slots=True)
class ProviderLimits:
    rpm: int | None = None
    tpm: int | None = None


class Limited(ProviderWrapper):
    """Holds a provider to its RPM/TPM limits (estimate before, correct after)."""

    def __init__(
        self,
        inner: ChatProvider,
        buckets: Buckets,
        limits: ProviderLimits,
        *,
        key: str | None = None,
        max_wait: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(inner)
        self._buckets = buckets
        self._key = key or inner.name
        self._rpm = Rate(limits.rpm) if limits.rpm else None
        self._tpm = Rate(limits.tpm) if limits.tpm else None
        self._max_wait = max_wait
        self._sleep = sleep

    def estimate(self, request: ChatRequest) -> int:
        return count_request(self._inner.tokens, request) + request.max_output_tokens

    async def _acquire(self, estimate: int) -> None:
        takes = []
        if self._rpm is not None:
            takes.append(Take(f"rpm:{self._key}", self._rpm))
        if self._tpm is not None:
            takes.append(Take(f"tpm:{self._key}", self._tpm, float(estimate)))
        waited = 0.0
        while takes:
            wait = await self._buckets.take(takes)
            if wait <= 0:
                return
            if waited + wait > self._max_wait:
                raise ProviderRateLimited(
                    "local rate limit for this endpoint reached",
                    provider=self.name,
                    retry_after=wait,
                )
            await self._sleep(wait)
            waited += wait

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        estimate = self.estimate(request) if self._tpm is not None else 0
        await self._acquire(estimate)
        actual: int | None = None
        produced = False
        upstream = self._inner.stream(request)
        try:
            async for event in upstream:
                if isinstance(event, UsageReport):
                    actual = event.usage.total_tokens
                elif not produced and isinstance(event, ANSWER_EVENTS):
                    produced = True
                yield event
        finally:
            await upstream.aclose()
            if self._tpm is not None:
                used = actual if actual is not None else (estimate if produced else 0)
                if used != estimate:
                    await self._buckets.adjust(Take(f"tpm:{self._key}", self._tpm, used - estimate))
