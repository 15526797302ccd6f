"""OpenTelemetry tracing with a per-app TracerProvider.

Spans follow the GenAI semantic conventions (``gen_ai.*`` attributes).
Customer text is put on spans only when ``capture_content`` is enabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from opentelemetry.trace import NoOpTracer, Tracer

from frontdesk import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

Exporter = Literal["none", "console", "otlp"]


class Tracing:
    def __init__(
        self,
        *,
        exporter: Exporter = "none",
        capture_content: bool = False,
        span_exporter: SpanExporter | None = None,
        service_name: str = "frontdesk",
    ) -> None:
        self.capture_content = capture_content
        self.recording = span_exporter is not None or exporter != "none"
        """False when spans go nowhere (callers may skip building them)."""
        self.provider: TracerProvider | None = None
        if not self.recording:
            # spans go nowhere: a no-op tracer, and the OpenTelemetry SDK (with psutil) is not
            # imported at start-up
            self.tracer: Tracer = NoOpTracer()
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )

        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name, "service.version": __version__})
        )
        if span_exporter is not None:
            self.provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        elif exporter == "console":
            self.provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif exporter == "otlp":
            self.provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        self.tracer = self.provider.get_tracer("frontdesk", __version__)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def _otlp_exporter() -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError as exc:  # optional dependency
        from frontdesk.errors import ConfigError

        raise ConfigError(
            "FRONTDESK_OTEL_EXPORTER=otlp needs the package opentelemetry-exporter-otlp-proto-http"
        ) from exc
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter
