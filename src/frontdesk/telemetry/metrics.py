"""Prometheus metrics in a per-app registry (no global state)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as _Counter
from prometheus_client import Histogram as _Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from frontdesk.domain import Usage

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Counter(_Counter):
    """A counter whose ``labels(*values)`` children are kept by their values: prometheus
    validates the values and takes a lock on every call, several times per request."""

    def labels(self, *values: Any, **named: Any) -> Counter:
        if named:
            return super().labels(*values, **named)
        by_values: dict[tuple[Any, ...], Counter] = self.__dict__.setdefault("_by_values", {})
        child = by_values.get(values)
        if child is None:
            child = by_values[values] = super().labels(*values)
        return child


class Histogram(_Histogram):
    """A histogram whose ``labels(*values)`` children are kept (as :class:`Counter`)."""

    def labels(self, *values: Any, **named: Any) -> Histogram:
        if named:
            return super().labels(*values, **named)
        by_values: dict[tuple[Any, ...], Histogram] = self.__dict__.setdefault("_by_values", {})
        child = by_values.get(values)
        if child is None:
            child = by_values[values] = super().labels(*values)
        return child


class Metrics:
    """Every metric Frontdesk exports. One instance per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "frontdesk_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            "frontdesk_http_request_duration_seconds",
            "HTTP request duration (until the response, or the end of a stream)",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.turns = Counter(
            "frontdesk_turns", "Chat turns by outcome", ["status", "provider"], registry=r
        )
        self.turn_duration = Histogram(
            "frontdesk_turn_duration_seconds",
            "Whole turn duration",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "frontdesk_time_to_first_token_seconds",
            "Time to first token",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "frontdesk_tokens",
            "Tokens by direction (input/output)",
            ["provider", "model", "direction"],
            registry=r,
        )
        self.cost = Counter("frontdesk_cost_usd", "Spend in USD", ["provider", "model"], registry=r)
        self.provider_attempts = Counter(
            "frontdesk_provider_attempts",
            "Provider attempts in fallback chains by outcome",
            ["provider", "outcome"],
            registry=r,
        )
        self.guard_verdicts = Counter(
            "frontdesk_guard_verdicts", "Guard verdicts", ["stage", "action", "reason"], registry=r
        )
        self.breaker_open = Gauge(
            "frontdesk_circuit_open",
            "1 when an endpoint's circuit is open",
            ["endpoint"],
            registry=r,
        )
        self.feedback = Counter(
            "frontdesk_feedback", "Customer ratings of answers", ["rating"], registry=r
        )
        self.deferred_answers = Counter(
            "frontdesk_deferred_answers",
            "Queued questions the background worker tried to answer",
            ["outcome"],
            registry=r,
        )
        self.escalations = Counter(
            "frontdesk_escalations", "Conversations handed to humans", ["reason"], registry=r
        )

    def observe_turn(
        self,
        *,
        status: str,
        provider: str,
        model: str,
        usage: Usage,
        duration_s: float,
        ttft_s: float | None,
        cost_usd: float = 0.0,
    ) -> None:
        self.turns.labels(status, provider).inc()
        self.turn_duration.labels(provider).observe(duration_s)
        if ttft_s is not None:
            self.ttft.labels(provider).observe(ttft_s)
        self.tokens.labels(provider, model, "input").inc(usage.input_tokens)
        self.tokens.labels(provider, model, "output").inc(usage.output_tokens)
        if cost_usd:
            self.cost.labels(provider, model).inc(cost_usd)

    def render(self) -> bytes:
        return generate_latest(self.registry)
