"""Prometheus /metrics, OpenTelemetry GenAI spans and structured logs of a turn."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from frontdesk.app import create_app
from frontdesk.logging_setup import JsonFormatter
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.telemetry import Tracing
from tests.apphelpers import new_conversation, send, text_of
from tests.conftest import make_bot
from tests.servers import serve


@pytest.mark.parametrize("capture", [False, True])
def test_turn_metrics_and_spans(migrated: Settings, capture: bool) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing(span_exporter=exporter, capture_content=capture)
    app = create_app(
        migrated,
        bot=make_bot(),
        provider=ScriptedProvider.from_texts(["four words of answer"]),
        tracing_override=tracing,
    )
    with serve(app) as url, httpx.Client(base_url=url) as client:
        cid = new_conversation(client)
        assert text_of(send(client, cid, "secret question")) == "four words of answer"
        route = 'route="/api/conversations/{conversation_id}/messages"'
        deadline = time.monotonic() + 5  # the stream's request is counted once it has closed
        metrics = client.get("/metrics")
        while route not in metrics.text and time.monotonic() < deadline:
            time.sleep(0.05)
            metrics = client.get("/metrics")
    assert metrics.status_code == 200
    body = metrics.text
    assert 'frontdesk_turns_total{provider="scripted",status="complete"} 1.0' in body
    assert (
        'frontdesk_tokens_total{direction="output",model="scripted-1",provider="scripted"} 4.0'
        in body
    )
    assert route in body
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    assert len(spans) == 1
    attrs = dict(spans[0].attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] == 4
    assert attrs["gen_ai.request.model"] == "scripted-1"
    # customer text reaches spans only when explicitly enabled
    assert ("gen_ai.prompt" in attrs) is capture
    if capture:
        assert attrs["gen_ai.prompt"] == "secret question"


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("frontdesk.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.request_id = "abc"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello you"
    assert line["request_id"] == "abc"
    assert line["level"] == "info"


def test_labelled_children_are_kept_and_count() -> None:
    """Metrics keeps each labels(...) child (the hot path asks several times a request);
    what is counted is still what /metrics shows, per label values."""
    from frontdesk.domain import Usage
    from frontdesk.telemetry import Metrics

    metrics = Metrics()
    child = metrics.http_requests.labels("POST", "/v1/chat/completions", "200")
    assert metrics.http_requests.labels("POST", "/v1/chat/completions", "200") is child
    for _ in range(3):
        metrics.observe_turn(
            status="complete",
            provider="p",
            model="m",
            usage=Usage(2, 5),
            duration_s=0.01,
            ttft_s=0.005,
            cost_usd=0.5,
        )
    metrics.observe_turn(
        status="failed", provider="q", model="m", usage=Usage(), duration_s=0.01, ttft_s=None
    )
    text = metrics.render().decode()
    assert 'frontdesk_turns_total{provider="p",status="complete"} 3.0' in text
    assert 'frontdesk_turns_total{provider="q",status="failed"} 1.0' in text
    assert 'frontdesk_tokens_total{direction="output",model="m",provider="p"} 15.0' in text
    assert 'frontdesk_cost_usd_total{model="m",provider="p"} 1.5' in text
    assert 'frontdesk_turn_duration_seconds_count{provider="p"} 3.0' in text
