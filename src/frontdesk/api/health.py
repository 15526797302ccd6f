"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from frontdesk.api.deps import ServicesDep
from frontdesk.errors import FrontdeskError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(services: ServicesDep) -> JSONResponse:
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
