"""Pure ASGI middleware (BaseHTTPMiddleware breaks streaming and context variables)."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.telemetry.metrics import Metrics

log = logging.getLogger("frontdesk.access")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestContextMiddleware:
    """Assigns a request id (or honours ``X-Request-Id``), echoes it, logs the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming[:64] if incoming else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_duration.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)
