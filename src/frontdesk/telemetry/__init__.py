"""Metrics (Prometheus) and traces (OpenTelemetry), owned by one app each."""

from frontdesk.telemetry.metrics import Metrics
from frontdesk.telemetry.tracing import Tracing

__all__ = ["Metrics", "Tracing"]
