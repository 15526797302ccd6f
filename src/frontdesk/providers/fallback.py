"""A fallback chain: the first provider that produces an answer serves it.

Providers are tried in order *before the first token*. Each try is recorded as an
:class:`Attempt` (provider, model, outcome, error code, why it was skipped). When
every provider fails, :class:`~frontdesk.errors.AllProvidersFailed` carries the
errors. Once a :class:`~frontdesk.events.TextDelta` has been yielded the serving
provider is fixed: a later failure propagates (no switching mid-answer).

How the caller reads the record: from the events. The stream yields an
:class:`~frontdesk.events.AttemptEvent` for each try as soon as its outcome is
decided (``failed``/``skipped`` when the chain moves on, ``served`` just before the
first text delta, or at the end of an empty answer), and ends with one
:class:`~frontdesk.events.CallReport` (served by, every attempt with its final
duration and usage, usage, time to first token). The inner providers' own reports
are folded into it, not passed on.

``Fallback.stream`` returns a :class:`FallbackStream`, an async generator that
still carries ``attempts`` and ``served_by`` (deprecated: read the events);
``on_attempt`` sees each :class:`Attempt` as it is recorded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from frontdesk.domain import Usage
from frontdesk.errors import AllProvidersFailed, ContentFiltered, ContextTooLong, ProviderError
from frontdesk.events import (
    AttemptEvent,
    AttemptOutcome,
    CallReport,
    ProviderEvent,
    TextDelta,
    UsageReport,
)
from frontdesk.providers.base import Capabilities, ChatProvider, ChatRequest, TokenCounter

Outcome = AttemptOutcome


@dataclass(slots=True)
class Attempt:
    provider: str
    model: str
    outcome: Outcome
    error_code: str | None = None
    error: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)

    def event(self) -> AttemptEvent:
        return AttemptEvent(
            self.provider,
            self.model,
            self.outcome,
            self.error_code,
            self.error,
            self.status,
            self.duration_ms,
            self.usage,
        )

    def as_dict(self) -> dict[str, Any]:
        return self.event().as_dict()


def falls_back_on(error: ProviderError) -> bool:
    """Default: any provider error, except a content filter verdict (asking another
    vendor the same thing would route around a safety decision)."""
    return not isinstance(error, ContentFiltered)


def _skipped_by_breaker(error: ProviderError) -> bool:
    return error.code == "circuit_open"


class FallbackStream(AsyncGenerator[ProviderEvent, None]):
    """One call through the chain: an async generator of provider events."""

    def __init__(self, chain: Fallback, request: ChatRequest) -> None:
        self._chain = chain
        self._request = request
        self.attempts: list[Attempt] = []
        self.served_by: Attempt | None = None
        self._started = 0.0
        self._ttft_ms: float | None = None
        self._events = self._run()

    def __aiter__(self) -> FallbackStream:
        return self

    async def __anext__(self) -> ProviderEvent:
        return await self._events.__anext__()

    async def asend(self, value: None) -> ProviderEvent:
        return await self._events.asend(value)

    async def athrow(
        self, typ: Any, val: Any = None, tb: TracebackType | None = None, /
    ) -> ProviderEvent:
        return await self._events.athrow(typ if val is None else val)

    async def aclose(self) -> None:
        await self._events.aclose()

    def _record(self, attempt: Attempt) -> AttemptEvent:
        self.attempts.append(attempt)
        if self._chain.on_attempt is not None:
            self._chain.on_attempt(attempt)
        return attempt.event()

    def _serve(self, provider: ChatProvider, started: float, *, text: bool) -> AttemptEvent:
        now = time.perf_counter()
        if text:
            self._ttft_ms = (now - self._started) * 1000
        attempt = Attempt(provider.name, provider.model, "served")
        attempt.duration_ms = (now - started) * 1000
        self.served_by = attempt
        return self._record(attempt)

    def _report(self, attempt: Attempt) -> CallReport:
        return CallReport(
            attempt.provider,
            attempt.model,
            tuple(a.event() for a in self.attempts),
            attempt.usage,
            self._ttft_ms,
            (time.perf_counter() - self._started) * 1000,
        )

    async def _run(self) -> AsyncGenerator[ProviderEvent, None]:
        self._started = time.perf_counter()
        errors: list[ProviderError] = []
        for provider in self._chain.providers:
            too_long = self._chain.context_overflow(provider, self._request)
            if too_long is not None:
                errors.append(too_long)
                yield self._record(_failed(provider, too_long, "skipped", 0.0, Usage()))
                continue
            started = time.perf_counter()
            usage = Usage()
            upstream = provider.stream(self._request)
            attempt: Attempt | None = None
            failed: AttemptEvent | None = None
            try:
                async for event in upstream:
                    if isinstance(event, CallReport | AttemptEvent):
                        continue  # folded into this chain's own report
                    if isinstance(event, UsageReport):
                        usage = event.usage
                    if attempt is None and isinstance(event, TextDelta):
                        yield self._serve(provider, started, text=True)
                        attempt = self.served_by
                    yield event
            except ProviderError as exc:
                if attempt is not None or not self._chain.should_fall_back(exc):
                    _finish(attempt, started, usage)
                    raise
                outcome: Outcome = "skipped" if _skipped_by_breaker(exc) else "failed"
                errors.append(exc)
                elapsed = (time.perf_counter() - started) * 1000
                failed = self._record(_failed(provider, exc, outcome, elapsed, usage))
            finally:
                await upstream.aclose()
            if failed is not None:
                yield failed
                continue
            if attempt is None:  # finished without any text: an empty answer is an answer
                yield self._serve(provider, started, text=False)
                attempt = self.served_by
            assert attempt is not None
            _finish(attempt, started, usage)
            yield self._report(attempt)
            return
        names = ", ".join(f"{a.provider}: {a.error_code}" for a in self.attempts)
        raise AllProvidersFailed(f"every provider failed ({names})", attempts=errors)


def _failed(
    provider: ChatProvider, exc: ProviderError, outcome: Outcome, ms: float, usage: Usage
) -> Attempt:
    return Attempt(
        provider.name, provider.model, outcome, exc.code, str(exc), exc.status, ms, usage
    )


def _finish(attempt: Attempt | None, started: float, usage: Usage) -> None:
    if attempt is not None:
        attempt.duration_ms = (time.perf_counter() - started) * 1000
        attempt.usage = usage


class Fallback:
    """Tries ``providers`` in order until one starts answering.

    ``name``, ``model``, ``capabilities`` and ``tokens`` are the primary's (prompts
    are fitted to it); a provider whose context window cannot hold the request
    (counted with its own tokenizer) is skipped with ``context_too_long``.
    """

    def __init__(
        self,
        providers: Sequence[ChatProvider],
        *,
        should_fall_back: Callable[[ProviderError], bool] = falls_back_on,
        on_attempt: Callable[[Attempt], None] | None = None,
        check_context: bool = True,
    ) -> None:
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        self.providers = list(providers)
        self.should_fall_back = should_fall_back
        self.on_attempt = on_attempt
        self.check_context = check_context

    @property
    def name(self) -> str:
        return self.providers[0].name

    @property
    def model(self) -> str:
        return self.providers[0].model

    @property
    def capabilities(self) -> Capabilities:
        return self.providers[0].capabilities

    @property
    def tokens(self) -> TokenCounter:
        return self.providers[0].tokens

    def stream(self, request: ChatRequest) -> FallbackStream:
        return FallbackStream(self, request)

    def context_overflow(
        self, provider: ChatProvider, request: ChatRequest
    ) -> ProviderError | None:
        if not self.check_context:
            return None
        needed = provider.tokens.count_messages(request.messages) + request.max_output_tokens
        window = provider.capabilities.context_length
        if needed <= window:
            return None
        return ContextTooLong(
            f"prompt needs {needed} tokens, the context window holds {window}",
            provider=provider.name,
        )

    async def check(self) -> None:
        """Ready when at least one provider is."""
        errors: list[ProviderError] = []
        for provider in self.providers:
            try:
                await provider.check()
            except ProviderError as exc:
                errors.append(exc)
            else:
                return
        raise AllProvidersFailed("no provider in the chain is ready", attempts=errors)

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.aclose()
