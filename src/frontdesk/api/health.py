"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from frontdesk.api.deps import ServicesDep
from frontdesk.errors import FrontdeskError
from frontdesk.services import Services

router = APIRouter(tags=["health"])


async def _probe(services: Services) -> tuple[bool, dict[str, Any]]:
    """The database and provider checks (a provider check may call the vendor)."""
    checks: dict[str, Any] = {}
    ok = True
    try:
        await services.store.ping()
        checks["database"] = {"ok": True}
    except Exception as exc:  # report, don't raise: this is the health endpoint
        ok = False
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        await services.provider.check()
        checks["provider"] = {"ok": True, "name": services.provider.name}
    except FrontdeskError as exc:
        ok = False
        checks["provider"] = {"ok": False, "name": services.provider.name, "error": str(exc)}
    return ok, checks


async def _cached_probes(request: Request, services: Services) -> tuple[bool, dict[str, Any]]:
    """The probes, reused for ``readyz_cache_seconds``; one probe at a time per app."""
    state = request.app.state
    lock = getattr(state, "readyz_lock", None)
    if lock is None:
        lock = state.readyz_lock = asyncio.Lock()
    async with lock:
        cached = getattr(state, "readyz_cache", None)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        ok, checks = await _probe(services)
        state.readyz_cache = (now + services.settings.readyz_cache_seconds, ok, checks)
        return ok, checks


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    ok, checks = await _cached_probes(request, services)
    checks = dict(checks)
    breakers = []
    for snap in services.breakers.snapshot():
        services.metrics.breaker_open.labels(snap.name).set(1 if snap.state == "open" else 0)
        breakers.append(
            {
                "endpoint": snap.name,
                "state": str(snap.state.value),
                "consecutive_failures": snap.consecutive_failures,
                "retry_in_seconds": snap.opened_for,
                "times_opened": snap.times_opened,
            }
        )
    checks["circuits"] = breakers
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )
