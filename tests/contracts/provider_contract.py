"""The ``ChatProvider`` contract every adapter passes.

Subclass :class:`ProviderContract` in a test module and give it a ``harness``
fixture yielding a :class:`Harness` for the adapter under test (its provider
talking to the adapter's loopback wire-format server, or to the embedded model).
Cases an adapter cannot meaningfully run (an HTTP status from the embedded model)
are declared by the harness (``http = False``) and skipped with that reason; the
tool-calling cases run for every provider whose ``capabilities.tools`` is true
(its harness then scripts tool calls), and check the others say false.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import aclosing
from dataclasses import replace

import pytest

from frontdesk.domain import ChatMessage, ToolCall, ToolSpec, Usage
from frontdesk.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from frontdesk.events import (
    CallReport,
    Finish,
    ProviderEvent,
    TextDelta,
    ToolCallRequested,
    UsageReport,
)
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.timeouts import Timeouts, WithTimeouts
from frontdesk.providers.tokens import count_request

REQUEST = ChatRequest(
    messages=[
        ChatMessage("system", "You are the support bot of Acme."),
        ChatMessage("user", "Where is my parcel? Order 123."),
    ],
    temperature=0.0,
    max_output_tokens=40,
)


TOOLS = (
    ToolSpec(
        "usage_this_month",
        "Rows synced this month by the customer's workspace.",
        {
            "type": "object",
            "properties": {
                "workspace": {"type": "string", "description": "workspace slug"},
                "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            },
            "required": ["workspace"],
        },
    ),
    ToolSpec(
        "open_ticket",
        "Open a support ticket for the customer.",
        {
            "type": "object",
            "properties": {"subject": {"type": "string"}, "priority": {"enum": ["low", "high"]}},
            "required": ["subject"],
        },
    ),
)
CALLS = (
    ToolCall("call_usage_1", "usage_this_month", '{"workspace": "acme-prod", "month": "2026-11"}'),
    ToolCall(
        "call_ticket_2", "open_ticket", '{"subject": "Sync failed \u00e0 3h", "priority": "high"}'
    ),
)
"""Two parallel calls; their arguments reach the adapters split across chunks."""
TOOL_TEXT = "Let me check."
TOOL_REQUEST = ChatRequest(
    messages=[
        ChatMessage("system", "You are the support bot of Acme."),
        ChatMessage("user", "How many rows did we sync this month? And open a ticket."),
    ],
    max_output_tokens=200,
    tools=TOOLS,
)


def with_results(calls: list[ToolCall]) -> ChatRequest:
    """``TOOL_REQUEST`` continued: the assistant's calls, then one result per call."""
    results = [
        ChatMessage("tool", json.dumps({"ok": True, "rows": 1_204_551, "n": i}), tool_call_id=c.id)
        for i, c in enumerate(calls)
    ]
    history = [
        *TOOL_REQUEST.messages,
        ChatMessage("assistant", TOOL_TEXT, tool_calls=tuple(calls)),
        *results,
    ]
    return replace(TOOL_REQUEST, messages=history, tool_choice="none")


class Harness(ABC):
    """One adapter, its server, and how to make that server misbehave."""

    provider: ChatProvider
    text: str | None
    """The exact answer to ``REQUEST`` (``None``: any non-empty text, e.g. a real model)."""
    usage: Usage | None
    """The exact usage the server reports for it (``None``: only plausible)."""
    exact_tokens: bool
    """``provider.tokens`` is the model's own tokenizer: its prompt count must equal
    the reported input tokens."""
    http: bool = True
    tools: bool = True
    """The provider calls tools natively (``capabilities.tools``)."""

    @abstractmethod
    def push_error(self, status: int, retry_after: str | None = None) -> None:
        """The next call gets this HTTP status (with a ``Retry-After`` header)."""

    @abstractmethod
    def push_slow_first_token(self) -> None:
        """The next call sends nothing for 30 s."""

    @abstractmethod
    def push_long_answer(self) -> None:
        """The next call streams a long answer, slowly."""

    @abstractmethod
    async def assert_upstream_closed(self) -> None:
        """The upstream call was cancelled before it finished."""

    @abstractmethod
    async def unusable(self) -> ChatProvider:
        """A provider of the same adapter whose ``check()`` must fail."""

    def push_tool_calls(self, calls: tuple[ToolCall, ...], text: str) -> None:
        """The next call streams ``text`` then requests ``calls`` (tools-capable only)."""
        raise NotImplementedError

    def push_broken_tool_calls(self, calls: tuple[ToolCall, ...]) -> None:
        """The next call fails after the last of ``calls`` began streaming."""
        raise NotImplementedError


async def _read_into(
    provider: ChatProvider, request: ChatRequest, seen: list[ProviderEvent]
) -> None:
    async with aclosing(provider.stream(request)) as events:
        async for event in events:
            seen.append(event)


def _needs_tools(harness: Harness) -> None:
    if not harness.provider.capabilities.tools:
        pytest.skip("this provider does not call tools")


async def collect(provider: ChatProvider, request: ChatRequest = REQUEST) -> list[ProviderEvent]:
    async with aclosing(provider.stream(request)) as events:
        return [ev async for ev in events]


def _needs_http(harness: Harness) -> None:
    if not harness.http:
        pytest.skip("not an HTTP endpoint")


class ProviderContract:
    async def test_streams_text_usage_finish_and_the_report_last(self, harness: Harness) -> None:
        provider = harness.provider
        assert isinstance(provider, ChatProvider)
        events = await collect(provider)
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        if harness.text is None:
            assert text.strip()
        else:
            assert text == harness.text
        report = events[-1]
        assert isinstance(report, CallReport), f"last event {report!r}"
        assert [type(e) for e in events[-3:-1]] == [UsageReport, Finish]
        assert sum(isinstance(e, CallReport) for e in events) == 1
        usage = events[-3]
        assert isinstance(usage, UsageReport)
        if harness.usage is not None:
            assert usage.usage == harness.usage
        assert usage.usage.input_tokens > 0 and usage.usage.output_tokens > 0
        finish = events[-2]
        assert isinstance(finish, Finish) and finish.reason in ("stop", "length")
        assert (report.provider, report.model) == (provider.name, provider.model)
        assert report.usage == usage.usage
        assert [(a.provider, a.outcome) for a in report.attempts] == [(provider.name, "served")]
        assert report.ttft_ms is not None and 0 < report.ttft_ms <= report.duration_ms
        assert report.cost is None

    async def test_exact_token_counting(self, harness: Harness) -> None:
        if not harness.exact_tokens:
            pytest.skip("this adapter's vendor publishes no tokenizer: counts are estimates")
        events = await collect(harness.provider)
        usage = next(e.usage for e in events if isinstance(e, UsageReport))
        assert harness.provider.tokens.count_messages(REQUEST.messages) == usage.input_tokens

    async def test_429_is_rate_limited_with_retry_after(self, harness: Harness) -> None:
        _needs_http(harness)
        harness.push_error(429, retry_after="7")
        with pytest.raises(ProviderRateLimited) as info:
            await collect(harness.provider)
        assert info.value.status == 429
        assert info.value.retry_after == 7.0
        assert info.value.retryable
        assert info.value.provider == harness.provider.name

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_5xx_is_retryable_unavailable(self, harness: Harness, status: int) -> None:
        _needs_http(harness)
        harness.push_error(status)
        with pytest.raises(ProviderUnavailable) as info:
            await collect(harness.provider)
        assert info.value.status == status
        assert info.value.retryable
        assert info.value.provider == harness.provider.name

    async def test_a_silent_upstream_times_out_and_is_cancelled(self, harness: Harness) -> None:
        _needs_http(harness)
        harness.push_slow_first_token()
        with pytest.raises(ProviderTimeout) as info:
            await collect(WithTimeouts(harness.provider, Timeouts(first_token=0.2)))
        assert info.value.retryable
        await harness.assert_upstream_closed()

    async def test_aclose_cancels_the_upstream_call(self, harness: Harness) -> None:
        harness.push_long_answer()
        stream = harness.provider.stream(REQUEST)
        while not isinstance(await anext(stream), TextDelta):
            pass
        await stream.aclose()
        await harness.assert_upstream_closed()
        with pytest.raises(StopAsyncIteration):
            await anext(stream)

    async def test_check(self, harness: Harness) -> None:
        await harness.provider.check()
        broken = await harness.unusable()
        try:
            with pytest.raises(ProviderError):
                await broken.check()
        finally:
            await broken.aclose()

    async def test_tool_calls_are_assembled_and_requested_before_finish(
        self, harness: Harness
    ) -> None:
        _needs_tools(harness)
        harness.push_tool_calls(CALLS, TOOL_TEXT)
        events = await collect(harness.provider, TOOL_REQUEST)
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == TOOL_TEXT
        requested = [e.call for e in events if isinstance(e, ToolCallRequested)]
        assert [(c.name, json.loads(c.arguments)) for c in requested] == [
            (c.name, json.loads(c.arguments)) for c in CALLS
        ]
        ids = [c.id for c in requested]
        assert all(ids) and len(set(ids)) == len(ids)
        kinds = [type(e) for e in events if not isinstance(e, TextDelta)]
        assert kinds[-5:] == [ToolCallRequested, ToolCallRequested, UsageReport, Finish, CallReport]
        last_text = max(i for i, e in enumerate(events) if isinstance(e, TextDelta))
        first_call = min(i for i, e in enumerate(events) if isinstance(e, ToolCallRequested))
        assert last_text < first_call
        finish = events[-2]
        assert isinstance(finish, Finish) and finish.reason == "tool_calls"
        report = events[-1]
        assert isinstance(report, CallReport) and report.served
        assert [a.outcome for a in report.attempts] == ["served"]

    async def test_tool_results_go_back_and_are_answered(self, harness: Harness) -> None:
        """The calls as the adapter reported them, then their results: the vendor's
        server (which refuses a malformed tool history, as the vendor does) answers."""
        _needs_tools(harness)
        harness.push_tool_calls(CALLS, TOOL_TEXT)
        first = await collect(harness.provider, TOOL_REQUEST)
        calls = [e.call for e in first if isinstance(e, ToolCallRequested)]
        events = await collect(harness.provider, with_results(calls))
        assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip()
        assert not any(isinstance(e, ToolCallRequested) for e in events)
        finish = next(e for e in events if isinstance(e, Finish))
        assert finish.reason == "stop"

    async def test_a_stream_broken_mid_tool_call_requests_no_call(self, harness: Harness) -> None:
        _needs_tools(harness)
        harness.push_broken_tool_calls(CALLS)
        seen: list[ProviderEvent] = []
        with pytest.raises(ProviderError):
            await _read_into(harness.provider, TOOL_REQUEST, seen)
        assert not any(isinstance(e, ToolCallRequested | Finish | CallReport) for e in seen)

    async def test_tokens_count_tool_specs_and_tool_messages(self, harness: Harness) -> None:
        counter = harness.provider.tokens
        plain = counter.count_messages(TOOL_REQUEST.messages)
        assert count_request(counter, TOOL_REQUEST) > plain
        assert counter.count_messages(with_results(list(CALLS)).messages) > plain

    def test_capabilities_say_whether_it_calls_tools(self, harness: Harness) -> None:
        assert harness.provider.capabilities.tools is harness.tools
