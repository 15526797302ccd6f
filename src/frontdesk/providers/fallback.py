"""A fallback chain: the first provider that produces an answer serves it.

Providers are tried in order *before the first token*. Each try is recorded as an
:class:`Attempt` (provider, model, outcome, error code, why it was skipped). When
every provider fails, :class:`~frontdesk.errors.AllProvidersFailed` carries the
errors. Once a :class:`~frontdesk.events.TextDelta` or a
:class:`~frontdesk.events.ToolCallRequested` has been yielded the serving provider
is fixed: a later failure propagates (no switching mid-answer, and never after the
caller may have started running a tool). A provider without
``capabilities.tools`` gets a request that offers tools without them (it answers
as it would without actions); it is skipped (``tools_unsupported``) when the
request has tool calls or results in its history, or demands a call
(``tool_choice="required"``).

How the caller reads the record: from the events. The stream yields an
:class:`~frontdesk.events.AttemptEvent` for each try as soon as its outcome is
decided (``failed``/``skipped`` when the chain moves on, ``served`` just before the
first text delta or tool call, or at the end of an empty answer), and ends with one
:class:`~frontdesk.events.CallReport` (served by, every attempt with its final
duration and usage, usage, time to first token). The inner providers' own reports
are folded into it, not passed on.

"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from frontdesk.domain import Usage
from frontdesk.errors import (
    AllProvidersFailed,
    ContentFiltered,
    ContextTooLong,
    ProviderBadRequest,
    ProviderError,
)
from frontdesk.events import (
    ANSWER_EVENTS,
    AttemptEvent,
    AttemptOutcome,
    CallReport,
    ProviderEvent,
    TextDelta,
    UsageReport,
)
from frontdesk.providers.base import Capabilities, ChatProvider, ChatRequest, TokenCounter
from frontdesk.providers.tokens import count_request, tool_call_text, tool_spec_json

Outcome = AttemptOutcome
_FOLDED = (CallReport, AttemptEvent)
"""The inner providers' own record, folded into this chain's."""


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


class _Call:
    """One call through the chain: its attempts so far and the time to first token."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.started = time.perf_counter()
        self.ttft_ms: float | None = None

    def record(self, attempt: Attempt) -> AttemptEvent:
        self.attempts.append(attempt)
        return attempt.event()

    def serve(self, provider: ChatProvider, started: float, *, text: bool) -> Attempt:
        now = time.perf_counter()
        if text:
            self.ttft_ms = (now - self.started) * 1000
        attempt = Attempt(provider.name, provider.model, "served")
        attempt.duration_ms = (now - started) * 1000
        self.attempts.append(attempt)
        return attempt

    def report(self, attempt: Attempt) -> CallReport:
        return CallReport(
            attempt.provider,
            attempt.model,
            tuple(a.event() for a in self.attempts),
            attempt.usage,
            self.ttft_ms,
            (time.perf_counter() - self.started) * 1000,
        )


def surely_fits(request: ChatRequest, window: int) -> bool:
    """True when the request fits ``window`` whatever the tokenizer, without tokenizing:
    a token covers at least one UTF-8 byte (at most 4 a character, 5 with an estimating
    counter's margin), plus a generous allowance for each message's chat template."""
    bound = 64 + sum(64 + 5 * (len(m.content) + len(tool_call_text(m))) for m in request.messages)
    bound += sum(64 + 5 * len(tool_spec_json(t)) for t in request.tools)
    return bound + request.max_output_tokens <= window


def has_tool_history(request: ChatRequest) -> bool:
    """Tool calls or tool results in the request's messages."""
    return any(m.tool_calls or m.role == "tool" for m in request.messages)


def for_provider(provider: ChatProvider, request: ChatRequest) -> ChatRequest | ProviderError:
    """``request`` as ``provider`` can take it: without the tools it cannot call, or the
    ``tools_unsupported`` error when it cannot do without them."""
    if provider.capabilities.tools or not (request.tools or has_tool_history(request)):
        return request
    if request.tool_choice == "required" or has_tool_history(request):
        error = ProviderBadRequest(
            "the request needs tool calling and this endpoint cannot call tools",
            provider=provider.name,
        )
        error.code = "tools_unsupported"
        return error
    return replace(request, tools=(), tool_choice="auto")


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
        check_context: bool = True,
    ) -> None:
        if not providers:
            raise ValueError("a fallback chain needs at least one provider")
        self.providers = list(providers)
        self.should_fall_back = should_fall_back
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

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        call = _Call()
        errors: list[ProviderError] = []
        for provider in self.providers:
            fitted = self.fit(provider, request)
            if isinstance(fitted, ProviderError):
                errors.append(fitted)
                yield call.record(_failed(provider, fitted, "skipped", 0.0, Usage()))
                continue
            started = time.perf_counter()
            usage = Usage()
            upstream = provider.stream(fitted)
            attempt: Attempt | None = None
            failed: AttemptEvent | None = None
            try:
                async for event in upstream:
                    if isinstance(event, _FOLDED):
                        continue  # folded into this chain's own report
                    if isinstance(event, UsageReport):
                        usage = event.usage
                    elif attempt is None and isinstance(event, ANSWER_EVENTS):
                        attempt = call.serve(provider, started, text=isinstance(event, TextDelta))
                        yield attempt.event()
                    yield event
            except ProviderError as exc:
                if attempt is not None or not self.should_fall_back(exc):
                    _finish(attempt, started, usage)
                    raise
                outcome: Outcome = "skipped" if _skipped_by_breaker(exc) else "failed"
                errors.append(exc)
                elapsed = (time.perf_counter() - started) * 1000
                failed = call.record(_failed(provider, exc, outcome, elapsed, usage))
            finally:
                await upstream.aclose()
            if failed is not None:
                yield failed
                continue
            if attempt is None:  # finished without any text: an empty answer is an answer
                attempt = call.serve(provider, started, text=False)
                yield attempt.event()
            _finish(attempt, started, usage)
            yield call.report(attempt)
            return
        names = ", ".join(f"{a.provider}: {a.error_code}" for a in call.attempts)
        raise AllProvidersFailed(f"every provider failed ({names})", attempts=errors)

    def fit(self, provider: ChatProvider, request: ChatRequest) -> ChatRequest | ProviderError:
        """The request ``provider`` gets, or why it is skipped (no tools, too long)."""
        fitted = for_provider(provider, request)
        if isinstance(fitted, ProviderError):
            return fitted
        return self.context_overflow(provider, fitted) or fitted

    def context_overflow(
        self, provider: ChatProvider, request: ChatRequest
    ) -> ProviderError | None:
        if not self.check_context:
            return None
        window = provider.capabilities.context_length
        if surely_fits(request, window):
            return None
        needed = count_request(provider.tokens, request) + request.max_output_tokens
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
